/**
 * A plugin's state on its way from one worker to another: node:v8 serialised bytes, plus the bytes
 * of its large typed arrays and Buffers carried beside them, one ArrayBuffer each
 * (workers/state-codec.ts). Every buffer is moved, never copied, on its way to the new worker:
 * through the host for a delta's pre-copy, straight from the old worker inside the pause.
 * With no `buffers`, `bytes` is plain node:v8 output, which is what state files on disk hold.
 */
export interface StateImage {
  bytes: Uint8Array;
  buffers: ArrayBuffer[];
}

/** Plain node:v8 bytes (a state file) as an image. */
export function plainImage(bytes: Uint8Array): StateImage {
  return { bytes, buffers: [] };
}

export function imageSize(image: StateImage): number {
  return image.buffers.reduce((sum, b) => sum + b.byteLength, image.bytes.byteLength);
}

/** The buffers to move with a message carrying the image; a view into a larger buffer is copied. */
export function imageTransferList(image: StateImage): ArrayBuffer[] {
  const { bytes } = image;
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && !(bytes.buffer instanceof SharedArrayBuffer);
  return whole ? [bytes.buffer as ArrayBuffer, ...image.buffers] : [...image.buffers];
}

/** An image of its own (moving the copy leaves this one whole). */
export function copyImage(image: StateImage): StateImage {
  return { bytes: new Uint8Array(image.bytes), buffers: image.buffers.map((b) => b.slice(0)) };
}

/** Moved images are detached: byteLength 0. */
export function imageDetached(image: StateImage): boolean {
  return image.bytes.byteLength === 0 && image.buffers.every((b) => b.byteLength === 0);
}
