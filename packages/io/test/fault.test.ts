import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, HearthError, InjectedCrashError, MemoryFileSystem } from '@hearth/io';
import type { FileSystem, FaultOp } from '@hearth/io';
import { runCompliance } from './_compliance-node.js';

runCompliance('fault(memory)', { create: async () => new FaultFileSystem(new MemoryFileSystem()) }, new MemoryFileSystem());

const b = (...xs: number[]) => Uint8Array.from(xs);
const code = (e: unknown) => (e instanceof HearthError ? e.code : undefined);

async function read(fs: FileSystem, path: string): Promise<number[]> {
  const h = await fs.open(path);
  try {
    return [...h.read(0, h.size())];
  } finally {
    await h.close();
  }
}

/**
 * A small "write new file, sync, rename over the old one" workload (the manifest pattern), plus an appended log.
 * Operations: mkdir, create, write, write, sync, create, write, sync, rename, create(log), write, sync, write.
 */
async function workload(fs: FileSystem): Promise<void> {
  await fs.mkdir('db');
  const m = await fs.open('db/MANIFEST', { create: true });
  m.write(0, b(1, 1));
  m.append(b(1));
  await m.sync();
  await m.close();
  const t = await fs.open('db/MANIFEST.tmp', { create: true });
  t.write(0, b(2, 2, 2, 2));
  await t.sync();
  await t.close();
  await fs.rename('db/MANIFEST.tmp', 'db/MANIFEST');
  const log = await fs.open('db/LOG', { create: true });
  log.append(b(7, 7, 7));
  await log.sync();
  log.append(b(8, 8, 8, 8));
  await log.close();
}

test('fault: counts every operation kind and reports them in order', async () => {
  const seen: FaultOp[] = [];
  const fs = new FaultFileSystem(new MemoryFileSystem(), { onOp: (op) => seen.push(op) });
  await workload(fs);
  assert.deepEqual(
    seen.map((o) => `${o.index}:${o.kind}:${o.path}`),
    [
      '1:mkdir:db', '2:create:db/MANIFEST', '3:write:db/MANIFEST', '4:write:db/MANIFEST', '5:sync:db/MANIFEST',
      '6:create:db/MANIFEST.tmp', '7:write:db/MANIFEST.tmp', '8:sync:db/MANIFEST.tmp', '9:rename:db/MANIFEST.tmp',
      '10:create:db/LOG', '11:write:db/LOG', '12:sync:db/LOG', '13:write:db/LOG',
    ],
  );
  assert.equal(seen[8].to, 'db/MANIFEST');
  assert.equal(fs.opCount(), 13);
  assert.equal(fs.opCount(['write']), 5);
  assert.equal(fs.opCount(['sync']), 3);
  // Reads, lists, failed calls and no-op calls are not operations.
  await fs.list('db');
  await fs.exists('db/LOG');
  await fs.mkdir('db');
  await assert.rejects(fs.open('nope'));
  await assert.rejects(fs.rename('nope', 'x'));
  assert.equal(fs.opCount(), 13);
});

test('fault: without a crash, afterCrash("lose") keeps synced bytes and drops unsynced ones', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  await workload(fs);
  const lost = await fs.afterCrash({ unsynced: 'lose' });
  assert.deepEqual(await lost.list('db'), ['LOG', 'MANIFEST']);
  assert.deepEqual(await read(lost, 'db/MANIFEST'), [2, 2, 2, 2], 'the renamed, synced file');
  assert.deepEqual(await read(lost, 'db/LOG'), [7, 7, 7], 'the unsynced append is gone');
  const kept = await fs.afterCrash({ unsynced: 'keep' });
  assert.deepEqual(await read(kept, 'db/LOG'), [7, 7, 7, 8, 8, 8, 8], 'keep: the unsynced append landed');
  // Once crashed, every call throws.
  await assert.rejects(fs.list('db'), InjectedCrashError);
  await assert.rejects(fs.open('db/LOG'), InjectedCrashError);
});

test('fault: every crash point of the workload leaves a state the contract allows', async () => {
  const dry = new FaultFileSystem(new MemoryFileSystem());
  await workload(dry);
  const total = dry.opCount();
  for (let n = 1; n <= total; n++) {
    for (const mode of ['lose', 'keep'] as const) {
      const fs = new FaultFileSystem(new MemoryFileSystem());
      fs.crashAt(n);
      await assert.rejects(workload(fs), InjectedCrashError, `crash at ${n} must surface`);
      assert.equal(fs.crashed, true);
      const after = await fs.afterCrash({ unsynced: mode });
      const names = (await after.exists('db')) ? await after.list('db') : null;
      const label = `crash at op ${n} (${mode})`;
      // Before op 1 (mkdir) nothing exists; the manifest appears at op 2; the rename is op 9.
      if (n === 1) assert.equal(names, null, label);
      else if (n <= 9) {
        assert.ok(names!.includes('MANIFEST') || n === 2, label);
        if (n > 2) {
          const m = await read(after, 'db/MANIFEST');
          // The old manifest: durable once synced (op 5); before that, lose mode has nothing, keep has a prefix.
          if (n > 5) assert.deepEqual(m, [1, 1, 1], label);
          else if (mode === 'lose') assert.deepEqual(m, [], label);
          else assert.deepEqual(m, [1, 1, 1].slice(0, n === 3 ? 0 : n === 4 ? 2 : 3), label);
        }
      } else {
        assert.deepEqual(await read(after, 'db/MANIFEST'), [2, 2, 2, 2], `${label}: rename is durable`);
        assert.equal(names!.includes('MANIFEST.tmp'), false, label);
        if (n >= 11) {
          const log = await read(after, 'db/LOG');
          const expected = n > 12 ? [7, 7, 7] : mode === 'keep' && n === 12 ? [7, 7, 7] : [];
          assert.deepEqual(log, expected, label);
        }
      }
    }
  }
});

test('fault: a crashing write can be torn at a chosen byte', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const h = await fs.open('log', { create: true });
  h.append(b(1, 2));
  await h.sync();
  fs.crashAt({ at: 1, kinds: ['write'], tear: 3 });
  assert.throws(() => h.append(b(3, 4, 5, 6, 7)), (e) => e instanceof InjectedCrashError && code(e) === 'HEARTH_INJECTED_CRASH');
  assert.throws(() => h.read(0, 1), InjectedCrashError);
  await assert.rejects(h.close(), InjectedCrashError);
  assert.deepEqual(await read(await fs.afterCrash({ unsynced: 'keep' }), 'log'), [1, 2, 3, 4, 5], 'torn prefix landed');
  assert.deepEqual(await read(await fs.afterCrash({ unsynced: 'lose' }), 'log'), [1, 2], 'or is lost');
});

test('fault: crashAt counts only the given kinds, from the moment it is armed', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const h = await fs.open('a', { create: true });
  h.write(0, b(1));
  await h.sync();
  fs.crashAt({ at: 2, kinds: ['sync'] });
  h.write(1, b(2));
  await h.sync(); // sync 1 after arming
  h.write(2, b(3));
  await assert.rejects(h.sync(), InjectedCrashError); // sync 2: crashes, does not happen
  assert.deepEqual(await read(await fs.afterCrash({ unsynced: 'lose' }), 'a'), [1, 2]);
  assert.throws(() => fs.crashAt(0), RangeError);
  assert.throws(() => fs.crashAt({ at: 1, tear: -1 }), RangeError);
});

test('fault: a crash at rename keeps the old target; unsynced data under a durable rename can be lost', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  for (const [name, data] of [['CURRENT', [1]], ['CURRENT.tmp', [2]]] as const) {
    const h = await fs.open(name, { create: true });
    h.write(0, Uint8Array.from(data));
    if (name === 'CURRENT') await h.sync(); // the new one is NOT synced: the classic bug
    await h.close();
  }
  await fs.rename('CURRENT.tmp', 'CURRENT');
  const after = await fs.afterCrash({ unsynced: 'lose' });
  assert.deepEqual(await after.list(''), ['CURRENT']);
  assert.deepEqual(await read(after, 'CURRENT'), [], 'renamed, but its unsynced content is gone');

  const fs2 = new FaultFileSystem(new MemoryFileSystem());
  const h = await fs2.open('CURRENT', { create: true });
  h.write(0, b(1));
  await h.sync();
  await h.close();
  fs2.crashAt({ at: 1, kinds: ['rename'] });
  const t = await fs2.open('CURRENT.tmp', { create: true });
  t.write(0, b(2));
  await t.sync();
  await t.close();
  await assert.rejects(fs2.rename('CURRENT.tmp', 'CURRENT'), InjectedCrashError);
  const after2 = await fs2.afterCrash({ unsynced: 'lose' });
  assert.deepEqual(await read(after2, 'CURRENT'), [1]);
  assert.deepEqual(await read(after2, 'CURRENT.tmp'), [2]);
});

test('fault: random mode is seeded (same seed, same survivors) and stays within the model', async () => {
  async function run(seed: number): Promise<number[][]> {
    const fs = new FaultFileSystem(new MemoryFileSystem(), { seed });
    const out: number[][] = [];
    for (let f = 0; f < 8; f++) {
      const h = await fs.open(`f${f}`, { create: true });
      h.append(b(1, 1));
      await h.sync();
      for (let i = 2; i < 6; i++) h.append(Uint8Array.from({ length: 3 }, () => i));
      await h.close();
    }
    const after = await fs.afterCrash();
    for (let f = 0; f < 8; f++) out.push(await read(after, `f${f}`));
    return out;
  }
  const seed = 424242;
  const a = await run(seed);
  assert.deepEqual(await run(seed), a, `seed ${seed} must reproduce`);
  const full = [1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5];
  for (const content of a) {
    assert.ok(content.length >= 2, `synced prefix survives (seed ${seed})`);
    assert.deepEqual(content, full.slice(0, content.length), `a prefix of the writes (seed ${seed})`);
  }
  const lengths = new Set(a.map((c) => c.length));
  assert.ok(lengths.size > 1, `random mode varies across files (seed ${seed}): ${[...lengths]}`);
});

test('fault: flipBit corrupts stored bytes, visible to readers and after a crash', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const h = await fs.open('sst', { create: true });
  h.write(0, b(0, 0, 0, 0));
  await h.sync();
  await h.close();
  await fs.flipBit('sst', 2, 7);
  await fs.flipBit('sst', 0, 0);
  assert.deepEqual(await read(fs, 'sst'), [1, 0, 128, 0]);
  assert.deepEqual([...fs.durableContent('sst')!], [1, 0, 128, 0]);
  await assert.rejects(fs.flipBit('sst', 4, 0), RangeError);
  await assert.rejects(fs.flipBit('sst', 0, 8), RangeError);
  await assert.rejects(fs.flipBit('nope', 0, 0), (e) => code(e) === 'HEARTH_NOT_FOUND');
  // A pending overwrite hides the flip in the current content, not in the durable one.
  const g = await fs.open('sst');
  g.write(0, b(9));
  await fs.flipBit('sst', 0, 1);
  assert.deepEqual([...g.read(0, 4)], [9, 0, 128, 0]);
  await g.close();
  assert.deepEqual(await read(await fs.afterCrash({ unsynced: 'lose' }), 'sst'), [3, 0, 128, 0]);
});

test('fault: the quota fails writes with HEARTH_QUOTA_EXCEEDED after N bytes, landing what fits', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  fs.setQuota(10);
  const a = await fs.open('a', { create: true });
  a.write(0, b(1, 1, 1, 1, 1, 1));
  await a.sync();
  const c = await fs.open('c', { create: true });
  assert.throws(() => c.append(b(2, 2, 2, 2, 2, 2)), (e) => code(e) === 'HEARTH_QUOTA_EXCEEDED');
  assert.deepEqual([...c.read(0, 10)], [2, 2, 2, 2], 'the prefix that fits landed');
  a.write(0, b(3, 3, 3)); // overwriting does not grow: allowed
  assert.throws(() => a.truncate(7), (e) => code(e) === 'HEARTH_QUOTA_EXCEEDED');
  assert.equal(a.size(), 6, 'a failed truncate changes nothing');
  c.truncate(0);
  a.append(b(4, 4)); // room again
  fs.setQuota(undefined);
  c.append(new Uint8Array(100));
  await a.sync();
  await a.close();
  await c.close();
  assert.deepEqual(await read(await fs.afterCrash({ unsynced: 'lose' }), 'a'), [3, 3, 3, 1, 1, 1, 4, 4]);
});

test('fault: files already in the inner file system are durable', async () => {
  const inner = new MemoryFileSystem();
  await inner.mkdir('d');
  const h = await inner.open('d/x', { create: true });
  h.write(0, b(5, 6));
  await h.close();
  const fs = new FaultFileSystem(inner);
  const after = await fs.afterCrash({ unsynced: 'lose' });
  assert.deepEqual(await read(after, 'd/x'), [5, 6]);
  // And a crashed state can be wrapped again to crash recovery itself.
  const again = new FaultFileSystem(after);
  assert.deepEqual(await read(again, 'd/x'), [5, 6]);
  assert.equal(again.name, 'fault(memory)');
});

test('fault: truncate on open is pending until sync; remove is durable', async () => {
  const fs = new FaultFileSystem(new MemoryFileSystem());
  const h = await fs.open('a', { create: true });
  h.write(0, b(1, 2, 3));
  await h.sync();
  await h.close();
  const t = await fs.open('a', { truncate: true });
  await t.close();
  const x = await fs.open('x', { create: true });
  await x.close();
  await fs.remove('x');
  const after = await fs.afterCrash({ unsynced: 'lose' });
  assert.deepEqual(await read(after, 'a'), [1, 2, 3]);
  assert.deepEqual(await after.list(''), ['a']);
});
