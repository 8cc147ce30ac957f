/**
 * The stores behind `@hearth/react`'s hooks, against the SDK's real `Live` class with a scripted source (the
 * hooks themselves are `useSyncExternalStore(store.subscribe, store.getSnapshot)`; rendering them needs a
 * renderer such as react-dom, which the repository does not install). Checks the `useSyncExternalStore`
 * contract: a snapshot is the same object until a change, `onChange` is called after each change, the live
 * subscription runs exactly while subscribed, and query keys compare queries by value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Live } from '@hearth/sdk';
import { createLiveStore, createQueryStore, queryKey } from '@hearth/react';

function scripted<T>() {
  let deliver: ((ok: boolean, v: T | undefined, e?: Error) => void) | null = null;
  let starts = 0;
  let stops = 0;
  const live = new Live<T>((d) => {
    starts++;
    deliver = d;
    return () => {
      stops++;
      deliver = null;
    };
  });
  return {
    live,
    push: (v: T) => deliver?.(true, v),
    fail: (e: Error) => deliver?.(false, undefined, e),
    counts: () => ({ starts, stops, active: deliver !== null }),
  };
}

test('createLiveStore: loading, values, errors; stable snapshots; subscription only while subscribed', () => {
  const s = scripted<{ n: number }>();
  const store = createLiveStore(s.live);
  const first = store.getSnapshot();
  assert.deepEqual(first, { data: undefined, error: undefined, loading: true });
  assert.equal(store.getSnapshot(), first, 'same object until a change');
  assert.deepEqual(s.counts(), { starts: 0, stops: 0, active: false }, 'nothing runs before a subscriber');
  let changes = 0;
  const off = store.subscribe(() => changes++);
  assert.deepEqual(s.counts(), { starts: 1, stops: 0, active: true });
  s.push({ n: 1 });
  const a = store.getSnapshot();
  assert.deepEqual(a, { data: { n: 1 }, error: undefined, loading: false });
  assert.equal(changes, 1);
  assert.equal(store.getSnapshot(), a);
  const boom = new RangeError('refused');
  s.fail(boom);
  const b = store.getSnapshot();
  assert.equal(b.error, boom);
  assert.deepEqual(b.data, { n: 1 }, 'the last value stays with the error');
  assert.equal(changes, 2);
  s.push({ n: 2 });
  assert.deepEqual(store.getSnapshot(), { data: { n: 2 }, error: undefined, loading: false });
  off();
  assert.deepEqual(s.counts(), { starts: 1, stops: 1, active: false });
  s.push({ n: 3 });
  assert.equal(changes, 3, 'no change after unsubscribe');
});

test('createQueryStore: runs once on first subscribe; value or error', async () => {
  let runs = 0;
  const store = createQueryStore(async () => {
    runs++;
    return { rows: [{ id: 'a', doc: {} }], hasMore: false };
  });
  assert.equal(store.getSnapshot().loading, true);
  assert.equal(runs, 0);
  let changes = 0;
  const off1 = store.subscribe(() => changes++);
  const off2 = store.subscribe(() => changes++);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(runs, 1);
  assert.equal(changes, 2);
  assert.deepEqual(store.getSnapshot(), { data: { rows: [{ id: 'a', doc: {} }], hasMore: false }, error: undefined, loading: false });
  off1();
  off2();
  const failing = createQueryStore(async () => {
    throw new TypeError('bad query');
  });
  failing.subscribe(() => undefined);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(failing.getSnapshot().error?.name, 'TypeError');
  assert.equal(failing.getSnapshot().loading, false);
});

test('Live: Svelte store contract, listen, first, async iteration, close', async () => {
  const s = scripted<number>();
  const seen: (number | undefined)[] = [];
  const off = s.live.subscribe((v) => seen.push(v));
  assert.deepEqual(seen, [undefined], 'called at once with the current value');
  s.push(1);
  const got = await s.live.first();
  assert.equal(got, 1);
  const it = s.live[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { done: false, value: 1 });
  const pending = it.next();
  s.push(2);
  assert.deepEqual(await pending, { done: false, value: 2 });
  s.push(3);
  s.push(4); // faster than the loop: only the latest is kept
  assert.deepEqual(await it.next(), { done: false, value: 4 });
  off();
  assert.equal(s.counts().active, true, 'the iterator still holds the subscription');
  await it.return!();
  assert.deepEqual(s.counts(), { starts: 1, stops: 1, active: false });
  const it2 = s.live[Symbol.asyncIterator]();
  const waiting = it2.next();
  s.live.close();
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.throws(() => s.live.listen(() => undefined), TypeError);
  assert.deepEqual(seen, [undefined, 1, 2, 3, 4]);
});

test('queryKey: equal queries by value, whatever the key order; different values differ', () => {
  assert.equal(queryKey({ a: 1, b: { c: [1, 2] } }), queryKey({ b: { c: [1, 2] }, a: 1 }));
  assert.notEqual(queryKey({ a: 1 }), queryKey({ a: 2 }));
  assert.notEqual(queryKey({ v: new Float32Array([1]) }), queryKey({ v: new Float32Array([2]) }));
  assert.notEqual(queryKey({ v: new Float32Array([1]) }), queryKey({ v: new Uint8Array([1]) }));
});
