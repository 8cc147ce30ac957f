import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { openLsm, CorruptionError } from '@hearth/lsm';
import { text, utf8 } from './_util.js';

const fresh = (extra: Record<string, unknown> = {}) => openLsm({ fs: new MemoryFileSystem(), dir: 'db', ...extra });

test('api: argument checks are TypeError / RangeError with the argument named', async () => {
  await assert.rejects(openLsm({ fs: new MemoryFileSystem(), dir: 'db', memtableBytes: 0 }), /memtableBytes/);
  await assert.rejects(openLsm({ fs: new MemoryFileSystem(), dir: 'db', compactionW: 1.5 }), RangeError);
  await assert.rejects(openLsm({ fs: {} as never, dir: 'db' }), TypeError);
  const lsm = await fresh();
  assert.throws(() => lsm.get('k' as never), /"key" expected Uint8Array/);
  assert.throws(() => lsm.put(utf8('k'), 'v' as never), /"value"/);
  assert.throws(() => lsm.batch([{ type: 'nope', key: utf8('k') } as never]), /ops\[0\]\.type/);
  assert.throws(() => lsm.put(utf8('k'), utf8('v'), { position: 'p' as never }), /position/);
  assert.throws(() => lsm.iterate({ gt: 3 as never }), /"gt"/);
  const other = await fresh();
  assert.throws(() => lsm.iterate({ snapshot: other.snapshot() }), /not a snapshot of this LSM/);
  // A batch with one bad op applies nothing.
  assert.throws(() => lsm.batch([{ type: 'put', key: utf8('a'), value: utf8('1') }, { type: 'put', key: utf8('b') } as never]));
  assert.equal(lsm.get(utf8('a')), undefined);
  assert.equal(lsm.sequence, 0);
  await lsm.close();
  await other.close();
});

test('api: reads see writes at once; a batch is one sequence number; later ops in a batch win', async () => {
  const lsm = await fresh();
  void lsm.put(utf8('a'), utf8('1')); // applied synchronously, before the promise settles
  assert.equal(text(lsm.get(utf8('a'))), '1');
  const before = lsm.snapshot();
  await lsm.batch([
    { type: 'put', key: utf8('b'), value: utf8('x') },
    { type: 'put', key: utf8('b'), value: utf8('y') },
    { type: 'del', key: utf8('a') },
    { type: 'put', key: utf8('c'), value: utf8('z') },
    { type: 'del', key: utf8('c') },
  ]);
  assert.equal(lsm.sequence, 2);
  assert.equal(text(lsm.get(utf8('b'))), 'y');
  assert.equal(lsm.get(utf8('a')), undefined);
  assert.equal(lsm.get(utf8('c')), undefined);
  assert.deepEqual([...before.iterate()].map((e) => text(e.key)), ['a']);
  // Returned arrays belong to the caller.
  const v = lsm.get(utf8('b'))!;
  v[0] = 0;
  assert.equal(text(lsm.get(utf8('b'))), 'y');
  before.release();
  await lsm.close();
});

test('api: bounds combine to the tighter one; limit; empty key; reverse', async () => {
  const lsm = await fresh({ memtableBytes: 1024 });
  for (const k of ['', 'a', 'b', 'c', 'd']) await lsm.put(utf8(k), utf8(k.toUpperCase() || '-'));
  await lsm.flush();
  await lsm.put(utf8('bb'), utf8('BB'));
  const keys = (r: Parameters<typeof lsm.iterate>[0]) => [...lsm.iterate(r)].map((e) => text(e.key));
  assert.deepEqual(keys({}), ['', 'a', 'b', 'bb', 'c', 'd']);
  assert.deepEqual(keys({ gt: utf8('a'), gte: utf8('b') }), ['b', 'bb', 'c', 'd']);
  assert.deepEqual(keys({ gte: utf8('b'), gt: utf8('b') }), ['bb', 'c', 'd']);
  assert.deepEqual(keys({ lt: utf8('c'), lte: utf8('d') }), ['', 'a', 'b', 'bb']);
  assert.deepEqual(keys({ reverse: true, gt: utf8(''), lte: utf8('c'), limit: 2 }), ['c', 'bb']);
  assert.deepEqual(keys({ limit: 0 }), []);
  assert.deepEqual(keys({ limit: -1 }).length, 6);
  assert.deepEqual(keys({ gt: utf8('c'), lt: utf8('b') }), []);
  assert.deepEqual(keys({ gte: utf8('b'), lte: utf8('b') }), ['b']);
  assert.equal(text(lsm.get(new Uint8Array(0))), '-');
  await lsm.close();
});

test('api: an iterator keeps reading its version while compaction replaces and deletes its files', async () => {
  const lsm = await fresh({ memtableBytes: 1024, tableBytes: 1024, autoCompact: false });
  for (let i = 0; i < 200; i++) await lsm.put(utf8(`k${String(i).padStart(3, '0')}`), utf8(`v${i}`));
  await lsm.flush();
  const it = lsm.iterate();
  const first = it.next().value!;
  assert.equal(text(first.key), 'k000');
  for (let i = 0; i < 200; i += 2) await lsm.delete(utf8(`k${String(i).padStart(3, '0')}`));
  await lsm.flush();
  await lsm.compact({ full: true });
  const rest = [...it].map((e) => text(e.key));
  assert.equal(rest.length, 199);
  assert.equal([...lsm.iterate()].length, 100);
  // An abandoned iterator does not block close.
  const dangling = lsm.iterate();
  dangling.next();
  await lsm.close();
  assert.throws(() => dangling.next(), { code: 'HEARTH_CLOSED' });
  assert.throws(() => lsm.get(utf8('k')), { code: 'HEARTH_CLOSED' });
  assert.throws(() => lsm.put(utf8('k'), utf8('v')), { code: 'HEARTH_CLOSED' });
});

test('api: applied position: recorded by flush, kept across reopen; close does not flush', async () => {
  const fs = new MemoryFileSystem();
  let lsm = await openLsm({ fs, dir: 'db' });
  assert.equal(lsm.appliedPosition, undefined);
  await lsm.put(utf8('a'), utf8('1'), { position: utf8('pos-1') });
  await lsm.flush();
  assert.equal(text(lsm.appliedPosition), 'pos-1');
  await lsm.put(utf8('b'), utf8('2'), { position: utf8('pos-2') });
  await lsm.close(); // b is not flushed: the log above would replay it
  lsm = await openLsm({ fs, dir: 'db' });
  assert.equal(text(lsm.appliedPosition), 'pos-1');
  assert.equal(lsm.get(utf8('b')), undefined);
  assert.equal(lsm.sequence, 1);
  // An empty batch carries a position only; flush records it.
  await lsm.batch([], { position: utf8('pos-3') });
  await lsm.flush();
  assert.equal(text(lsm.appliedPosition), 'pos-3');
  await lsm.close();
  lsm = await openLsm({ fs, dir: 'db' });
  assert.equal(text(lsm.appliedPosition), 'pos-3');
  assert.deepEqual(lsm.stats().tables.length, 1);
  await lsm.close();
});

test('api: a torn manifest tail is cut off, reported, and the state before it kept', async () => {
  const fs = new MemoryFileSystem();
  let lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  await lsm.put(utf8('a'), utf8('1'), { position: utf8('p1') });
  await lsm.flush();
  await lsm.put(utf8('b'), utf8('2'), { position: utf8('p2') });
  await lsm.flush();
  await lsm.close();
  const manifest = (await fs.list('db')).find((n) => n.startsWith('MANIFEST-'))!;
  const h = await fs.open(`db/${manifest}`);
  h.truncate(h.size() - 5); // the last edit (the second flush) was cut short
  await h.close();
  const warnings: string[] = [];
  lsm = await openLsm({ fs, dir: 'db', onWarning: (m) => warnings.push(m) });
  assert.equal(text(lsm.appliedPosition), 'p1');
  assert.equal(text(lsm.get(utf8('a'))), '1');
  assert.equal(lsm.get(utf8('b')), undefined);
  const s = lsm.stats();
  assert.ok(s.recovery.tornManifestBytes > 0);
  assert.equal(s.recovery.orphansRemoved.length, 1, 'the second flush\'s table is an orphan');
  assert.ok(warnings.some((w) => /torn/.test(w)));
  await lsm.close();
  // Damage that is not a torn tail is refused.
  const m2 = (await fs.list('db')).find((n) => n.startsWith('MANIFEST-'))!;
  const h2 = await fs.open(`db/${m2}`);
  h2.write(20, Uint8Array.of(h2.read(20, 1)[0] ^ 4));
  await h2.close();
  await assert.rejects(openLsm({ fs, dir: 'db' }), CorruptionError);
});

test('api: open continues a clean manifest (no new MANIFEST, no CURRENT swap) and writes a new one after a torn tail or when large', async () => {
  const fs = new MemoryFileSystem();
  const manifests = async (): Promise<string[]> => (await fs.list('db')).filter((n) => n.startsWith('MANIFEST-')).sort();
  let lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  await lsm.put(utf8('a'), utf8('1'), { position: utf8('p1') });
  await lsm.flush();
  await lsm.close();
  const [first] = await manifests();
  const current = (): Promise<Uint8Array> => fs.open('db/CURRENT').then(async (h) => {
    try {
      return h.read(0, h.size());
    } finally {
      await h.close();
    }
  });
  const cur0 = await current();
  for (let i = 0; i < 3; i++) {
    lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
    assert.deepEqual(await manifests(), [first], `reopen ${i}: the manifest was continued`);
    await lsm.put(utf8(`k${i}`), utf8(`v${i}`), { position: utf8(`p${i + 2}`) });
    await lsm.flush(); // an edit appended to the continued manifest
    await lsm.close();
  }
  assert.deepEqual(await current(), cur0, 'CURRENT was not rewritten');
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  assert.equal(text(lsm.appliedPosition), 'p4');
  for (let i = 0; i < 3; i++) assert.equal(text(lsm.get(utf8(`k${i}`))), `v${i}`);
  assert.equal(lsm.stats().tables.length, 4);
  await lsm.close();

  // An orphan table numbered past what the manifest recorded: its number is recorded before it is removed, so the
  // next table gets a higher one (file numbers never repeat).
  const h = await fs.open('db/000900.sst', { create: true });
  h.append(utf8('left by a crashed flush'));
  await h.close();
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  assert.deepEqual(lsm.stats().recovery.orphansRemoved, ['000900.sst']);
  await lsm.close(); // no edit of its own since: only open recorded the number
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  await lsm.put(utf8('z'), utf8('26'));
  await lsm.flush();
  await lsm.close();
  const numbers = (await fs.list('db')).filter((n) => n.endsWith('.sst')).map((n) => Number(n.slice(0, 6)));
  assert.ok(Math.max(...numbers) > 900, `a new table reused a number at or below the orphan's: ${numbers.join(', ')}`);
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false }); // and the recorded number survives a reopen
  await lsm.put(utf8('y'), utf8('25'));
  await lsm.flush();
  await lsm.close();
  assert.equal(new Set((await fs.list('db')).filter((n) => n.endsWith('.sst'))).size, (await fs.list('db')).filter((n) => n.endsWith('.sst')).length);

  // A CURRENT.tmp left by a crash during an earlier swap goes when the manifest is continued.
  const t = await fs.open('db/CURRENT.tmp', { create: true });
  t.append(utf8('MANIFEST-999999\n'));
  await t.close();
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  assert.equal((await fs.list('db')).includes('CURRENT.tmp'), false);
  await lsm.close();

  // A torn tail: a new manifest (the torn one is never appended to).
  const before = await manifests();
  const m = await fs.open(`db/${before[0]}`);
  m.truncate(m.size() - 3);
  await m.close();
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false, onWarning: () => undefined }); // (compaction off throughout: cutting a
  // synced edit of a compaction would bring back tables it deleted; a real torn tail is never synced)
  const after = await manifests();
  assert.equal(after.length, 1);
  assert.notEqual(after[0], before[0], 'a torn manifest was continued');
  await lsm.close();

  // Past half of manifestBytes: a new manifest too (open compacts it into one snapshot).
  lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  for (let i = 0; i < 4; i++) {
    await lsm.put(utf8(`m${i}`), utf8('x'));
    await lsm.flush();
  }
  await lsm.close();
  const grown = await manifests();
  assert.deepEqual(grown, after, 'continued while small');
  const g = await fs.open(`db/${grown[0]}`);
  const size = g.size();
  await g.close();
  assert.ok(size >= 128, `the manifest should have grown past 128 bytes, is ${size}`);
  lsm = await openLsm({ fs, dir: 'db', manifestBytes: 256, autoCompact: false });
  await lsm.close();
  const rewritten = await manifests();
  assert.equal(rewritten.length, 1);
  assert.notEqual(rewritten[0], grown[0], 'a manifest over half of manifestBytes was continued');
});

test('api: stats report tables, cache, bloom and flush counters', async () => {
  const lsm = await fresh({ memtableBytes: 1024, blockCacheBytes: 4096 });
  for (let i = 0; i < 100; i++) await lsm.put(utf8(`k${i}`), new Uint8Array(30));
  await lsm.flush();
  for (let i = 0; i < 100; i++) assert.equal(lsm.get(utf8(`k${i}x`)), undefined); // inside the key range: the filter answers
  for (let i = 0; i < 100; i++) lsm.get(utf8(`k${i}`));
  const s = lsm.stats();
  assert.ok(s.tables.length >= 1);
  assert.ok(s.tables.every((t) => /^\d{6}\.sst$/.test(t.file) && t.bytes > 0 && t.entries > 0));
  assert.ok(s.bloom.checks > 0 && s.bloom.negatives > 0);
  assert.ok(s.blockCache.bytes <= 4096 && s.blockCache.hits + s.blockCache.misses > 0);
  assert.ok(s.bytesWrittenByFlush > 0);
  assert.equal(s.sequence, 100);
  await lsm.close();
});

test('api: runs on the Node file system (real files, fsync, rename)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hearth-lsm-'));
  try {
    const fs = new NodeFileSystem(root);
    let lsm = await openLsm({ fs, dir: 'db', memtableBytes: 4096, tableBytes: 4096 });
    for (let i = 0; i < 500; i++) await lsm.put(utf8(`key${i}`), utf8(`value${i}`), { position: utf8(String(i)) });
    await lsm.flush();
    await lsm.compact({ full: true });
    await lsm.close();
    lsm = await openLsm({ fs, dir: 'db' });
    assert.equal(text(lsm.appliedPosition), '499');
    assert.equal([...lsm.iterate()].length, 500);
    assert.equal(text(lsm.get(utf8('key250'))), 'value250');
    assert.deepEqual(lsm.stats().recovery.orphansRemoved, []);
    await lsm.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('api: a full disk (quota) fails the flush with HEARTH_QUOTA_EXCEEDED, loses nothing, and the next flush retries', async () => {
  const { FaultFileSystem } = await import('@hearth/io');
  const fs = new FaultFileSystem(new MemoryFileSystem());
  let lsm = await openLsm({ fs, dir: 'db', autoCompact: false });
  await lsm.put(utf8('a'), utf8('1'), { position: utf8('p1') });
  await lsm.flush();
  let used = 0;
  for (const n of await fs.list('db')) {
    const h = await fs.open(`db/${n}`);
    used += h.size();
    await h.close();
  }
  fs.setQuota(used + 50);
  for (let i = 0; i < 50; i++) await lsm.put(utf8(`k${i}`), new Uint8Array(100), { position: utf8('p2') });
  await assert.rejects(lsm.flush(), { code: 'HEARTH_QUOTA_EXCEEDED' });
  // Still readable and writable; nothing partial on disk.
  assert.equal(lsm.get(utf8('k3'))?.length, 100);
  await lsm.put(utf8('b'), utf8('2'), { position: utf8('p3') });
  assert.equal(text(lsm.appliedPosition), 'p1');
  await assert.rejects(lsm.flush(), { code: 'HEARTH_QUOTA_EXCEEDED' });
  fs.setQuota(undefined);
  await lsm.flush();
  assert.equal(text(lsm.appliedPosition), 'p3');
  await lsm.close();
  lsm = await openLsm({ fs, dir: 'db' });
  assert.equal(text(lsm.get(utf8('b'))), '2');
  assert.equal(lsm.get(utf8('k49'))?.length, 100);
  assert.deepEqual(lsm.stats().recovery.orphansRemoved, []);
  await lsm.close();
});

test('api: the block cache defaults to 128 MiB and takes blockCacheBytes (0 = no caching)', async () => {
  const lsm = await fresh();
  assert.equal(lsm.stats().blockCache.capacity, 128 * 1024 * 1024);
  await lsm.close();
  const none = await fresh({ blockCacheBytes: 0, memtableBytes: 1024 });
  for (let i = 0; i < 50; i++) await none.put(utf8(`k${i}`), utf8(`v${i}`));
  await none.flush();
  assert.equal(text(none.get(utf8('k7'))!), 'v7');
  assert.equal(none.stats().blockCache.bytes, 0);
  assert.equal(none.stats().blockCache.capacity, 0);
  await none.close();
  await assert.rejects(fresh({ blockCacheBytes: -1 }), RangeError);
});

test('api: a flush runs in slices that yield to the event loop; reads and writes in between stay consistent', async () => {
  const lsm = await fresh({ memtableBytes: 64 * 1024 * 1024, autoCompact: false });
  const n = 20_000;
  const key = (i: number) => utf8(`key-${String(i).padStart(6, '0')}`);
  for (let i = 0; i < n; i += 1000) {
    const ops = [];
    for (let j = i; j < i + 1000; j++) ops.push({ type: 'put' as const, key: key(j), value: utf8(`v${j}`) });
    await lsm.batch(ops);
  }
  let turns = 0;
  let done = false;
  const seen: string[] = [];
  const tick = (): void => {
    if (done) return;
    turns++;
    // Between slices: the flushing data is readable, and new writes land in the new memtable.
    const probe = (turns * 7919) % n;
    seen.push(text(lsm.get(key(probe))!) === `v${probe}` ? 'ok' : `bad ${probe}`);
    void lsm.put(key(n + turns), utf8(`late${turns}`));
    setImmediate(tick);
  };
  setImmediate(tick);
  await lsm.flush();
  done = true;
  // At most 512 entries per slice: at least n / 512 turns of the event loop ran during the flush.
  assert.ok(turns >= Math.floor(n / 512), `only ${turns} event-loop turns during a flush of ${n} entries`);
  assert.ok(seen.every((s) => s === 'ok'), seen.find((s) => s !== 'ok'));
  await lsm.flush();
  for (let i = 0; i < n; i += 997) assert.equal(text(lsm.get(key(i))!), `v${i}`);
  for (let t = 1; t <= turns; t++) assert.equal(text(lsm.get(key(n + t))!), `late${t}`);
  await lsm.close();
});

test('api: getWith lends the value of get (memtable, table, snapshot, uncached read) and guards its callback', async () => {
  for (const blockCacheBytes of [undefined, 0]) {
    const lsm = await fresh({ blockCacheBytes, memtableBytes: 4096 });
    const got: string[] = [];
    const read = (buf: Uint8Array, off: number, len: number) => text(buf.slice(off, off + len));
    for (let i = 0; i < 300; i++) await lsm.put(utf8(`k${String(i).padStart(4, '0')}`), utf8(`value ${i}`.repeat(1 + (i % 5))));
    await lsm.delete(utf8('k0007'));
    await lsm.flush();
    const snap = lsm.snapshot();
    await lsm.put(utf8('k0001'), utf8('newer')); // in the memtable now; the snapshot still sees the table's version
    assert.ok(lsm.stats().tables.length > 0, 'some keys are in tables');
    for (let i = 0; i < 300; i++) {
      const k = utf8(`k${String(i).padStart(4, '0')}`);
      const want = lsm.get(k);
      assert.equal(lsm.getWith(k, read), want === undefined ? undefined : text(want), `key ${i}`);
      const wantSnap = snap.get(k);
      assert.equal(snap.getWith(k, read), wantSnap === undefined ? undefined : text(wantSnap), `snapshot key ${i}`);
    }
    assert.equal(lsm.getWith(utf8('k0007'), () => got.push('called')), undefined, 'a deleted key: read not called');
    assert.equal(lsm.getWith(utf8('absent'), () => got.push('called')), undefined, 'an absent key: read not called');
    assert.deepEqual(got, []);
    assert.equal(lsm.getWith(utf8('k0001'), read), 'newer');
    assert.equal(snap.getWith(utf8('k0001'), read), 'value 1value 1');
    // The callback may not read or write this LSM (its view may live in a buffer the next read reuses).
    assert.throws(() => lsm.getWith(utf8('k0002'), () => lsm.get(utf8('k0003'))), /must not read/);
    assert.throws(() => lsm.getWith(utf8('k0002'), () => snap.get(utf8('k0003'))), /must not read/);
    assert.throws(() => lsm.getWith(utf8('k0002'), () => lsm.put(utf8('x'), utf8('y'))), /must not write/);
    assert.equal(lsm.get(utf8('x')), undefined);
    // After a throwing callback the LSM reads normally again.
    assert.throws(() => lsm.getWith(utf8('k0002'), () => { throw new Error('boom'); }), /boom/);
    assert.equal(text(lsm.get(utf8('k0002'))!), 'value 2value 2value 2');
    assert.throws(() => lsm.getWith(utf8('k0002'), 'f' as never), /"read" expected a function/);
    assert.throws(() => lsm.getWith('k' as never, read), /"key" expected Uint8Array/);
    snap.release();
    assert.throws(() => snap.getWith(utf8('k0002'), read), /released/);
    await lsm.close();
    assert.throws(() => lsm.getWith(utf8('k0002'), read), /closed/);
  }
});
