/**
 * Runs in a dedicated worker (bundled by the harness): the FileSystem compliance suite against OpfsFileSystem
 * (both rename strategies) and MemoryFileSystem (the control), then the OPFS-specific cases. Posts one
 * CaseResult per case.
 */
import { MemoryFileSystem, OpfsFileSystem, OPFS_RENAME_JOURNAL } from '@hearth/io';
import type { FileSystem } from '@hearth/io';
import { assert, casesFor } from '../../packages/io/test/compliance.js';
import type { ComplianceTarget } from '../../packages/io/test/compliance.js';
import { main, runCase } from './worker-kit.js';
import { OPFS_EXTRA_CASES } from './io-opfs.shared.js';

// Raw OPFS, for setting up states the API cannot make (an interrupted journaled rename).
interface RawDir {
  getDirectoryHandle(name: string, o?: { create?: boolean }): Promise<RawDir>;
  getFileHandle(name: string, o?: { create?: boolean }): Promise<RawFile>;
}
interface RawFile {
  createSyncAccessHandle(): Promise<{ write(b: Uint8Array, o: { at: number }): number; truncate(n: number): void; flush(): void; close(): void }>;
}
async function rawWrite(root: string, name: string, data: Uint8Array): Promise<void> {
  const top = (await navigator.storage.getDirectory()) as unknown as RawDir;
  const dir = await top.getDirectoryHandle(root, { create: true });
  const h = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
  h.truncate(0);
  h.write(data, { at: 0 });
  h.flush();
  h.close();
}

const enc = new TextEncoder();
async function read(fs: FileSystem, path: string): Promise<number[]> {
  const h = await fs.open(path);
  try {
    return [...h.read(0, h.size())];
  } finally {
    await h.close();
  }
}

main(async () => {
  await OpfsFileSystem.destroy('hearth-test');
  let n = 0;
  for (const strategy of ['move', 'journal'] as const) {
    const target: ComplianceTarget = {
      create: () => OpfsFileSystem.open(`hearth-test/compliance/${strategy}-${n++}`, { renameStrategy: strategy }),
      reopen: (fs) => OpfsFileSystem.open((fs as OpfsFileSystem).rootName, { renameStrategy: strategy }),
    };
    for (const c of casesFor({ supports: { persistent: true, atomicRename: true } })) {
      await runCase(`opfs(${strategy}): ${c.name}`, () => c.run(target));
    }
  }
  const memory: ComplianceTarget = { create: async () => new MemoryFileSystem() };
  for (const c of casesFor(new MemoryFileSystem())) await runCase(`memory: ${c.name}`, () => c.run(memory));

  const extra: Record<(typeof OPFS_EXTRA_CASES)[number], () => Promise<void>> = {
    'opfs: a second sync access handle on an open file is HEARTH_LOCKED': async () => {
      const fs = await OpfsFileSystem.open('hearth-test/locked');
      const h = await fs.open('a', { create: true });
      await assert.rejects(() => fs.open('a'), 'HEARTH_LOCKED', 'second open');
      await assert.rejects(() => fs.open('a', { create: true, truncate: true }), 'HEARTH_LOCKED', 'second open+truncate');
      h.write(0, Uint8Array.of(1));
      await h.close();
      const g = await fs.open('a');
      assert.bytes(g.read(0, 10), [1], 'opens after close; a failed truncate-open truncated nothing');
      await g.close();
    },
    'opfs: a second instance over the same root gets HEARTH_LOCKED too': async () => {
      const a = await OpfsFileSystem.open('hearth-test/locked2');
      const b = await OpfsFileSystem.open('hearth-test/locked2');
      const h = await a.open('f', { create: true });
      await assert.rejects(() => b.open('f'), 'HEARTH_LOCKED', 'other instance');
      await h.close();
      await (await b.open('f')).close();
    },
    'opfs: renaming or removing an open file is HEARTH_LOCKED': async () => {
      for (const strategy of ['move', 'journal'] as const) {
        const fs = await OpfsFileSystem.open(`hearth-test/locked3-${strategy}`, { renameStrategy: strategy });
        const h = await fs.open('a', { create: true });
        await assert.rejects(() => fs.rename('a', 'b'), 'HEARTH_LOCKED', `${strategy}: rename open source`);
        await assert.rejects(() => fs.remove('a'), 'HEARTH_LOCKED', `${strategy}: remove open file`);
        await h.close();
        assert.list(await fs.list(''), ['a'], `${strategy}: nothing changed`);
      }
    },
    'opfs: auto strategy uses move() where it exists': async () => {
      const fs = await OpfsFileSystem.open('hearth-test/auto');
      assert.equal(typeof (FileSystemFileHandle.prototype as unknown as { move?: unknown }).move, 'function', 'Chromium has move()');
      assert.equal(fs.renameStrategy, 'move', 'strategy');
      assert.equal(fs.name, 'opfs', 'name');
      assert.equal(fs.supports.persistent, true, 'persistent');
    },
    'opfs: the journal name is reserved and hidden': async () => {
      const fs = await OpfsFileSystem.open('hearth-test/reserved', { renameStrategy: 'journal' });
      await assert.throwsType(() => fs.open(OPFS_RENAME_JOURNAL, { create: true }), RangeError, 'open');
      await assert.throwsType(() => fs.rename('a', OPFS_RENAME_JOURNAL), RangeError, 'rename');
      await rawWrite('hearth-test-reserved', OPFS_RENAME_JOURNAL, enc.encode('{"v":1,"from":"a"'));
      const torn = await OpfsFileSystem.open('hearth-test-reserved', { renameStrategy: 'journal' });
      assert.list(await torn.list(''), [], 'a torn journal left at the root is cleaned, never listed');
      await OpfsFileSystem.destroy('hearth-test-reserved');
      const h = await fs.open('d', { create: true });
      await h.close();
      assert.list(await fs.list(''), ['d'], 'listing');
      assert.equal(await fs.exists(OPFS_RENAME_JOURNAL), false, 'exists');
    },
    'opfs journal: open finishes a rename interrupted before the source was removed': async () => {
      const root = 'hearth-test-recover-1';
      await OpfsFileSystem.destroy(root);
      await rawWrite(root, 'MANIFEST', enc.encode('old-manifest'));
      await rawWrite(root, 'MANIFEST.tmp', enc.encode('new'));
      await rawWrite(root, OPFS_RENAME_JOURNAL, enc.encode(JSON.stringify({ v: 1, from: 'MANIFEST.tmp', to: 'MANIFEST' })));
      // Crash during the copy: the target holds part of the new content over the old.
      await rawWrite(root, 'MANIFEST', enc.encode('neold-manifest'));
      const fs = await OpfsFileSystem.open(root, { renameStrategy: 'journal' });
      assert.list(await fs.list(''), ['MANIFEST'], 'source removed, journal gone');
      assert.bytes(Uint8Array.from(await read(fs, 'MANIFEST')), enc.encode('new'), 'target holds the new content');
      await OpfsFileSystem.destroy(root);
    },
    'opfs journal: open finishes a rename interrupted after the source was removed': async () => {
      const root = 'hearth-test-recover-2';
      await OpfsFileSystem.destroy(root);
      await rawWrite(root, 'CURRENT', enc.encode('new'));
      await rawWrite(root, OPFS_RENAME_JOURNAL, enc.encode(JSON.stringify({ v: 1, from: 'CURRENT.tmp', to: 'CURRENT' })));
      const fs = await OpfsFileSystem.open(root, { renameStrategy: 'move' }); // recovery runs whatever the strategy
      assert.list(await fs.list(''), ['CURRENT'], 'journal gone');
      assert.bytes(Uint8Array.from(await read(fs, 'CURRENT')), enc.encode('new'), 'target kept');
      const top = (await navigator.storage.getDirectory()) as unknown as RawDir;
      const dir = await top.getDirectoryHandle(root);
      let journalGone = false;
      try {
        await dir.getFileHandle(OPFS_RENAME_JOURNAL);
      } catch (e) {
        journalGone = (e as Error).name === 'NotFoundError';
      }
      assert.ok(journalGone, 'journal file removed from OPFS');
      await OpfsFileSystem.destroy(root);
    },
    'opfs journal: a torn journal is discarded and nothing changes': async () => {
      const root = 'hearth-test-recover-3';
      await OpfsFileSystem.destroy(root);
      await rawWrite(root, 'a', enc.encode('A'));
      await rawWrite(root, 'b', enc.encode('B'));
      const whole = JSON.stringify({ v: 1, from: 'a', to: 'b' });
      await rawWrite(root, OPFS_RENAME_JOURNAL, enc.encode(whole.slice(0, whole.length - 3)));
      const fs = await OpfsFileSystem.open(root, { renameStrategy: 'journal' });
      assert.list(await fs.list(''), ['a', 'b'], 'both kept');
      assert.bytes(Uint8Array.from(await read(fs, 'b')), enc.encode('B'), 'target untouched');
      assert.equal(await fs.exists(OPFS_RENAME_JOURNAL), false, 'journal gone');
      const again = await OpfsFileSystem.open(root, { renameStrategy: 'journal' });
      assert.list(await again.list(''), ['a', 'b'], 'stable on a second open');
      await OpfsFileSystem.destroy(root);
    },
    'opfs: destroy removes the root and is idempotent': async () => {
      const fs = await OpfsFileSystem.open('hearth-test-destroy/inner');
      await (await fs.open('f', { create: true })).close();
      await OpfsFileSystem.destroy('hearth-test-destroy/inner');
      await OpfsFileSystem.destroy('hearth-test-destroy/inner');
      const parent = await OpfsFileSystem.open('hearth-test-destroy');
      assert.list(await parent.list(''), [], 'inner root gone');
      await OpfsFileSystem.destroy('hearth-test-destroy');
      await assert.throwsType(() => OpfsFileSystem.open('a//b'), RangeError, 'malformed root');
      const blocker = await OpfsFileSystem.open('hearth-test-destroy');
      await (await blocker.open('file', { create: true })).close();
      await assert.rejects(() => OpfsFileSystem.open('hearth-test-destroy/file'), 'HEARTH_EXISTS', 'root over a file');
      await OpfsFileSystem.destroy('hearth-test-destroy');
    },
    'opfs: the size a handle keeps matches the file through random writes, appends, truncates and reads': async () => {
      // OpfsHandle asks getSize() once and then keeps the size itself (opfs.ts, invariant 4). A seeded random
      // sequence of operations, mirrored on MemoryFileSystem (the model), checks size(), read(), readInto() and
      // append()'s offset after every step, and the size a fresh handle sees after each reopen.
      for (const seed of [1, 2, 3, 4]) {
        let a = seed >>> 0;
        const rnd = (n: number): number => {
          a = (a + 0x6d2b79f5) >>> 0;
          let t = a;
          t = Math.imul(t ^ (t >>> 15), t | 1);
          t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
          return (((t ^ (t >>> 14)) >>> 0) % n);
        };
        const fs = await OpfsFileSystem.open(`hearth-test/size-${seed}`);
        const model = new MemoryFileSystem();
        let h = await fs.open('f', { create: true, truncate: true });
        let m = await model.open('f', { create: true, truncate: true });
        for (let step = 0; step < 300; step++) {
          const label = `seed ${seed} step ${step}`;
          const op = rnd(7);
          const len = rnd(4) === 0 ? rnd(70_000) : rnd(600);
          const data = Uint8Array.from({ length: len }, () => rnd(256));
          const at = rnd(m.size() + 2000);
          if (op === 0) {
            h.write(at, data);
            m.write(at, data);
          } else if (op === 1) {
            assert.equal(h.append(data), m.append(data), `${label}: append offset`);
          } else if (op === 2) {
            const size = rnd(4) === 0 ? 0 : rnd(m.size() + 5000);
            h.truncate(size);
            m.truncate(size);
          } else if (op === 3) {
            assert.bytes(h.read(at, len), m.read(at, len), `${label}: read(${at}, ${len})`);
          } else if (op === 4) {
            const t1 = new Uint8Array(len);
            const t2 = new Uint8Array(len);
            assert.equal(h.readInto!(at, t1), m.readInto!(at, t2), `${label}: readInto count`);
            assert.bytes(t1, t2, `${label}: readInto bytes`);
          } else if (op === 5) {
            await h.sync();
          } else {
            await h.close();
            h = await fs.open('f');
          }
          assert.equal(h.size(), m.size(), `${label}: size after op ${op}`);
        }
        assert.bytes(h.read(0, h.size()), m.read(0, m.size()), `seed ${seed}: final content`);
        await h.close();
        await m.close();
        const again = await fs.open('f');
        assert.equal(again.size(), (await model.open('f')).size(), `seed ${seed}: size after reopen`);
        await again.close();
      }
    },
  };
  for (const name of OPFS_EXTRA_CASES) await runCase(name, extra[name]);
  await OpfsFileSystem.destroy('hearth-test');
});
