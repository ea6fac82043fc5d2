/**
 * node:v8 serialisation of a plugin's state for a hand-over between workers, with the bytes of
 * large typed arrays and Buffers carried out of line: each is copied once into an ArrayBuffer of
 * its own, moved to the new worker and viewed there as it is. Node's default serialiser copies them
 * into the serialised stream (growing it as it goes), and its deserialiser copies them out again
 * whenever they land at an offset their element size does not divide.
 *
 * Everything else is Node's own encoding (v8.DefaultSerializer), so a portable encoding, with no
 * view out of line, is exactly what v8.serialize() writes, and decodeState() reads v8.serialize()
 * output too (with v8.deserialize() itself).
 */
import { DefaultDeserializer, DefaultSerializer, deserialize } from 'node:v8';
import { plainImage, type StateImage } from '../src/protocol/state-image.js';
import { OUT_OF_LINE_MIN_BYTES, type BufferReserve } from './buffer-reserve.js';

/** Written where Node writes a view's type index (0-12): the view travels out of line. */
const OUT_OF_LINE = 0xffff;

type ViewType = (typeof VIEW_TYPES)[number];
type TypedArrayType = Exclude<ViewType, typeof Buffer | typeof DataView>;
/** Node's table (lib/v8.js): the type index its DefaultSerializer writes before a view's bytes. */
const VIEW_TYPES = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, DataView, Buffer, BigInt64Array, BigUint64Array,
] as const;
const BUFFER_INDEX = VIEW_TYPES.indexOf(Buffer);
const INDEX_BY_TAG = new Map<string, number>(VIEW_TYPES.map((t, i) => [t.name, i] as const).filter(([, i]) => i !== BUFFER_INDEX));

interface HostObjectHooks {
  _writeHostObject(this: DefaultSerializer, view: NodeJS.ArrayBufferView): void;
}
const writeInline = (DefaultSerializer.prototype as unknown as HostObjectHooks)._writeHostObject;

function typeIndexOf(view: NodeJS.ArrayBufferView): number {
  if (Buffer.isBuffer(view)) return BUFFER_INDEX;
  return INDEX_BY_TAG.get(Object.prototype.toString.call(view).slice(8, -1)) ?? -1;
}

function viewOf(type: ViewType, buffer: ArrayBufferLike, byteOffset: number, byteLength: number): NodeJS.ArrayBufferView {
  if (type === Buffer) return Buffer.from(buffer, byteOffset, byteLength);
  if (type === DataView) return new DataView(buffer, byteOffset, byteLength);
  const typed = type as TypedArrayType & (new (b: ArrayBufferLike, o: number, n: number) => NodeJS.ArrayBufferView);
  return new typed(buffer, byteOffset, byteLength / typed.BYTES_PER_ELEMENT);
}

function elementSize(type: ViewType): number {
  return type === Buffer || type === DataView ? 1 : (type as TypedArrayType).BYTES_PER_ELEMENT;
}

class StateSerializer extends DefaultSerializer {
  readonly buffers: ArrayBuffer[] = [];

  constructor(private readonly outOfLineMin: number, private readonly reserve: BufferReserve | undefined) {
    super();
  }

  _writeHostObject(view: NodeJS.ArrayBufferView): void {
    const type = view.byteLength >= this.outOfLineMin ? typeIndexOf(view) : -1;
    if (type === -1) {
      writeInline.call(this, view);
      return;
    }
    // A copy of its own (also when the view's buffer is shared or larger than the view): the old
    // version keeps its state untouched until the new one has taken over.
    const copy = this.reserve?.take(view.byteLength) ?? new ArrayBuffer(view.byteLength);
    new Uint8Array(copy).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
    this.writeUint32(OUT_OF_LINE);
    this.writeUint32(type);
    this.writeUint32(this.buffers.length);
    this.buffers.push(copy);
  }
}

class StateDeserializer extends DefaultDeserializer {
  constructor(bytes: Uint8Array, private readonly buffers: ArrayBuffer[]) {
    super(bytes);
  }

  _readHostObject(): NodeJS.ArrayBufferView {
    const index = this.readUint32();
    if (index === OUT_OF_LINE) {
      const type = VIEW_TYPES[this.readUint32()];
      const buffer = this.buffers[this.readUint32()];
      if (type === undefined || buffer === undefined) throw new Error('state image: an out-of-line view points at nothing');
      return viewOf(type, buffer, 0, buffer.byteLength);
    }
    // Node's own encoding: type index, byte length, bytes.
    const type = VIEW_TYPES[index];
    if (type === undefined) throw new Error(`state image: unknown typed array type ${index}`);
    const length = this.readUint32();
    const raw = this.readRawBytes(length);
    if (raw.byteOffset % elementSize(type) === 0) return viewOf(type, raw.buffer, raw.byteOffset, length);
    const aligned = new ArrayBuffer(length);
    new Uint8Array(aligned).set(raw);
    return viewOf(type, aligned, 0, length);
  }
}

/**
 * Serialise a state. `portable`: plain v8.serialize() output (for files and for anything outside
 * plugvisor's own workers). `reserve`: buffers to copy large views into, allocated before a
 * reload's pause (see buffer-reserve.ts).
 */
export function encodeState(value: unknown, portable = false, reserve?: BufferReserve): StateImage {
  const ser = new StateSerializer(portable ? Infinity : OUT_OF_LINE_MIN_BYTES, reserve);
  ser.writeHeader();
  ser.writeValue(value);
  return { bytes: ser.releaseBuffer(), buffers: ser.buffers };
}

export function decodeState(image: StateImage | Uint8Array): unknown {
  const { bytes, buffers } = image instanceof Uint8Array ? plainImage(image) : image;
  // Nothing out of line: plain node:v8 bytes, for Node's own reader (which knows every view type
  // of the running Node, should a later one add some).
  if (buffers.length === 0) return deserialize(bytes);
  const des = new StateDeserializer(bytes, buffers);
  des.readHeader();
  return des.readValue();
}

/**
 * Run both codecs once on a small state: a fresh thread compiles them on first use, which would
 * otherwise happen inside a reload's pause (about 0.5 ms on each side, measured on Node 20).
 */
export function warmStateCodec(): void {
  const sample = { m: new Map([['k', { at: new Date(0) }]]), small: new Uint8Array(8), large: new Float64Array(OUT_OF_LINE_MIN_BYTES / 8) };
  decodeState(encodeState(sample));
  decodeState(encodeState(sample, true).bytes);
}
