/**
 * HearthLevel beyond abstract-level's compliance suite (which `abstract-level.test.ts` runs): the durability
 * policy (what survives a crash, checked with FaultFileSystem), storage-location handling (createIfMissing,
 * errorIfExists, the in-process lock, the `fs` option), chunked `clear()`, and a seeded randomised comparison
 * against an in-memory model with a tiny memtable so that reads cross the memtable, SSTables and compaction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FaultFileSystem, MemoryFileSystem, type FileSystem } from '@hearth/io';
import { HearthLevel, LSM_DIR } from '@hearth/level';

const te = new TextEncoder();
const td = new TextDecoder();

function tmp(): { dir: string; done: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hearth-level-test-'));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The `cause.code` of an abstract-level open error (abstract-level wraps `_open` failures). */
async function openFailure(db: HearthLevel): Promise<{ code: string; causeCode: string | undefined; message: string }> {
  try {
    await db.open();
  } catch (e) {
    const err = e as { code: string; cause?: { code?: string; message: string } };
    return { code: err.code, causeCode: err.cause?.code, message: err.cause?.message ?? '' };
  }
  assert.fail('open() was expected to fail');
}

test('writes survive close() and reopen on Node fs; the LSM lives in <location>/lsm', async () => {
  const t = tmp();
  try {
    const location = path.join(t.dir, 'db');
    const db = new HearthLevel(location);
    await db.put('a', '1');
    await db.batch([
      { type: 'put', key: 'b', value: '2' },
      { type: 'put', key: 'c', value: '3' },
      { type: 'del', key: 'a' },
    ]);
    await db.close();
    assert.ok(existsSync(path.join(location, LSM_DIR)), 'lsm directory exists');

    const again = new HearthLevel(location);
    assert.deepEqual(await again.iterator().all(), [
      ['b', '2'],
      ['c', '3'],
    ]);
    assert.equal(await again.get('a'), undefined);
    await again.close();
  } finally {
    t.done();
  }
});

test('durability policy under a crash: sync writes, flush() and close() are durable; plain writes since the last flush are not', async () => {
  const fault = new FaultFileSystem(new MemoryFileSystem(), { seed: 7 });
  const db = new HearthLevel('db', { fs: fault });
  await db.put('plain-1', 'x');
  await db.put('synced', 'y', { sync: true } as object);
  await db.put('plain-2', 'z');
  fault.crash();
  // 'lose': every byte not fsynced is gone, the strictest reading of the io contract.
  const afterFirst = await fault.afterCrash({ unsynced: 'lose' });
  const r1 = new HearthLevel('db', { fs: afterFirst });
  assert.equal(await r1.get('synced'), 'y', 'a { sync: true } write is durable when it resolves');
  assert.equal(await r1.get('plain-1'), 'x', 'a sync write makes every earlier acknowledged write durable');
  // The documented limit of the policy (no WAL in the LSM): with a 4 MiB memtable nothing flushed plain-2.
  assert.equal(await r1.get('plain-2'), undefined, 'an unsynced write after the last flush is lost by a crash');

  await r1.batch([{ type: 'put', key: 'batched', value: 'b' }]);
  await r1.flush();
  const chained = r1.batch().put('chained', 'c');
  await chained.write({ sync: true } as object);
  await r1.put('at-close', 'd');
  await r1.close();
  const r2 = new HearthLevel('db', { fs: afterFirst });
  assert.deepEqual(await r2.getMany(['batched', 'chained', 'at-close', 'synced']), ['b', 'c', 'd', 'y']);
  await r2.close();
});

test('createIfMissing: false on a missing location fails with HEARTH_NOT_FOUND and creates nothing', async () => {
  const t = tmp();
  try {
    const location = path.join(t.dir, 'missing');
    const f = await openFailure(new HearthLevel(location, { createIfMissing: false }));
    assert.equal(f.code, 'LEVEL_DATABASE_NOT_OPEN');
    assert.equal(f.causeCode, 'HEARTH_NOT_FOUND');
    assert.match(f.message, /does not exist/);
    assert.equal(existsSync(location), false);
    // An existing but empty directory is not a database either.
    const empty = new HearthLevel(t.dir, { createIfMissing: false });
    assert.equal((await openFailure(empty)).causeCode, 'HEARTH_NOT_FOUND');
  } finally {
    t.done();
  }
});

test('errorIfExists refuses an existing database with HEARTH_EXISTS', async () => {
  const fs = new MemoryFileSystem();
  const db = new HearthLevel('x', { fs });
  await db.put('k', 'v');
  await db.close();
  const f = await openFailure(new HearthLevel('x', { fs, errorIfExists: true }));
  assert.equal(f.causeCode, 'HEARTH_EXISTS');
  assert.match(f.message, /exists/);
  // A different location in the same file system is a different database.
  const other = new HearthLevel('y', { fs, errorIfExists: true });
  await other.open();
  assert.equal(await other.get('k'), undefined);
  await other.close();
});

test('a location open in this process cannot be opened twice (HEARTH_LOCKED) until closed', async () => {
  const t = tmp();
  try {
    const location = path.join(t.dir, 'db');
    const first = new HearthLevel(location);
    await first.open();
    // A different spelling of the same directory is the same database.
    const second = new HearthLevel(path.join(t.dir, '.', 'db'));
    assert.equal((await openFailure(second)).causeCode, 'HEARTH_LOCKED');
    await first.close();
    await second.open();
    assert.equal(second.status, 'open');
    await second.close();
  } finally {
    t.done();
  }
});

test('constructor checks its arguments; supports reflects the backend', () => {
  assert.throws(() => new HearthLevel(''), TypeError);
  assert.throws(() => new HearthLevel(42 as unknown as string), TypeError);
  assert.throws(() => new HearthLevel('x', { fs: {} as FileSystem }), TypeError);
  const mem = new HearthLevel('m', { fs: new MemoryFileSystem() });
  assert.equal(mem.supports.permanence, false);
  assert.equal(mem.supports.explicitSnapshots, true);
  assert.equal(mem.supports.implicitSnapshots, true);
  assert.equal(mem.supports.has, true);
  assert.equal(mem.supports.encodings.view, true);
  void mem.close();
});

test('clear() across several chunks: ranges, limit, reverse, and an explicit snapshot', async () => {
  const db = new HearthLevel<string, string>('c', { fs: new MemoryFileSystem(), lsm: { memtableBytes: 16 * 1024 } });
  const key = (i: number): string => `k${String(i).padStart(5, '0')}`;
  const all = Array.from({ length: 3500 }, (_, i) => key(i));
  await db.batch(all.map((k) => ({ type: 'put' as const, key: k, value: k })));

  await db.clear({ gte: key(100), lt: key(2600) }); // 2500 keys: three chunks
  let keys = await db.keys().all();
  assert.deepEqual(keys, [...all.slice(0, 100), ...all.slice(2600)]);

  await db.clear({ gt: key(2600), limit: 1200 }); // 1200 keys after k02600, forward
  keys = await db.keys().all();
  assert.deepEqual(keys, [...all.slice(0, 100), key(2600), ...all.slice(2601 + 1200)]);

  await db.batch(all.map((k) => ({ type: 'put' as const, key: k, value: k })));
  await db.clear({ reverse: true, limit: 1001, lte: key(3000) }); // k01999..k03000 (1001 keys, from the top)
  keys = await db.keys().all();
  assert.deepEqual(keys, [...all.slice(0, 2000), ...all.slice(3001)]);

  // With an explicit snapshot, keys written after it are not deleted.
  const snap = db.snapshot();
  await db.put('zz-new', 'n');
  await db.clear({ snapshot: snap, gte: 'z' });
  await db.clear({ snapshot: snap });
  await snap.close();
  assert.deepEqual(await db.iterator().all(), [['zz-new', 'n']]);
  await db.close();
});

/** A deterministic PRNG (mulberry32) for the randomised test. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

test('seeded random operations match an in-memory model (gets, iterators with seek, snapshots, clear, reopen)', async () => {
  const seeds = [1, 2, 3, 4];
  for (const seed of seeds) {
    try {
      await randomRun(seed);
    } catch (err) {
      console.error(`level random-model test failed with seed ${seed}`);
      throw err;
    }
  }
});

async function randomRun(seed: number): Promise<void> {
  const rand = mulberry32(seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const fs = new MemoryFileSystem();
  // A 2 KiB memtable: most reads cross several SSTables, flushes and compactions.
  const options = { fs, keyEncoding: 'view', valueEncoding: 'view', lsm: { memtableBytes: 2048, blockBytes: 256 } };
  let db = new HearthLevel<Uint8Array, Uint8Array>('r', options);
  await db.open();
  const model = new Map<string, Uint8Array>(); // hex(key) -> value
  const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex');
  const randKey = (): Uint8Array => {
    // Short keys over a small alphabet collide often; the empty key is allowed by abstract-level.
    const len = int(4);
    const k = new Uint8Array(len);
    for (let i = 0; i < len; i++) k[i] = [0, 1, 0x61, 0x62, 0xff][int(5)];
    return k;
  };
  const randValue = (): Uint8Array => te.encode(`v${int(1e6)}`.repeat(1 + int(3)));
  const sortedModel = (): [Uint8Array, Uint8Array][] =>
    [...model.entries()]
      .map(([k, v]): [Uint8Array, Uint8Array] => [Uint8Array.from(Buffer.from(k, 'hex')), v])
      .sort((a, b) => compareBytes(a[0], b[0]));
  const rangeModel = (
    entries: [Uint8Array, Uint8Array][],
    r: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse?: boolean },
  ): [Uint8Array, Uint8Array][] => {
    const out = entries.filter(
      ([k]) =>
        (r.gte === undefined ? r.gt === undefined || compareBytes(k, r.gt) > 0 : compareBytes(k, r.gte) >= 0) &&
        (r.lte === undefined ? r.lt === undefined || compareBytes(k, r.lt) < 0 : compareBytes(k, r.lte) <= 0),
    );
    return r.reverse ? out.reverse() : out;
  };
  const randRange = (): { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse: boolean } => {
    const r: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; reverse: boolean } = {
      reverse: rand() < 0.5,
    };
    const lo = int(3);
    if (lo === 1) r.gt = randKey();
    else if (lo === 2) r.gte = randKey();
    const hi = int(3);
    if (hi === 1) r.lt = randKey();
    else if (hi === 2) r.lte = randKey();
    return r;
  };

  for (let step = 0; step < 600; step++) {
    const op = int(100);
    if (op < 35) {
      const k = randKey();
      const v = randValue();
      await db.put(k, v);
      model.set(hex(k), v);
    } else if (op < 45) {
      const k = randKey();
      await db.del(k);
      model.delete(hex(k));
    } else if (op < 60) {
      const ops = Array.from({ length: 1 + int(20) }, () =>
        rand() < 0.8 ? { type: 'put' as const, key: randKey(), value: randValue() } : { type: 'del' as const, key: randKey() },
      );
      await db.batch(ops);
      for (const o of ops) {
        if (o.type === 'put') model.set(hex(o.key), o.value);
        else model.delete(hex(o.key));
      }
    } else if (op < 72) {
      const k = randKey();
      assert.deepEqual(db.getSync(k), model.get(hex(k)), `step ${step}: get ${hex(k)}`);
    } else if (op < 84) {
      // An iterator with a range, created before a write it must not see (implicit snapshot), then a seek.
      const r = randRange();
      const expected = rangeModel(sortedModel(), r);
      const it = db.iterator(r);
      const k2 = randKey();
      const v2 = randValue();
      await db.put(k2, v2);
      model.set(hex(k2), v2);
      const first = await it.nextv(1 + int(5));
      assert.deepEqual(first, expected.slice(0, first.length), `step ${step}: iterator head`);
      const target = randKey();
      it.seek(target);
      const rest = await it.all();
      const cmpTarget = (k: Uint8Array): boolean =>
        r.reverse ? compareBytes(k, target) <= 0 : compareBytes(k, target) >= 0;
      // abstract-level: a seek target outside the iterator's range ends it.
      const targetInRange = rangeModel([[target, target]], r).length === 1;
      assert.deepEqual(
        rest,
        targetInRange ? expected.filter(([k]) => cmpTarget(k)) : [],
        `step ${step}: after seek ${hex(target)}`,
      );
    } else if (op < 90) {
      const snap = db.snapshot();
      const before = sortedModel();
      const k = randKey();
      const v = randValue();
      await db.put(k, v);
      model.set(hex(k), v);
      assert.deepEqual(await db.iterator({ snapshot: snap }).all(), before, `step ${step}: snapshot iterator`);
      assert.deepEqual(
        await db.get(k, { snapshot: snap }),
        before.find(([bk]) => compareBytes(bk, k) === 0)?.[1],
        `step ${step}: snapshot get`,
      );
      await snap.close();
    } else if (op < 95) {
      const r = randRange();
      const limit = rand() < 0.5 ? -1 : int(10);
      const victims = rangeModel(sortedModel(), r).slice(0, limit < 0 ? undefined : limit);
      await db.clear({ ...r, limit });
      for (const [k] of victims) model.delete(hex(k));
    } else {
      await db.close();
      db = new HearthLevel<Uint8Array, Uint8Array>('r', options);
      await db.open(); // getSync() does not wait for a deferred open
    }
    if (step % 100 === 99) {
      assert.deepEqual(await db.iterator().all(), sortedModel(), `step ${step}: full scan`);
    }
  }
  assert.deepEqual(await db.iterator().all(), sortedModel(), 'final full scan');
  assert.deepEqual(
    (await db.keys({ reverse: true }).all()).map((k) => td.decode(k)),
    sortedModel()
      .reverse()
      .map(([k]) => td.decode(k)),
  );
  await db.close();
}

test('non-Uint8Array views are stored by their bytes; flush() checks the status', async () => {
  const db = new HearthLevel<ArrayBufferView, ArrayBufferView>('v', {
    fs: new MemoryFileSystem(),
    keyEncoding: 'view',
    valueEncoding: 'view',
  });
  const bytes = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  // A DataView and an Int16Array over the middle 4 bytes: stored as those bytes, read back as Uint8Array.
  await db.put(new DataView(bytes.buffer, 1, 4), new Int16Array(bytes.buffer, 2, 2));
  assert.deepEqual(await db.get(Uint8Array.from([2, 3, 4, 5])), Uint8Array.from([3, 4, 5, 6]));
  assert.deepEqual(await db.keys().all(), [Uint8Array.from([2, 3, 4, 5])]);
  await db.flush();
  await db.close();
  await assert.rejects(db.flush(), (e: { code?: string }) => e.code === 'LEVEL_DATABASE_NOT_OPEN');
});
