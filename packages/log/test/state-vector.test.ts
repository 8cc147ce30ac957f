import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { MemoryFileSystem } from '@hearth/io';
import { FeedStore, LogError, decodeStateVectorV1, encodeStateVectorV1, generateKeypair, signEntry } from '@hearth/log';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const item = fc.record({
  feed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  hash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});

test('encodeStateVectorV1/decodeStateVectorV1 round trip; encoding is order-independent (property)', () => {
  fc.assert(
    fc.property(fc.uniqueArray(item, { maxLength: 20, selector: (i) => hex(i.feed) }), (items) => {
      const bytes = encodeStateVectorV1(items);
      assert.deepEqual(encodeStateVectorV1([...items].reverse()), bytes);
      const back = decodeStateVectorV1(bytes);
      const sorted = [...items].sort((a, b) => (hex(a.feed) < hex(b.feed) ? -1 : 1)).map((i) => ({ ...i }));
      assert.deepEqual(back, sorted);
      assert.deepEqual(encodeStateVectorV1(back), bytes);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('fixture state-vector-v1.bin decodes to the documented items', () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/state-vector-v1.bin', import.meta.url)));
  assert.deepEqual(
    decodeStateVectorV1(bytes).map((i) => [hex(i.feed), i.seq, hex(i.hash)]),
    [
      ['3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', 7, '11'.repeat(32)],
      ['d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 3, 'ebcdb0b77c4074469386a4a0f1052fe2ae3d84ece5aae6a348526a89c927586c'],
    ],
  );
  assert.deepEqual(encodeStateVectorV1(decodeStateVectorV1(bytes)), bytes);
});

test('decoder refuses non-canonical input with HEARTH_MALFORMED_STATE_VECTOR', () => {
  const a = { feed: new Uint8Array(32).fill(1), seq: 1, hash: new Uint8Array(32) };
  const b = { feed: new Uint8Array(32).fill(2), seq: 2, hash: new Uint8Array(32) };
  const good = encodeStateVectorV1([a, b]);
  const swapped = good.slice();
  swapped.set(good.subarray(77, 149), 5);
  swapped.set(good.subarray(5, 77), 77);
  const seq0 = good.slice();
  seq0.fill(0, 5 + 32, 5 + 40);
  const cases: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['version', Uint8Array.of(2, 0, 0, 0, 0)],
    ['count mismatch', good.subarray(0, good.length - 1)],
    ['trailing', new Uint8Array([...good, 0])],
    ['unsorted', swapped],
    ['seq 0', seq0],
  ];
  for (const [name, bytes] of cases) {
    assert.throws(() => decodeStateVectorV1(bytes), (e: unknown) => e instanceof LogError && e.code === 'HEARTH_MALFORMED_STATE_VECTOR', name);
  }
  assert.throws(() => encodeStateVectorV1([a, a]), RangeError);
  assert.throws(() => encodeStateVectorV1([{ ...a, seq: 0 }]), RangeError);
});

test("a feed store's state vector encodes and decodes to itself", async () => {
  const store = await FeedStore.open({ fs: new MemoryFileSystem(), dir: 'feeds' });
  for (const kp of [generateKeypair(), generateKeypair()]) await store.append([await signEntry({ seq: 1, hlc: 1n, ops: new Uint8Array(1) }, kp)]);
  const sv = store.stateVector();
  assert.deepEqual(decodeStateVectorV1(encodeStateVectorV1(sv)), sv);
});
