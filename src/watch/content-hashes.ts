/**
 * The last seen content of each watched file, by hash: an editor's save that does not change a
 * byte (or a touch) is not a change. mtime would say it is.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export class ContentHashes {
  readonly #hashes = new Map<string, string | undefined>();

  /** Remember a file's current content without reporting it. */
  async remember(file: string): Promise<void> {
    if (!this.#hashes.has(file)) this.#hashes.set(file, await hashOf(file));
  }

  /** Remember a file's current content (what a batch of changes is about to act on). */
  async update(file: string): Promise<void> {
    this.#hashes.set(file, await hashOf(file));
  }

  /** Did the file's content change since it was last seen? Deleting a file is a change. */
  async changed(file: string): Promise<boolean> {
    const next = await hashOf(file);
    const known = this.#hashes.has(file);
    const previous = this.#hashes.get(file);
    this.#hashes.set(file, next);
    return !known || next !== previous;
  }
}

async function hashOf(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return undefined;
  }
}
