/**
 * The outbox (a unit test of an internal): the messages of one tick leave as one batch, in order,
 * a batch never exceeds MAX_BATCH messages, and an uncloneable message fails alone.
 */
import { deepStrictEqual, equal, ok } from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_BATCH, Outbox, type PostTarget } from '../src/protocol/outbox.js';

type Msg = { id: number; v?: unknown };
type Posted = Msg | { t: 'batch'; m: Msg[] };

function recorder(): PostTarget & { posted: Posted[] } {
  const posted: Posted[] = [];
  return {
    posted,
    postMessage(value: unknown) {
      structuredClone(value); // throws like a MessagePort would for an uncloneable value
      posted.push(value as Posted);
    },
  };
}

const ids = (posted: Posted[]): number[] => posted.flatMap((p) => ('t' in p ? p.m.map((m) => m.id) : [p.id]));

test('messages of one tick leave as one batch at the end of the tick; a lone message leaves unwrapped', async () => {
  const target = recorder();
  const outbox = new Outbox<Msg>(target, () => {});
  outbox.push({ id: 1 });
  outbox.push({ id: 2 });
  equal(target.posted.length, 0);
  await Promise.resolve();
  deepStrictEqual(target.posted, [{ t: 'batch', m: [{ id: 1 }, { id: 2 }] }]);
  outbox.push({ id: 3 });
  await Promise.resolve();
  deepStrictEqual(target.posted[1], { id: 3 });
});

test(`a batch holds at most MAX_BATCH (${MAX_BATCH}) messages, and order is kept across batches`, async () => {
  const target = recorder();
  const outbox = new Outbox<Msg>(target, () => {});
  const n = MAX_BATCH * 2 + 5;
  for (let id = 0; id < n; id++) outbox.push({ id });
  // Full batches leave at once, so the worker can start on them while the host is still issuing.
  equal(target.posted.length, 2);
  await Promise.resolve();
  equal(target.posted.length, 3);
  for (const p of target.posted) ok('t' in p && p.m.length <= MAX_BATCH);
  deepStrictEqual(ids(target.posted), Array.from({ length: n }, (_, i) => i));
});

test('a batch that cannot be cloned is re-sent message by message: only the uncloneable one fails', async () => {
  const target = recorder();
  const failed: number[] = [];
  const outbox = new Outbox<Msg>(target, (m) => failed.push(m.id));
  outbox.push({ id: 1 });
  outbox.push({ id: 2, v: () => {} });
  outbox.push({ id: 3 });
  await Promise.resolve();
  deepStrictEqual(failed, [2]);
  deepStrictEqual(ids(target.posted), [1, 3]);
});
