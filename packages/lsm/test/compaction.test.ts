import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { openLsm, ucsParameters, type Lsm } from '@hearth/lsm';
import { text, utf8 } from './_util.js';

const entries = (lsm: Lsm) => lsm.stats().tables.reduce((n, t) => n + t.entries, 0);
const runs = (lsm: Lsm) => new Set(lsm.stats().tables.map((t) => t.run)).size;

test('compaction: a tombstone and the value it hides are kept while a snapshot can see the value, dropped after release', async () => {
  const lsm = await openLsm({ fs: new MemoryFileSystem(), dir: 'db', autoCompact: false });
  await lsm.put(utf8('a'), utf8('1'));
  await lsm.put(utf8('k'), utf8('old'));
  await lsm.flush();
  const snap = lsm.snapshot();
  await lsm.delete(utf8('k'));
  await lsm.flush();
  assert.equal(runs(lsm), 2);
  await lsm.compact({ full: true });
  // One run; it still holds a, k's value (the snapshot reads it) and k's tombstone (the latest state needs it).
  assert.equal(runs(lsm), 1);
  assert.equal(entries(lsm), 3);
  assert.equal(lsm.get(utf8('k')), undefined);
  assert.equal(text(snap.get(utf8('k'))), 'old');
  assert.deepEqual([...snap.iterate()].map((e) => text(e.key)), ['a', 'k']);
  assert.deepEqual([...lsm.iterate()].map((e) => text(e.key)), ['a']);
  snap.release();
  assert.throws(() => snap.get(utf8('k')), { code: 'HEARTH_CLOSED' });
  await lsm.compact({ full: true });
  // Nothing can see k any more: both versions are gone from the bottommost run.
  assert.equal(entries(lsm), 1);
  assert.equal(lsm.get(utf8('k')), undefined);
  await lsm.close();
});

test('compaction: overwritten versions are dropped unless a snapshot sees them', async () => {
  const lsm = await openLsm({ fs: new MemoryFileSystem(), dir: 'db', autoCompact: false });
  await lsm.put(utf8('k'), utf8('v1'));
  await lsm.flush();
  const s1 = lsm.snapshot();
  await lsm.put(utf8('k'), utf8('v2'));
  await lsm.flush();
  await lsm.put(utf8('k'), utf8('v3'));
  await lsm.flush();
  await lsm.compact({ full: true });
  assert.equal(entries(lsm), 2); // v3 (latest) and v1 (s1); v2 is visible to no one
  assert.equal(text(s1.get(utf8('k'))), 'v1');
  assert.equal(text(lsm.get(utf8('k'))), 'v3');
  s1.release();
  await lsm.compact({ full: true });
  assert.equal(entries(lsm), 1);
  await lsm.close();
});

test('compaction: a tombstone above an older run holding its key is kept (not bottommost)', async () => {
  // W = 0: threshold 2, fan factor 2, so the two newest small runs merge while the big old run stays.
  const lsm = await openLsm({ fs: new MemoryFileSystem(), dir: 'db', autoCompact: false, memtableBytes: 1024, compactionW: 0 });
  for (let i = 0; i < 400; i++) await lsm.put(utf8(`k${String(i).padStart(3, '0')}`), new Uint8Array(40));
  await lsm.flush();
  await lsm.compact({ full: true });
  await lsm.delete(utf8('k100'));
  await lsm.flush();
  await lsm.put(utf8('zz'), utf8('x'));
  await lsm.flush();
  const before = runs(lsm);
  assert.equal(before, 3);
  await lsm.compact();
  assert.equal(runs(lsm), 2, 'the two small runs merged, the big run did not');
  assert.equal(lsm.get(utf8('k100')), undefined, 'the delete still shadows the old value');
  const small = lsm.stats().tables.filter((t) => t.run === Math.max(...lsm.stats().tables.map((x) => x.run)));
  assert.equal(small.reduce((n, t) => n + t.entries, 0), 2, 'merged run holds the tombstone and zz');
  await lsm.close();
});

test('compaction: UCS parameters for W', () => {
  assert.deepEqual(ucsParameters(-4), { fanout: 6, threshold: 2 });
  assert.deepEqual(ucsParameters(0), { fanout: 2, threshold: 2 });
  assert.deepEqual(ucsParameters(4), { fanout: 6, threshold: 6 });
});

test('compaction: W shapes the tree: leveled (W < 0) keeps few runs and rewrites more, tiered (W > 0) the reverse', async () => {
  const shape = async (w: number) => {
    const lsm = await openLsm({ fs: new MemoryFileSystem(), dir: 'db', memtableBytes: 2048, tableBytes: 4096, compactionW: w });
    for (let i = 0; i < 3000; i++) {
      const k = (i * 7919) % 3000;
      await lsm.put(utf8(`key-${String(k).padStart(5, '0')}`), new Uint8Array(60).fill(i & 255));
    }
    await lsm.flush();
    await lsm.compact(); // waits for background work, runs what UCS still asks for
    const s = lsm.stats();
    const result = { runs: runs(lsm), tables: s.tables.length, rewritten: s.bytesWrittenByCompaction, flushed: s.bytesWrittenByFlush };
    // Same contents either way.
    assert.equal([...lsm.iterate()].length, 3000);
    await lsm.close();
    return result;
  };
  const leveled = await shape(-8);
  const tiered = await shape(8);
  assert.ok(leveled.runs < tiered.runs, `runs: leveled ${leveled.runs}, tiered ${tiered.runs}`);
  assert.ok(leveled.runs <= 3, `leveled keeps at most one run per level: ${leveled.runs}`);
  assert.ok(leveled.rewritten > 2 * tiered.rewritten, `compaction bytes: leveled ${leveled.rewritten}, tiered ${tiered.rewritten}`);
});
