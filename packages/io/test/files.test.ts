/**
 * `writeFileAtomic` / `readFileIfExists`: whole-file replacement that a crash at any operation leaves holding the
 * old or the new content (never a mix, never nothing once a first version was written), and whole-file reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, MemoryFileSystem, countHandles, openIfExists, readFileIfExists, writeFileAtomic, type FileSystem } from '../src/index.js';

const OLD = new TextEncoder().encode('the old content');
const NEW = new TextEncoder().encode('the new, longer content of the file');

test('readFileIfExists: undefined without a file, the whole content with one; writeFileAtomic replaces it', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('d');
  assert.equal(await readFileIfExists(fs, 'd/f'), undefined);
  await writeFileAtomic(fs, 'd/f', NEW);
  assert.deepEqual(await readFileIfExists(fs, 'd/f'), NEW);
  await writeFileAtomic(fs, 'd/f', OLD);
  assert.deepEqual(await readFileIfExists(fs, 'd/f'), OLD, 'a shorter content leaves no tail of the longer one');
  assert.deepEqual(await fs.list('d'), ['f'], 'no temporary file left after a write');
});

test('openIfExists: undefined without a file (nothing created), an open handle with one; other errors propagate', async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdir('d');
  assert.equal(await openIfExists(fs, 'd/f'), undefined);
  assert.equal(await fs.exists('d/f'), false, 'not created');
  await writeFileAtomic(fs, 'd/f', NEW);
  const h = await openIfExists(fs, 'd/f');
  assert.ok(h !== undefined);
  assert.deepEqual(h.read(0, h.size()), NEW);
  await h.close();
  await assert.rejects(openIfExists(fs, 'd'), (e: unknown) => (e as { code?: string }).code !== 'HEARTH_NOT_FOUND', 'a directory is not "absent"');
});

test('writeFileAtomic: a crash at any operation leaves the old or the new content (seeded)', async () => {
  const SEED = 7;
  async function workload(fs: FileSystem): Promise<void> {
    await fs.mkdir('d');
    await writeFileAtomic(fs, 'd/f', OLD);
    await writeFileAtomic(fs, 'd/f', NEW);
  }
  const probe = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED });
  await workload(probe);
  const ops = probe.opCount();
  assert.ok(ops > 6);
  assert.deepEqual(await readFileIfExists(probe, 'd/f'), NEW, 'without a crash: the new content');
  let sawOld = false;
  for (let at = 1; at <= ops; at++) {
    for (const mode of ['lose', 'keep', 'random'] as const) {
      const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: SEED + at });
      fs.crashAt({ at, tear: 'random' });
      let firstDone = false;
      try {
        await fs.mkdir('d');
        await writeFileAtomic(fs, 'd/f', OLD);
        firstDone = true;
        await writeFileAtomic(fs, 'd/f', NEW);
      } catch {
        /* the injected crash */
      }
      const after = await fs.afterCrash({ unsynced: mode });
      const got = (await after.exists('d')) ? await readFileIfExists(after, 'd/f') : undefined;
      const label = `crash at op ${at} (${mode}), seed ${SEED}`;
      if (got === undefined) assert.ok(!firstDone, `${label}: the file is gone after a completed write`);
      else if (Buffer.from(got).equals(Buffer.from(OLD))) sawOld = true;
      else if (!Buffer.from(got).equals(Buffer.from(NEW))) assert.fail(`${label}: the file holds neither version: ${JSON.stringify(new TextDecoder().decode(got))}`);
    }
  }
  // A crash point is an operation that does not happen: the last one is the second rename, so every crash during
  // the second write must leave the old content (the crash plan has no point after the last operation).
  assert.ok(sawOld, 'crash points during the second write leave the old content');
});

test('countHandles: counts handles opened through the view and not closed yet (a second close counts once)', async () => {
  const base = new MemoryFileSystem();
  await base.mkdir('d');
  const c = countHandles(base);
  assert.ok(c.fs instanceof MemoryFileSystem, 'still an instance of its class');
  const a = await c.fs.open('d/a', { create: true });
  const b = await c.fs.open('d/b', { create: true });
  assert.deepEqual([c.open, c.opened], [2, 2]);
  await a.close();
  await a.close();
  assert.deepEqual([c.open, c.opened], [1, 2]);
  await (await base.open('d/a')).close(); // not through the view: not counted
  assert.deepEqual([c.open, c.opened], [1, 2]);
  await b.close();
  assert.equal(c.open, 0);
  await assert.rejects(c.fs.open('d/missing'));
  assert.deepEqual([c.open, c.opened], [0, 2], 'a failed open counts nothing');
});
