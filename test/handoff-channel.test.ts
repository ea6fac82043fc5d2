/**
 * The reload's handoff channel, given to both workers before the pause (a unit test of internals):
 * the old worker's detach posts the state on it, the new worker's activate awaits it there, and a
 * rollback's resume closes the old worker's end.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import type { StateImage } from '../src/protocol/state-image.js';
import { Transfer } from '../workers/control-handlers.js';
import { handlersFor } from './worker-handlers.js';

test('a delta crosses on the channel given before the pause: detach "prepared" posts it, activate "staged" applies it', async (t) => {
  const old = handlersFor({ count: 1, users: new Map([['ann', { visits: 1 }]]) });
  const next = handlersFor(undefined);
  const { port1, port2 } = new MessageChannel();
  t.after(() => port1.close());
  const precopied = await old.handlers.precopy({ handoff: port1 });
  assert.ok(precopied instanceof Transfer);
  await next.handlers.stage({ state: precopied.value as StateImage, handoff: port2 });
  // Written after the pre-copy: only this travels in the pause.
  const state = old.ctx.state as { count: number; users: Map<string, { visits: number }> };
  state.count = 2;
  state.users.set('bob', { visits: 5 });
  const activated = next.handlers.activate({ handoff: 'staged', peers: [] });
  const detached = await old.handlers.detach({ state: 'delta', handoff: 'prepared' });
  assert.ok(detached instanceof Transfer);
  assert.equal((detached.value as { state?: unknown }).state, undefined, 'the state went to the new worker, not in the answer');
  assert.deepEqual(await activated, { restoredState: true });
  assert.deepEqual(next.ctx.state, { count: 2, users: new Map([['ann', { visits: 1 }], ['bob', { visits: 5 }]]) });
});

test('a rollback\'s resume closes the old worker\'s end of the channel, whose other end then reports it', async () => {
  const old = handlersFor({ count: 1 });
  const { port1, port2 } = new MessageChannel();
  await old.handlers.reserve({ handoff: port1 });
  port2.on('message', () => assert.fail('nothing was to be posted'));
  const closed = once(port2, 'close');
  await old.handlers.resume(null);
  await closed;
});

test('a detach told to use a channel it never got fails, and says so', async () => {
  const old = handlersFor({ count: 1 });
  await assert.rejects(async () => old.handlers.detach({ state: 'image', handoff: 'prepared' }), /no handoff port was prepared/);
  // Still able to serve and to be detached properly afterwards.
  await old.handlers.resume(null);
  const answer = await old.handlers.detach({ state: 'image' });
  assert.ok(answer instanceof Transfer);
});
