import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError } from '@hearth/io';
import { Block, BlockBuilder, BlockIter } from '../src/_block.js';
import { KIND_DELETE, KIND_PUT } from '../src/_format.js';
import { compareBytes, rng, withSeed } from './_util.js';

interface E {
  key: Uint8Array;
  seq: number;
  kind: number;
  value: Uint8Array;
}
const order = (a: E, b: E) => compareBytes(a.key, b.key) || b.seq - a.seq;

function entries(seed: number, n: number): E[] {
  const r = rng(seed);
  const seen = new Set<string>();
  const out: E[] = [];
  while (out.length < n) {
    const key = Uint8Array.from({ length: 1 + Math.floor(r() * 20) }, () => 97 + Math.floor(r() * 3));
    const seq = 1 + Math.floor(r() * 2 ** 40);
    const id = `${key}/${seq}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ key, seq, kind: r() < 0.2 ? KIND_DELETE : KIND_PUT, value: Uint8Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)) });
  }
  return out.sort(order);
}

function build(list: E[], interval: number): Block {
  const b = new BlockBuilder(interval);
  for (const e of list) b.add(e.key, 0, e.key.length, e.seq, e.kind, e.value, 0, e.value.length);
  const raw = b.finish();
  return new Block(raw.slice(0, raw.length - 4), 'test', 0);
}

function cur(it: BlockIter): E {
  return { key: it.kbuf.slice(it.koff, it.koff + it.ulen), seq: it.seq, kind: it.kind, value: it.vbuf.slice(it.voff, it.voff + it.vlen) };
}

test('block: round trip forward and reverse, restart intervals 1, 2, 16', async () => {
  for (const interval of [1, 2, 16]) {
    await withSeed(interval, () => {
      const list = entries(interval, 300);
      const block = build(list, interval);
      const f = new BlockIter(block, false);
      const got: E[] = [];
      for (f.first(); f.valid; f.next()) got.push(cur(f));
      assert.deepEqual(got, list);
      const r = new BlockIter(block, true);
      const back: E[] = [];
      for (r.first(); r.valid; r.next()) back.push(cur(r));
      assert.deepEqual(back, [...list].reverse());
    });
  }
});

test('block: seekGE and seekLE against a linear scan', async () => {
  await withSeed(9, () => {
    const list = entries(9, 200);
    const block = build(list, 16);
    const r = rng(10);
    const f = new BlockIter(block, false);
    const b = new BlockIter(block, true);
    for (let i = 0; i < 500; i++) {
      const base = list[Math.floor(r() * list.length)];
      const t: E = { key: r() < 0.5 ? base.key : Uint8Array.of(97 + Math.floor(r() * 3)), seq: r() < 0.5 ? base.seq : Math.floor(r() * 2 ** 40), kind: 0, value: new Uint8Array(0) };
      f.seekGE(t.key, t.seq);
      const ge = list.find((e) => order(e, t) >= 0);
      assert.deepEqual(f.valid ? cur(f) : undefined, ge);
      b.seekLE(t.key, t.seq);
      const le = list.filter((e) => order(e, t) <= 0).pop();
      assert.deepEqual(b.valid ? cur(b) : undefined, le);
      if (b.valid) {
        // Continue backwards from a seek.
        b.next();
        const idx = le ? list.indexOf(le) : -1;
        assert.deepEqual(b.valid ? cur(b) : undefined, idx > 0 ? list[idx - 1] : undefined);
      }
    }
  });
});

test('block: prefix compression shrinks shared-prefix keys', () => {
  const list: E[] = [];
  for (let i = 0; i < 100; i++) list.push({ key: new TextEncoder().encode(`user/profile/${String(i).padStart(4, '0')}`), seq: 1, kind: KIND_PUT, value: new Uint8Array(0) });
  const block = build(list, 16);
  // Whole keys would take 100 * (21 + 8) bytes; with sharing, most entries store only a few bytes.
  assert.ok(block.data.length < 100 * 29 * 0.6, `block is ${block.data.length} bytes`);
});

test('block: a bad restart array or entry raises CorruptionError', () => {
  const list = entries(3, 40);
  const good = build(list, 4).data;
  const badCount = good.slice();
  badCount[badCount.length - 1] = 0xff;
  assert.throws(() => new Block(badCount, 'p', 100), CorruptionError);
  const badRestart = good.slice();
  const n = new DataView(good.buffer).getUint32(good.length - 4, true);
  new DataView(badRestart.buffer).setUint32(good.length - 4 - n * 4 + 4, 0xfffff, true);
  assert.throws(() => new Block(badRestart, 'p', 100), CorruptionError);
  const badEntry = good.slice();
  badEntry[0] = 5; // the first entry claims to share 5 bytes with no previous key
  const it = new BlockIter(new Block(badEntry, 'p', 100), false);
  assert.throws(() => it.first(), (e: unknown) => e instanceof CorruptionError && e.path === 'p' && e.offset === 100);
});

test('block: seekGE (deferred key copies) against a linear scan: every interval, prefixes, versions, then next()', async () => {
  for (const interval of [1, 2, 3, 5, 16]) {
    await withSeed(100 + interval, () => {
      const list = entries(100 + interval, 250);
      const block = build(list, interval);
      const r = rng(200 + interval);
      const f = new BlockIter(block, false);
      for (let i = 0; i < 800; i++) {
        const base = list[Math.floor(r() * list.length)];
        let key = base.key;
        const pick = r();
        // The entry's key, a proper prefix of it, an extension of it, or a short random key.
        if (pick < 0.2) key = base.key.slice(0, Math.floor(r() * base.key.length));
        else if (pick < 0.4) key = Uint8Array.of(...base.key, 97 + Math.floor(r() * 3));
        else if (pick < 0.5) key = Uint8Array.from({ length: Math.floor(r() * 4) }, () => 96 + Math.floor(r() * 5));
        const seq = r() < 0.4 ? base.seq : r() < 0.5 ? base.seq + (r() < 0.5 ? 1 : -1) : Math.floor(r() * 2 ** 40);
        const t: E = { key, seq, kind: 0, value: new Uint8Array(0) };
        f.seekGE(t.key, t.seq);
        const at = list.findIndex((e) => order(e, t) >= 0);
        assert.deepEqual(f.valid ? cur(f) : undefined, at >= 0 ? list[at] : undefined, `interval ${interval}, target ${i}`);
        // Forward iteration continues from the seek with the right (fully decoded) keys.
        for (let k = 1; k <= 3 && f.valid; k++) {
          f.next();
          assert.deepEqual(f.valid ? cur(f) : undefined, at + k < list.length ? list[at + k] : undefined);
        }
      }
    });
  }
});

test('block: a restart point every 16 entries or once 1 KiB of entries follows the last one', () => {
  const make = (vlen: number, n: number): E[] =>
    Array.from({ length: n }, (_, i) => ({ key: new TextEncoder().encode(`key${String(i).padStart(5, '0')}`), seq: 1, kind: KIND_PUT, value: new Uint8Array(vlen).fill(i) }));
  // Small entries (8-byte key + 8-byte trailer, 10-byte value): only the entry count places restarts.
  const small = build(make(10, 64), 16);
  assert.equal(small.numRestarts, 4);
  for (let i = 0; i < 4; i++) assert.ok(small.restart(i) === 0 || small.restart(i) - small.restart(i - 1) < 1024);
  // 300-byte values: an entry is 3 + 16 (first) or 3 + 9 (prefix-compressed) + 300 bytes, so a restart falls every
  // 4 entries (3 entries are under 1 KiB, 4 are over).
  const list = make(300, 40);
  const big = build(list, 16);
  assert.equal(big.numRestarts, 10);
  for (let i = 1; i < big.numRestarts; i++) assert.ok(big.restart(i) - big.restart(i - 1) < 1024 + 320, `interval ${i}`);
  // Every entry is still found, forward and reverse.
  const f = new BlockIter(big, false);
  const r = new BlockIter(big, true);
  for (const e of list) {
    f.seekGE(e.key, e.seq);
    assert.deepEqual(cur(f), e);
    r.seekLE(e.key, e.seq);
    assert.deepEqual(cur(r), e);
  }
});

test('block: seekGE and seekLE against a linear scan, keys with a long shared prefix, large values', async () => {
  for (const interval of [1, 4, 16]) {
    await withSeed(300 + interval, () => {
      const r = rng(300 + interval);
      const enc = new TextEncoder();
      const list: E[] = [];
      const seen = new Set<string>();
      while (list.length < 60) {
        // A collection prefix and an id whose leading digits are shared; some keys with several versions.
        const id = `\u0001docs\u0000d000${String(Math.floor(r() * 400)).padStart(4, '0')}${r() < 0.2 ? 'x' : ''}`;
        const seq = 1 + Math.floor(r() * 1000);
        if (seen.has(`${id}/${seq}`)) continue;
        seen.add(`${id}/${seq}`);
        list.push({ key: enc.encode(id), seq, kind: KIND_PUT, value: Uint8Array.from({ length: 100 + Math.floor(r() * 300) }, () => Math.floor(r() * 256)) });
      }
      list.sort(order);
      const block = build(list, interval);
      const f = new BlockIter(block, false);
      const b = new BlockIter(block, true);
      for (let i = 0; i < 1500; i++) {
        const base = list[Math.floor(r() * list.length)];
        let key = base.key;
        const pick = r();
        if (pick < 0.3) key = enc.encode(`\u0001docs\u0000d000${String(Math.floor(r() * 420)).padStart(4, '0')}`);
        else if (pick < 0.4) key = base.key.slice(0, Math.floor(r() * base.key.length));
        else if (pick < 0.5) key = Uint8Array.of(...base.key, Math.floor(r() * 256));
        else if (pick < 0.55) key = enc.encode(`\u0001docs\u0000d00${Math.floor(r() * 10)}`);
        const seq = r() < 0.5 ? base.seq : Math.floor(r() * 1100);
        const t: E = { key, seq, kind: 0, value: new Uint8Array(0) };
        f.seekGE(t.key, t.seq);
        const at = list.findIndex((e) => order(e, t) >= 0);
        assert.deepEqual(f.valid ? cur(f) : undefined, at >= 0 ? list[at] : undefined, `seekGE interval ${interval}, target ${i}`);
        if (f.valid && at + 1 < list.length) {
          f.next();
          assert.deepEqual(cur(f), list[at + 1]);
        }
        b.seekLE(t.key, t.seq);
        let le = list.length - 1;
        while (le >= 0 && order(list[le], t) > 0) le--;
        assert.deepEqual(b.valid ? cur(b) : undefined, le >= 0 ? list[le] : undefined, `seekLE interval ${interval}, target ${i}`);
      }
    });
  }
});
