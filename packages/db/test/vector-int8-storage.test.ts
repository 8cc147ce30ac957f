/**
 * int8 vector indexes in the Database keep only their codes in memory and read the f32 rows of rescored candidates
 * from their saved index file (docs/vector.md, "int8 quantisation"; `_vectors.ts` invariant 5). Checked on a file
 * system that, like OPFS and IndexedDB, refuses to rename or remove an open file: create, writes, periodic and
 * explicit saves (each a new generation, the old one removed), reopen (loaded), rebuild and drop all work, and the
 * answers equal exact search. Seeded: HEARTH_SEED (printed on failure).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IoError, IoErrorCode, MemoryFileSystem, type FileHandle, type FileSystem, type OpenOptions } from '@hearth/io';
import { keypairFromSecretKey } from '@hearth/log';
import { Database } from '@hearth/db';
import { clustered, exactNearest, recall } from './_vdata.js';

const SEED = Number(process.env.HEARTH_SEED ?? 4242);
const label = `seed ${SEED} (rerun with HEARTH_SEED=${SEED})`;
const KEYPAIR = keypairFromSecretKey(new Uint8Array(32).fill(3));
const DIM = 16;
const OPTS = { dimension: DIM, metric: 'cosine', quantization: 'int8', threshold: 300, efConstruction: 100 } as const;

/** Memory file system with OPFS's rule: an open file cannot be renamed, replaced or removed (`HEARTH_LOCKED`). */
class LockingFs implements FileSystem {
  readonly name = 'locking(memory)';
  readonly inner = new MemoryFileSystem();
  readonly supports = this.inner.supports;
  readonly opened = new Map<string, number>();
  async open(path: string, options?: OpenOptions): Promise<FileHandle> {
    const h = await this.inner.open(path, options);
    this.opened.set(path, (this.opened.get(path) ?? 0) + 1);
    let closed = false;
    const close = async (): Promise<void> => {
      if (!closed) {
        closed = true;
        const n = this.opened.get(path)! - 1;
        if (n === 0) this.opened.delete(path);
        else this.opened.set(path, n);
      }
      await h.close();
    };
    return new Proxy(h, { get: (t, k) => (k === 'close' ? close : typeof (t as never)[k] === 'function' ? ((t as never)[k] as (...a: unknown[]) => unknown).bind(t) : (t as never)[k]) });
  }
  private check(path: string): void {
    for (const p of this.opened.keys()) if (p === path || p.startsWith(path + '/')) throw new IoError(IoErrorCode.LOCKED, 'file is open', { path: p });
  }
  exists(p: string): Promise<boolean> {
    return this.inner.exists(p);
  }
  list(d: string): Promise<string[]> {
    return this.inner.list(d);
  }
  mkdir(d: string): Promise<void> {
    return this.inner.mkdir(d);
  }
  async rename(from: string, to: string): Promise<void> {
    this.check(from);
    this.check(to);
    await this.inner.rename(from, to);
  }
  async remove(p: string, o?: { recursive?: boolean }): Promise<void> {
    this.check(p);
    await this.inner.remove(p, o);
  }
}

const open = (fs: FileSystem) => Database.open({ fs, name: 'db', keypair: KEYPAIR });

async function putRange(db: Database, vecs: Float32Array[], from: number, to: number): Promise<void> {
  for (let i = from; i < to; i += 100) {
    await db.transaction((tx) => {
      for (let j = i; j < Math.min(to, i + 100); j++) tx.put('d', `k${j}`, { e: vecs[j], tag: j % 3 });
    });
  }
}

function meanRecall(db: Database, queries: Float32Array[], filter?: { op: 'eq'; path: string; value: number }): number {
  const docs = [...db.iterate('d')].filter(([, d]) => filter === undefined || d.tag === filter.value);
  let sum = 0;
  for (const q of queries) {
    sum += recall(exactNearest(docs, 'd', 'e', DIM, 'cosine', q, 10), db.nearest('d', 'e', q, { k: 10, ef: 100, ...(filter ? { filter } : {}) }));
  }
  return sum / queries.length;
}

test('int8 in the Database: codes in memory, rows read from the saved file; works where open files are locked', async () => {
  const fs = new LockingFs();
  const vecs = clustered(SEED, 2000, DIM);
  const queries = clustered(SEED + 1, 25, DIM);
  let db = await open(fs);
  await putRange(db, vecs, 0, 1200);
  await db.createVectorIndex('d', 'e', OPTS); // built, then saved: rows now read from its file
  let info = db.vectorIndexes()[0];
  assert.equal(info.kind, 'hnsw');
  const slots = info.size;
  assert.equal(info.memory.onStorage, slots * DIM * 4, 'every f32 row is on storage after the save');
  assert.equal(info.memory.vectors, slots * 4 + 256 * DIM * 4, 'no f32 row in memory: the slot map and read scratch');
  assert.ok(meanRecall(db, queries) >= 0.95, label);

  // Writes after the save: their rows are held in memory until the next save.
  await putRange(db, vecs, 1200, 1500);
  for (let i = 0; i < 100; i++) await db.patch('d', `k${i}`, { e: vecs[1500 + i] });
  await db.delete('d', 'k7');
  info = db.vectorIndexes()[0];
  assert.ok(info.memory.vectors >= 400 * DIM * 4, `new and updated rows in memory: ${info.memory.vectors}`);
  assert.ok(meanRecall(db, queries) >= 0.95, label);
  assert.ok(meanRecall(db, queries, { op: 'eq', path: 'tag', value: 1 }) >= 0.95, `filtered, ${label}`);
  for (let i = 0; i < 100; i += 9) {
    const [top] = db.nearest('d', 'e', vecs[1500 + i], { k: 1 });
    assert.equal(top.id, `k${i}`, 'an updated document is found at its new vector');
  }
  await db.flush(); // a new generation file; the old one is released and removed
  info = db.vectorIndexes()[0];
  assert.equal(info.memory.vectors, info.memory.onStorage / DIM / 4 * 4 + 256 * DIM * 4, 'the save moved the rows to the file');
  const files = (await fs.list('db/vectors')).filter((n) => n.endsWith('.hnsw'));
  assert.equal(files.length, 1, `one generation on disk: ${files}`);
  assert.ok(fs.opened.has(`db/vectors/${files[0]}`), 'the index reads the current generation');
  const before = queries.map((q) => db.nearest('d', 'e', q, { k: 10 }).map((h) => [h.id, h.distance]));
  await db.close();
  assert.equal([...fs.opened.keys()].filter((p) => p.startsWith('db/vectors/')).length, 0, 'close releases the index file');

  db = await open(fs);
  assert.deepEqual(db.recovery.vectors.indexes.map((r) => r.action), ['loaded']);
  assert.deepEqual(queries.map((q) => db.nearest('d', 'e', q, { k: 10 }).map((h) => [h.id, h.distance])), before, 'identical after reopen');
  info = db.vectorIndexes()[0];
  assert.equal(info.memory.vectors, info.memory.onStorage / DIM / 4 * 4 + 256 * DIM * 4, 'opened without loading f32 rows');
  await putRange(db, vecs, 1500, 2000);
  assert.ok(meanRecall(db, queries) >= 0.95, label);
  await db.rebuild(); // replaces the index: the old one's file is released before it is removed
  assert.ok(meanRecall(db, queries) >= 0.95, label);
  assert.equal(await db.dropVectorIndex('d', 'e'), true);
  assert.deepEqual((await fs.list('db/vectors')).filter((n) => n.endsWith('.hnsw')), [], 'drop removes the file');
  await db.close();
  assert.deepEqual([...fs.opened.keys()].filter((p) => p.startsWith('db/vectors/')), []);
});
