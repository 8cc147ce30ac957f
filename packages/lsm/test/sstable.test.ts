import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CorruptionError, MemoryFileSystem } from '@hearth/io';
import { bloomHash } from '../src/_bloom.js';
import { BlockCache } from '../src/_cache.js';
import { KIND_DELETE, KIND_PUT, SEQ_SENTINEL } from '../src/_format.js';
import { BlockIter } from '../src/_block.js';
import { RunIter, TableReader, TableWriter, decodeFooterV1, encodeFooterV1, type GetResult } from '../src/_table.js';
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
  const out: E[] = [];
  let seq = 1;
  const keys = new Set<string>();
  while (keys.size < n) keys.add(String(Math.floor(r() * 1e9)).padStart(10, '0'));
  for (const k of keys) {
    const versions = 1 + Math.floor(r() * 3);
    for (let v = 0; v < versions; v++) {
      out.push({
        key: new TextEncoder().encode(k),
        seq: seq++,
        kind: r() < 0.15 ? KIND_DELETE : KIND_PUT,
        value: Uint8Array.from({ length: Math.floor(r() * 150) }, () => Math.floor(r() * 256)),
      });
    }
  }
  return out.sort(order);
}

async function writeTable(fs: MemoryFileSystem, path: string, list: E[], blockBytes = 4096) {
  const h = await fs.open(path, { exclusive: true });
  const w = new TableWriter(h, { blockBytes, restartInterval: 16, bloomBitsPerKey: 10 });
  for (const e of list) w.add(e.key, 0, e.key.length, e.seq, e.kind, e.value, 0, e.value.length);
  const summary = w.finish();
  await h.sync();
  await h.close();
  return summary;
}

const stats = () => ({ bloomChecks: 0, bloomNegatives: 0 });

test('sstable: footer encode/decode round trip', () => {
  fc.assert(
    fc.property(fc.nat(2 ** 40), fc.nat(2 ** 31), fc.nat(2 ** 31), fc.integer({ min: 1, max: 2 ** 50 }), (filterOffset, filterSize, indexSize, entries) => {
      const indexOffset = filterOffset + filterSize + 4;
      const f = { indexOffset, indexSize, filterOffset, filterSize, entries };
      const fileSize = indexOffset + indexSize + 4 + 48;
      assert.deepEqual(decodeFooterV1(encodeFooterV1(f), 'x', fileSize), f);
    }),
    { seed: 42, numRuns: 200 },
  );
});

test('sstable: write, reopen, point lookups at every version, full scans both ways', async () => {
  await withSeed(5, async () => {
    const fs = new MemoryFileSystem();
    const list = entries(5, 3000);
    const summary = await writeTable(fs, 't.sst', list);
    assert.equal(summary.entries, list.length);
    assert.deepEqual(summary.smallest, list[0].key);
    assert.deepEqual(summary.largest, list[list.length - 1].key);
    const cache = new BlockCache(64 * 1024);
    const reader = await TableReader.open(fs, 't.sst', cache, stats());
    assert.equal(reader.size, summary.bytes);
    assert.ok(reader.blocks > 20, `${reader.blocks} blocks`);
    const out: GetResult = { vbuf: new Uint8Array(0), voff: 0, vlen: 0 };
    for (const e of list) {
      // At exactly its sequence, each version is the visible one.
      const kind = reader.get(e.key, e.seq, bloomHash(e.key), out);
      assert.equal(kind, e.kind);
      if (kind === KIND_PUT) assert.deepEqual(out.vbuf.slice(out.voff, out.voff + out.vlen), e.value);
    }
    // Below the oldest version: nothing.
    const first = list.filter((e) => compareBytes(e.key, list[0].key) === 0).pop()!;
    assert.equal(reader.get(first.key, first.seq - 1, bloomHash(first.key), out), -1);
    // Absent keys: -1 (mostly by the bloom filter).
    const absent = new TextEncoder().encode('zzz');
    assert.equal(reader.get(absent, SEQ_SENTINEL, bloomHash(absent), out), -1);
    assert.ok(cache.bytes <= 64 * 1024);
    const t = [{ reader, smallest: summary.smallest, largest: summary.largest }];
    const fwd: E[] = [];
    const f = new RunIter(t, false, true);
    for (f.first(); f.valid; f.next()) fwd.push({ key: f.kbuf.slice(f.koff, f.koff + f.ulen), seq: f.seq, kind: f.kind, value: f.vbuf.slice(f.voff, f.voff + f.vlen) });
    assert.deepEqual(fwd, list);
    const back: E[] = [];
    const b = new RunIter(t, true, false);
    for (b.first(); b.valid; b.next()) back.push({ key: b.kbuf.slice(b.koff, b.koff + b.ulen), seq: b.seq, kind: b.kind, value: b.vbuf.slice(b.voff, b.voff + b.vlen) });
    assert.deepEqual(back, [...list].reverse());
    await reader.close();
  });
});

test('sstable: a run of several tables seeks across table boundaries', async () => {
  await withSeed(8, async () => {
    const fs = new MemoryFileSystem();
    const list = entries(8, 900);
    const cache = new BlockCache(1 << 20);
    const tables = [];
    // Split at user-key boundaries into 3 tables (invariant 1).
    const cuts = [0, 300, 600, list.length].map((i) => {
      while (i > 0 && i < list.length && compareBytes(list[i - 1].key, list[i].key) === 0) i++;
      return i;
    });
    for (let i = 0; i < 3; i++) {
      const part = list.slice(cuts[i], cuts[i + 1]);
      const s = await writeTable(fs, `${i}.sst`, part, 512);
      tables.push({ reader: await TableReader.open(fs, `${i}.sst`, cache, stats()), smallest: s.smallest, largest: s.largest });
    }
    const r = rng(9);
    const f = new RunIter(tables, false, true);
    const b = new RunIter(tables, true, true);
    for (let i = 0; i < 300; i++) {
      const base = list[Math.floor(r() * list.length)];
      const t = { key: base.key, seq: r() < 0.3 ? 0 : r() < 0.5 ? SEQ_SENTINEL : base.seq, kind: 0, value: new Uint8Array(0) };
      f.seekGE(t.key, t.seq);
      const ge = list.find((e) => order(e, t) >= 0);
      assert.equal(f.valid ? f.seq : undefined, ge?.seq);
      b.seekLE(t.key, t.seq);
      const le = list.filter((e) => order(e, t) <= 0).pop();
      assert.equal(b.valid ? b.seq : undefined, le?.seq);
    }
  });
});

test('sstable: open refuses a truncated file or a bad footer with CorruptionError', async () => {
  const fs = new MemoryFileSystem();
  await writeTable(fs, 't.sst', entries(1, 50));
  const h = await fs.open('t.sst');
  const size = h.size();
  h.truncate(size - 1);
  await h.close();
  await assert.rejects(TableReader.open(fs, 't.sst', new BlockCache(0), stats()), CorruptionError);
  const h2 = await fs.open('short.sst', { create: true });
  h2.append(new Uint8Array(10));
  await h2.close();
  await assert.rejects(TableReader.open(fs, 'short.sst', new BlockCache(0), stats()), CorruptionError);
});

test('sstable: findBlock agrees with a scan of the blocks\' last keys when every key shares a long prefix', async () => {
  await withSeed(11, async () => {
    const r = rng(11);
    const fs = new MemoryFileSystem();
    const enc = new TextEncoder();
    const prefix = 'docs\u0000item-00';
    // Keys with a 12-byte common prefix, some user keys with several versions (so equal keys end adjacent blocks).
    const list: E[] = [];
    let seq = 1;
    for (let i = 0; i < 2000; i += 1 + Math.floor(r() * 3)) {
      const key = enc.encode(prefix + String(i).padStart(5, '0'));
      const versions = r() < 0.1 ? 40 : 1;
      for (let v = 0; v < versions; v++) list.push({ key, seq: seq++, kind: KIND_PUT, value: new Uint8Array(Math.floor(r() * 40)) });
    }
    list.sort(order);
    await writeTable(fs, 'p.sst', list, 256);
    const reader = await TableReader.open(fs, 'p.sst', new BlockCache(1 << 20), stats());
    assert.ok(reader.blocks > 50, `${reader.blocks} blocks`);
    // Reference: each block's last internal key, from the blocks themselves.
    const lasts: { key: Uint8Array; seq: number }[] = [];
    for (let b = 0; b < reader.blocks; b++) {
      const it = new BlockIter(reader.readBlock(b, false), true);
      it.first();
      lasts.push({ key: it.kbuf.slice(it.koff, it.koff + it.ulen), seq: it.seq });
    }
    const expected = (t: Uint8Array, tseq: number): number => {
      let i = 0;
      while (i < lasts.length && (compareBytes(lasts[i].key, t) || tseq - lasts[i].seq) < 0) i++;
      return i;
    };
    const targets: [Uint8Array, number][] = [];
    for (const e of list) targets.push([e.key, e.seq], [e.key, e.seq + 1], [e.key, 0]);
    for (const s of ['', 'd', 'docs', 'docs\u0000', 'docs\u0000item-0', prefix, prefix + '0', prefix + '99', prefix + '00000', 'docs\u0000item-01', 'docs\u0000item-', 'docs\u0001', 'e', 'docs\u0000item-00\u00ff', 'cz']) {
      targets.push([enc.encode(s), SEQ_SENTINEL], [enc.encode(s), 0]);
    }
    for (let k = 0; k < 500; k++) {
      const n = Math.floor(r() * 20);
      targets.push([enc.encode((prefix + String(Math.floor(r() * 2100)).padStart(5, '0')).slice(0, n + 5)), Math.floor(r() * seq)]);
    }
    for (const [t, tseq] of targets) assert.equal(reader.findBlock(t, tseq), expected(t, tseq), `target ${JSON.stringify(new TextDecoder().decode(t))} @${tseq}`);
    await reader.close();
  });
});
