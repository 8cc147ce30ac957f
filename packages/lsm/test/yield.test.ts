import { test } from 'node:test';
import assert from 'node:assert/strict';
import { yieldNow } from '../src/index.js';

test('yieldNow: a macrotask yield, in order; without setImmediate (browsers) it uses a MessageChannel, not setTimeout', async () => {
  const order: number[] = [];
  await Promise.all([1, 2, 3].map((i) => yieldNow().then(() => order.push(i))));
  assert.deepEqual(order, [1, 2, 3]);
  const g = globalThis as { setImmediate?: unknown; setTimeout: unknown };
  const savedImmediate = g.setImmediate;
  const savedTimeout = g.setTimeout;
  let timeouts = 0;
  g.setImmediate = undefined;
  g.setTimeout = (...args: unknown[]) => {
    timeouts++;
    return (savedTimeout as (...a: unknown[]) => unknown)(...args);
  };
  try {
    const seen: number[] = [];
    let sync = true;
    const p = Promise.all([1, 2, 3, 4].map((i) => yieldNow().then(() => seen.push(i))));
    const keepAlive = (savedTimeout as (f: () => void, ms: number) => unknown)(() => undefined, 1000); // the channel is unref'd
    const done = p.then(() => (sync = false));
    assert.equal(sync, true, 'yields are asynchronous');
    await done;
    clearTimeout(keepAlive as Parameters<typeof clearTimeout>[0]);
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.equal(timeouts, 0, 'no setTimeout');
  } finally {
    g.setImmediate = savedImmediate;
    g.setTimeout = savedTimeout;
  }
});
