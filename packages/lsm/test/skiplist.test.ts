import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Memtable, NIL } from '../src/_memtable.js';
import { KIND_DELETE, KIND_PUT } from '../src/_format.js';
import { compareBytes, rng, withSeed } from './_util.js';

interface E {
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}

const internalOrder = (a: E, b: E) => compareBytes(a.key, b.key) || b.seq - a.seq;

function randomKey(r: () => number): Uint8Array {
  const n = Math.floor(r() * 4);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 3));
}

function read(m: Memtable, n: number): E {
  return {
    key: m.arena.slice(m.keyOff(n), m.keyOff(n) + m.keyLen(n)),
    seq: m.seq(n),
    kind: m.kind(n),
    value: m.arena.slice(m.valOff(n), m.valOff(n) + m.valLen(n)),
  };
}

/** Level 0 forward and backward equals `expected` (invariants 2 and 3). */
function assertOrder(m: Memtable, expected: readonly E[]): void {
  const fwd: E[] = [];
  for (let n = m.first(); n !== NIL; n = m.next(n)) fwd.push(read(m, n));
  assert.deepEqual(fwd, expected);
  const back: E[] = [];
  for (let n = m.last(); n !== NIL; n = m.before(n)) back.push(read(m, n));
  assert.deepEqual(back, [...expected].reverse());
}

/** The memtable's internals the level checks read (`_memtable.ts`: STRIDE 10, BASE 5). */
type Internals = { links: Int32Array; rec: Int32Array; lastAt: Int32Array; height: number; finger: Int32Array; fingerNode: number };
const linkBase = (mm: Internals, n: number): number => mm.rec[n * 10 + 5];

/**
 * Asserts that every level is a sorted sublist of level 0 ending at NIL (invariant 2); returns each node's level-0
 * position and the last node of each level (0 when the level is empty).
 */
function assertLevels(m: Memtable): { pos: Map<number, number>; lastOf: number[] } {
  const mm = m as unknown as Internals;
  const pos = new Map<number, number>();
  let i = 0;
  for (let n = m.first(); n !== NIL; n = m.next(n)) pos.set(n, i++);
  const lastOf: number[] = [];
  for (let l = 0; l < 12; l++) {
    let prev = -1;
    let last = 0;
    for (let n = mm.links[linkBase(mm, 0) + l]; n !== NIL; n = mm.links[linkBase(mm, n) + l]) {
      assert.ok(pos.has(n) && pos.get(n)! > prev, `level ${l} out of order`);
      prev = pos.get(n)!;
      last = n;
    }
    lastOf.push(last);
  }
  return { pos, lastOf };
}

test('skiplist: level-0 order forward and backward equals the sorted model (invariants 2, 3, 4)', async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    await withSeed(seed, () => {
      const r = rng(seed);
      const m = new Memtable();
      const model = new Map<string, E>();
      for (let i = 0; i < 2000; i++) {
        const key = randomKey(r);
        const seq = 1 + Math.floor(r() * 300); // repeats: (key, seq) collisions replace (invariant 4)
        const kind = r() < 0.3 ? KIND_DELETE : KIND_PUT;
        const value = Uint8Array.of(i & 255, i >> 8);
        m.add(key, seq, kind, value);
        model.set(`${key.join(',')}/${seq}`, { key, seq, kind, value });
      }
      const expected = [...model.values()].sort(internalOrder);
      assert.equal(m.count, expected.length);
      assertOrder(m, expected);
    });
  }
});

test('skiplist: runs of ascending keys (the append path, invariant 9) mixed with random ones keep every level ordered', async () => {
  for (const seed of [11, 12, 13]) {
    await withSeed(seed, () => {
      const r = rng(seed);
      const m = new Memtable();
      const model = new Map<string, E>();
      let next = 0;
      for (let i = 0; i < 3000; i++) {
        // mostly ascending 4-byte keys (appends), sometimes a random key anywhere, sometimes a newer version of an
        // existing key (which sorts before it: not an append)
        const roll = r();
        const key =
          roll < 0.7 ? Uint8Array.of(1, (next >> 8) & 255, next++ & 255, 0) : roll < 0.9 ? Uint8Array.of(1, Math.floor(r() * 256), Math.floor(r() * 256), 1) : Uint8Array.of(1, (Math.max(0, next - 1) >> 8) & 255, Math.max(0, next - 1) & 255, 0);
        const seq = 1 + i;
        const value = Uint8Array.of(i & 255);
        m.add(key, seq, KIND_PUT, value);
        model.set(`${key.join(',')}/${seq}`, { key, seq, kind: KIND_PUT, value });
      }
      const expected = [...model.values()].sort(internalOrder);
      const fwd: E[] = [];
      for (let n = m.first(); n !== NIL; n = m.next(n)) fwd.push(read(m, n));
      assert.deepEqual(fwd, expected);
      // every level is a sorted sublist of level 0 that ends at NIL, and its last node is what invariant 9 records
      const { lastOf } = assertLevels(m);
      const mm = m as unknown as Internals;
      for (let l = 0; l < 12; l++) assert.equal(mm.lastAt[l], lastOf[l], `lastAt[${l}]`);
    });
  }
});

test('skiplist: nearly ascending keys and interleaved ascending streams (the finger, invariant 10) keep every level ordered', async () => {
  const enc = new TextEncoder();
  for (const seed of [21, 22, 23, 24]) {
    await withSeed(seed, () => {
      const r = rng(seed);
      const m = new Memtable();
      const model = new Map<string, E>();
      // 1-3 streams of decimal ids without padding ("n9" sorts after "n10": each stream is ascending between its
      // digit-count changes but does not follow the tail), random keys, and rewrites of a key at the same sequence
      const streams = Array.from({ length: 1 + Math.floor(r() * 3) }, (_, k) => ({ prefix: `s${k}/n`, next: Math.floor(r() * 50) }));
      const written: E[] = [];
      const mm = m as unknown as Internals;
      const checkLevels = (): void => {
        const { pos } = assertLevels(m);
        // invariant 10: finger[l] is the last node of level l at or before the finger node (0: the head)
        if (mm.fingerNode === 0) return;
        const limit = pos.get(mm.fingerNode)!;
        for (let l = 0; l < mm.height; l++) {
          let last = 0;
          for (let n = mm.links[linkBase(mm, 0) + l]; n !== NIL && pos.get(n)! <= limit; n = mm.links[linkBase(mm, n) + l]) last = n;
          assert.equal(mm.finger[l], last, `finger[${l}]`);
        }
      };
      for (let i = 0; i < 4000; i++) {
        const roll = r();
        let e: E;
        if (roll < 0.8) {
          const st = streams[Math.floor(r() * streams.length)];
          e = { key: enc.encode(st.prefix + String(st.next++)), seq: 1 + i, kind: KIND_PUT, value: Uint8Array.of(i & 255) };
        } else if (roll < 0.9 || written.length === 0) {
          e = { key: enc.encode(`s${Math.floor(r() * 4)}/n${Math.floor(r() * 5000)}`), seq: 1 + i, kind: r() < 0.3 ? KIND_DELETE : KIND_PUT, value: Uint8Array.of(i & 255, 1) };
        } else {
          const old = written[Math.floor(r() * written.length)];
          e = { key: old.key, seq: old.seq, kind: KIND_PUT, value: Uint8Array.of(i & 255, 2) }; // replaced in place (invariant 4)
        }
        m.add(e.key, e.seq, e.kind, e.value);
        model.set(`${e.key.join(',')}/${e.seq}`, e);
        written.push(e);
        if (i % 500 === 499) checkLevels();
      }
      checkLevels();
      const expected = [...model.values()].sort(internalOrder);
      assertOrder(m, expected);
      for (const e of expected) assert.equal(m.get(e.key, e.seq) !== NIL, true);
    });
  }
});

test('skiplist: get returns the newest version at or below the read sequence', () => {
  const m = new Memtable();
  const k = Uint8Array.of(7);
  m.add(k, 5, KIND_PUT, Uint8Array.of(5));
  m.add(k, 9, KIND_DELETE, new Uint8Array(0));
  m.add(k, 12, KIND_PUT, Uint8Array.of(12));
  m.add(Uint8Array.of(7, 0), 1, KIND_PUT, Uint8Array.of(70));
  assert.equal(m.get(k, 4), NIL);
  assert.deepEqual(read(m, m.get(k, 5)).value, Uint8Array.of(5));
  assert.equal(m.kind(m.get(k, 11)), KIND_DELETE);
  assert.deepEqual(read(m, m.get(k, 100)).value, Uint8Array.of(12));
  assert.equal(m.get(Uint8Array.of(6), 100), NIL);
  assert.equal(m.get(new Uint8Array(0), 100), NIL);
});

test('skiplist: seekGE / seekLE land on the right nodes', async () => {
  await withSeed(77, () => {
    const r = rng(77);
    const m = new Memtable();
    const all: E[] = [];
    for (let i = 0; i < 500; i++) {
      const e = { key: randomKey(r), seq: i + 1, kind: KIND_PUT, value: new Uint8Array(0) };
      m.add(e.key, e.seq, e.kind, e.value);
      all.push(e);
    }
    all.sort(internalOrder);
    for (let i = 0; i < 300; i++) {
      const t = { key: randomKey(r), seq: Math.floor(r() * 520), kind: 0, value: new Uint8Array(0) };
      const ge = all.find((e) => internalOrder(e, t) >= 0);
      const n = m.seekGE(t.key, t.seq);
      assert.deepEqual(n === NIL ? undefined : read(m, n).seq, ge?.seq);
      const le = all.filter((e) => internalOrder(e, t) <= 0).pop();
      const p = m.seekLE(t.key, t.seq);
      assert.deepEqual(p === NIL ? undefined : read(m, p).seq, le?.seq);
    }
  });
});

test('skiplist: keys and values are copied (caller may reuse its arrays)', () => {
  const m = new Memtable();
  const k = Uint8Array.of(1, 2);
  const v = Uint8Array.of(3);
  m.add(k, 1, KIND_PUT, v);
  k[0] = 9;
  v[0] = 9;
  assert.deepEqual(read(m, m.get(Uint8Array.of(1, 2), 1)).value, Uint8Array.of(3));
});

test('skiplist: get (hash index, invariant 8) equals a scan of the model at every sequence, across index growth', async () => {
  await withSeed(77, () => {
    const r = rng(77);
    const m = new Memtable();
    const model: E[] = [];
    const enc = new TextEncoder();
    // 3,000 distinct keys (the index starts with 1,024 slots and doubles at half load), the empty key included,
    // several versions of some, sequences not in key order, and a rewrite of one (key, seq) in place.
    const keys: Uint8Array[] = [new Uint8Array(0)];
    for (let i = 1; i < 3000; i++) keys.push(enc.encode(`k${Math.floor(r() * 1e6)}/${i}`));
    const seqs = Array.from({ length: 6000 }, (_, i) => i + 1).sort(() => r() - 0.5);
    for (let i = 0; i < 6000; i++) {
      const key = keys[i < 3000 ? i : Math.floor(r() * 40)];
      const e: E = { key, seq: seqs[i], kind: r() < 0.2 ? KIND_DELETE : KIND_PUT, value: Uint8Array.of(i & 255, i >> 8) };
      m.add(e.key, e.seq, e.kind, e.value);
      model.push(e);
    }
    const again = model[5];
    m.add(again.key, again.seq, KIND_PUT, Uint8Array.of(9, 9, 9));
    model[5] = { ...again, kind: KIND_PUT, value: Uint8Array.of(9, 9, 9) };
    const visible = (key: Uint8Array, seq: number): E | undefined => {
      let best: E | undefined;
      for (const e of model) if (compareBytes(e.key, key) === 0 && e.seq <= seq && (best === undefined || e.seq > best.seq)) best = e;
      return best;
    };
    // Every key at the newest sequence (the first lookup indexes all 6,000 nodes, growing the index on the way).
    const newest = new Map<string, E>();
    for (const e of model) {
      const k = Buffer.from(e.key).toString('hex');
      if ((newest.get(k)?.seq ?? -1) < e.seq) newest.set(k, e);
    }
    for (const key of keys) {
      const n = m.get(key, 6000);
      assert.deepEqual(n === NIL ? undefined : read(m, n), newest.get(Buffer.from(key).toString('hex')), `newest of ${new TextDecoder().decode(key)}`);
    }
    // Writes after lookups are indexed by the next lookup.
    const late = enc.encode('late');
    m.add(late, 7000, KIND_PUT, Uint8Array.of(1));
    model.push({ key: late, seq: 7000, kind: KIND_PUT, value: Uint8Array.of(1) });
    assert.equal(m.seq(m.get(late, 7000)), 7000);
    for (let i = 0; i < 1500; i++) {
      const key = r() < 0.1 ? enc.encode(`absent${i}`) : i < 60 ? keys[i % 40] : keys[Math.floor(r() * keys.length)];
      const seq = r() < 0.5 ? 6000 : Math.floor(r() * 6001);
      const want = visible(key, seq);
      const n = m.get(key, seq);
      assert.deepEqual(n === NIL ? undefined : read(m, n), want, `key ${new TextDecoder().decode(key)} @${seq}`);
    }
  });
});
