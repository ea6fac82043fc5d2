/**
 * Ask V8 for a full garbage collection now, in this thread, and wait for it. Used after a new
 * worker has staged a pre-copied state (delta transfer): that state is a burst of fresh objects,
 * and V8 otherwise finishes collecting around them a few milliseconds later, inside the pause.
 * Measured on Node 20 with a 1 MB Map of records: activate 2.5-2.7 ms without, 0.8-0.9 ms with;
 * the collection itself (20-30 ms) runs before the pause, while the old version still serves.
 *
 * vm.measureMemory({ execution: 'eager' }) is the one Node API that triggers a collection without
 * --expose-gc; it is experimental, and its one-time warning is not the user's business.
 */
import { measureMemory } from 'node:vm';

/** Best effort: a collection that fails, or outlasts `withinMs`, does not hold the reload up. */
export async function settleHeap(withinMs = 2_000): Promise<void> {
  const emitWarning = process.emitWarning;
  let measured: Promise<unknown>;
  process.emitWarning = () => {};
  try {
    measured = measureMemory({ mode: 'summary', execution: 'eager' });
  } catch {
    return;
  } finally {
    process.emitWarning = emitWarning;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const giveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, withinMs);
  });
  await Promise.race([measured.catch(() => undefined), giveUp]);
  clearTimeout(timer);
}
