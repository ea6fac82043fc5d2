/**
 * The module piscina loads in a pooled plugin's threads. piscina require()s its task module; on
 * Node 20.19+ require() of an ES module instantiates it synchronously, and that path has aborted the
 * whole host process once in our test suite, as a pool replaced a thread (V8 fatal error
 * "v8::Module::IsGraphAsync must be used on an instantiated module", from piscina's require() of
 * pool-worker.js). This CommonJS entry loads the ES module with import(), as plugin workers do.
 */
import type { PoolResult, PoolTask } from '../src/protocol/pool.js';

const loaded = import('./pool-worker.js');
// Load failures are reported by each task.
loaded.catch(() => undefined);

async function runTask(task: PoolTask): Promise<PoolResult> {
  return (await loaded).default(task);
}

export = runTask;
