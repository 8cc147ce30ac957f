// Index maintenance as pure functions: keys of regular, compound and multi-entry indexes; deltas that turn one
// document's keys into another's; definition errors; the memory store refusing a bad value without a change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IndexBuild,
  MemoryQueryStore,
  QueryError,
  compareBytes,
  decodeKeyV1,
  encodeKeyV1,
  indexDelta,
  indexKeys,
  normalizeIndex,
  toHex,
  type Doc,
} from '../src/index.js';
import { SEED, rng } from './_arb.js';
import { INDEXABLE, doc } from './_gen.js';

test('indexKeys: one key per document for regular indexes, missing fields included', () => {
  const ix = normalizeIndex({ collection: 'c', fields: ['a', 'n.x'] });
  assert.deepEqual(ix.fields, [['a'], ['n', 'x']]);
  const [k] = indexKeys(ix, 'id1', { a: 1, n: { x: 'q' } });
  assert.equal(toHex(k), toHex(encodeKeyV1([1, 'q', 'id1'])));
  assert.deepEqual(decodeKeyV1(indexKeys(ix, 'id2', { b: 2 })[0]), [undefined, undefined, 'id2']);
  assert.deepEqual(indexKeys(ix, 'id3', undefined), []);
});

test('indexKeys: multi-entry indexes hold one key per distinct array element', () => {
  const ix = normalizeIndex({ collection: 'c', fields: ['tags'], multiEntry: true });
  const keys = indexKeys(ix, 'd', { tags: ['b', 'a', 'b', 1, -0, 0] });
  assert.deepEqual(keys.map((k) => decodeKeyV1(k)), [[0, 'd'], [1, 'd'], ['a', 'd'], ['b', 'd']]);
  assert.deepEqual(indexKeys(ix, 'd', { tags: 'a' }), []);
  assert.deepEqual(indexKeys(ix, 'd', {}), []);
});

test('property: applying indexDelta(a, b) to keys(a) gives keys(b)', () => {
  const r = rng(SEED + 4000);
  const defs = [...INDEXABLE.map((fields) => normalizeIndex({ collection: 'c', fields })), normalizeIndex({ collection: 'c', fields: ['tags'], multiEntry: true })];
  for (let i = 0; i < 2000; i++) {
    const ix = defs[i % defs.length];
    const a: Doc | undefined = r() < 0.15 ? undefined : doc(r);
    const b: Doc | undefined = r() < 0.15 ? undefined : r() < 0.2 ? a : doc(r);
    const { del, add } = indexDelta(ix, 'x', a, b);
    for (const list of [del, add]) for (let j = 1; j < list.length; j++) assert.equal(compareBytes(list[j - 1], list[j]), -1);
    const set = new Set(indexKeys(ix, 'x', a).map(toHex));
    for (const k of del) assert.ok(set.delete(toHex(k)), 'deletes only keys present');
    for (const k of add) {
      assert.ok(!set.has(toHex(k)), 'adds only keys absent');
      set.add(toHex(k));
    }
    assert.deepEqual([...set].sort(), indexKeys(ix, 'x', b).map(toHex).sort(), `seed ${SEED + 4000} step ${i}`);
    if (a === b) assert.deepEqual({ del, add }, { del: [], add: [] });
  }
});

test('normalizeIndex refuses bad definitions', () => {
  const bad = [
    { collection: '', fields: ['a'] },
    { collection: 'c', fields: [] },
    { collection: 'c', fields: ['a..b'] },
    { collection: 'c', fields: ['a', 'b'], multiEntry: true },
  ];
  for (const d of bad) {
    assert.throws(() => normalizeIndex(d), (e: unknown) => e instanceof QueryError && e.code === 'HEARTH_INVALID_QUERY', JSON.stringify(d));
  }
});

test('memory store: a value the index cannot encode is refused and nothing changes', () => {
  const s = new MemoryQueryStore();
  const ix = s.createIndex({ collection: 'c', fields: ['name'] });
  s.put('c', 'a', { name: 'ok' });
  assert.throws(() => s.put('c', 'a', { name: 'bad\ud800' }), (e: unknown) => e instanceof QueryError && e.code === 'HEARTH_UNSUPPORTED_VALUE');
  assert.deepEqual(s.getDoc('c', 'a'), { name: 'ok' });
  assert.equal(s.indexEntries(ix.id).length, 1);
  assert.deepEqual(decodeKeyV1(s.indexEntries(ix.id)[0].key), ['ok', 'a']);
  assert.throws(() => s.put('c', '', {}), TypeError);
  assert.throws(() => s.dropIndex('nope'), QueryError);
});

test('IndexBuild: an online build interleaved with writes ends with exactly the current keys', () => {
  const r = rng(SEED + 7000);
  for (let scenario = 0; scenario < 60; scenario++) {
    const ix = normalizeIndex(scenario % 3 === 0 ? { collection: 'c', fields: ['tags'], multiEntry: true } : { collection: 'c', fields: INDEXABLE[scenario % INDEXABLE.length] });
    const docs = new Map<string, Doc>();
    for (let i = 0; i < 20; i++) if (r() < 0.8) docs.set(`d${i}`, doc(r));
    const snapshot = [...docs.entries()]; // the snapshot at S, scanned in order
    const build = new IndexBuild(ix);
    const index = new Set<string>();
    let next = 0;
    while (next < snapshot.length || r() < 0.3) {
      if (next < snapshot.length && r() < 0.5) {
        const [id, d] = snapshot[next++];
        for (const k of build.scanned(id, d)) index.add(toHex(k));
      } else {
        const id = `d${Math.floor(r() * 25)}`;
        const before = docs.get(id);
        const after = r() < 0.2 ? undefined : doc(r);
        if (after === undefined) docs.delete(id);
        else docs.set(id, after);
        const { del, add } = build.write(id, before, after);
        for (const k of del) index.delete(toHex(k));
        for (const k of add) index.add(toHex(k));
      }
    }
    const want = new Set<string>();
    for (const [id, d] of docs) for (const k of indexKeys(ix, id, d)) want.add(toHex(k));
    assert.deepEqual([...index].sort(), [...want].sort(), `seed ${SEED + 7000} scenario ${scenario}`);
  }
});
