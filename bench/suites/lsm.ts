/**
 * `npm run bench -- lsm [--quick]`: Hearth's LSM tree against LevelDB (`classic-level`) and `memory-level`, in one
 * Node process, on the same generated data.
 *
 * Workloads (N = 1,000,000 entries, 100,000 with `--quick`):
 * - `put-batch-1000`: N puts into a fresh database in batches of 1,000 (16-byte keys in random order, 100-byte
 *   random values), ops/s. Durability is matched: LevelDB writes each batch to its log without fsync (its
 *   default, `sync: false`), so an OS crash may lose them and a process crash may not; Hearth has no log of its own,
 *   so its figure includes a final `flush()` that writes and fsyncs the SSTables and the manifest edit.
 * - `get-random`: N point reads of existing keys, in one pre-generated random order shared by every system, ops/s.
 *   Every system is read synchronously (`lsm.get`, `db.getSync`), since Hearth's reads are synchronous; the promise
 *   API (`await db.get`) would add a promise and a thread hop per read to LevelDB and measure the binding.
 * - `scan-forward`: a full forward scan of the N entries, entries/s reported as ops/s. LevelDB and memory-level are
 *   read with `iterator.nextv(1000)` (their fastest public scan; LevelDB with `highWaterMarkBytes` 1 MiB), Hearth
 *   with its synchronous `iterate()`.
 *
 * Method: every system first warms up on a tenth of the data (load, read, scan). Then each workload runs
 * {@link REPS} times per system, the repetitions interleaved across systems (rep 1 of each, then rep 2, ...) so
 * that load from other processes on a shared machine is spread over all of them; rows are medians. Puts use a
 * fresh database per repetition; reads (after one warm-up pass each) run against the databases that the last put
 * repetition filled, all open at once.
 *
 * Systems: `hearth` (the `@hearth/lsm` API over `NodeFileSystem`), `hearth-level` (the same through the
 * `@hearth/level` abstract-level adapter, to show its overhead), `classic-level` (LevelDB, default options: 8 MiB
 * cache, snappy on, 4 MiB write buffer) and `memory-level` (an in-memory red-black tree, a ceiling for the
 * abstract-level API rather than a storage engine). `hearth-level` runs with `--quick` only, unless named: set
 * `HEARTH_BENCH_SYSTEMS=hearth,hearth-level,classic-level` (any subset) to choose the systems.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { NodeFileSystem } from '@hearth/io/node';
import { openLsm, type BatchOp } from '@hearth/lsm';
import { HearthLevel } from '@hearth/level';
import { median, now, type Row, type SuiteContext } from '../lib.js';

/** Repetitions measured after the warm-up (the row is their median). */
const REPS = 3;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const BATCH = 1000;

/** The data every system gets: keys, batches of put ops, and a random read order. */
interface Workload {
  n: number;
  /** `n` distinct 16-byte keys, in insertion (random) order. */
  keys: Buffer[];
  /** `n / BATCH` batches of `{ type: 'put', key, value }`, the same objects for every system. */
  batches: BatchOp[][];
  /** The order `get-random` reads in: a permutation of `keys`. */
  readOrder: Buffer[];
}

/** One system under test, with its own way to open, write, read and scan. */
interface System {
  name: string;
  open(dir: string): Promise<Db>;
}

interface Db {
  /** Writes every batch, then makes the data as durable as the suite requires (see the file header). */
  load(batches: BatchOp[][]): Promise<void>;
  /** Reads every key; returns how many were found (checked by the suite). */
  getAll(keys: Buffer[]): number;
  /** Scans everything forward; returns how many entries it saw. */
  scan(): Promise<number>;
  close(): Promise<void>;
}

export default async function lsmSuite(ctx: SuiteContext): Promise<Row[]> {
  const n = ctx.quick ? 100_000 : 1_000_000;
  const only = process.env.HEARTH_BENCH_SYSTEMS?.split(',').map((s) => s.trim());
  // hearth-level doubles the suite's run time at full size; it runs with --quick or when named.
  const systems = allSystems().filter((s) =>
    only !== undefined ? only.includes(s.name) : ctx.quick || s.name !== 'hearth-level',
  );
  ctx.log(`generating ${n.toLocaleString('en-US')} entries (${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values)`);
  const work = generate(n, 0x4ea27);
  const warm = generate(Math.max(BATCH, n / 10), 0x5eed);
  let dirs = 0;
  const freshDir = (name: string): string => join(ctx.tmpDir, `${name}-${++dirs}`);

  // Warm-up: every system loads, reads and scans a tenth of the data in a database of its own.
  for (const sys of systems) {
    ctx.log(`${sys.name}: warm-up`);
    const dir = freshDir(sys.name);
    const db = await sys.open(dir);
    await db.load(warm.batches);
    db.getAll(warm.readOrder);
    await db.scan();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // Repetitions are interleaved (rep 1 of every system, then rep 2, ...) so that load from other processes on a
  // shared machine spreads over all systems instead of penalising whichever ran during it.
  const samples = new Map<string, number[]>();
  const record = (workload: string, system: string, opsPerSec: number): void => {
    const key = `${workload}\u0000${system}`;
    if (!samples.has(key)) samples.set(key, []);
    samples.get(key)!.push(opsPerSec);
  };
  const loaded = new Map<string, { db: Db; dir: string }>();
  for (let rep = 1; rep <= REPS; rep++) {
    for (const sys of systems) {
      ctx.log(`${sys.name}: put-batch-${BATCH} rep ${rep}/${REPS}`);
      const prev = loaded.get(sys.name);
      if (prev) {
        await prev.db.close();
        rmSync(prev.dir, { recursive: true, force: true });
      }
      const dir = freshDir(sys.name);
      const db = await sys.open(dir);
      const t0 = now();
      await db.load(work.batches);
      record(`put-batch-${BATCH}`, sys.name, n / ((now() - t0) / 1000));
      loaded.set(sys.name, { db, dir });
    }
  }
  // Reads run against the databases the last put repetition filled, one warm-up pass each first.
  const warmReads = work.readOrder.slice(0, n / 10);
  for (const sys of systems) loaded.get(sys.name)!.db.getAll(warmReads);
  for (let rep = 1; rep <= REPS; rep++) {
    for (const sys of systems) {
      const { db } = loaded.get(sys.name)!;
      const t0 = now();
      const found = db.getAll(work.readOrder);
      record('get-random', sys.name, n / ((now() - t0) / 1000));
      if (found !== n) throw new Error(`${sys.name}: get-random found ${found} of ${n} keys`);
    }
  }
  ctx.log('get-random done');
  for (let rep = 0; rep <= REPS; rep++) {
    for (const sys of systems) {
      const { db } = loaded.get(sys.name)!;
      const t0 = now();
      const seen = await db.scan();
      // Pass 0 is the warm-up.
      if (rep > 0) record('scan-forward', sys.name, n / ((now() - t0) / 1000));
      if (seen !== n) throw new Error(`${sys.name}: scan-forward saw ${seen} of ${n} entries`);
    }
  }
  ctx.log('scan-forward done');
  for (const { db, dir } of loaded.values()) {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const rows: Row[] = [];
  for (const workload of [`put-batch-${BATCH}`, 'get-random', 'scan-forward']) {
    for (const sys of systems) {
      const values = samples.get(`${workload}\u0000${sys.name}`)!;
      rows.push({ workload, system: sys.name, value: median(values), unit: 'ops/s', n, reps: values.length });
    }
  }
  return rows;
}

function allSystems(): System[] {
  return [
    {
      name: 'hearth',
      async open(dir) {
        const lsm = await openLsm({ fs: new NodeFileSystem(dir, { create: true }), dir: 'lsm' });
        return {
          async load(batches) {
            for (const b of batches) await lsm.batch(b);
            await lsm.flush();
          },
          getAll(keys) {
            let found = 0;
            for (let i = 0; i < keys.length; i++) if (lsm.get(keys[i]) !== undefined) found++;
            return found;
          },
          async scan() {
            let seen = 0;
            for (const _ of lsm.iterate()) seen++;
            return seen;
          },
          close: () => lsm.close(),
        };
      },
    },
    {
      name: 'hearth-level',
      async open(dir) {
        const db = new HearthLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
        await db.open();
        return {
          async load(batches) {
            for (const b of batches) await db.batch(b as { type: 'put'; key: Uint8Array; value: Uint8Array }[]);
            await db.flush();
          },
          getAll: (keys) => getAllSync(db, keys),
          scan: () => scanLevel(db),
          close: () => db.close(),
        };
      },
    },
    {
      name: 'classic-level',
      async open(dir) {
        const db = new ClassicLevel<Buffer, Buffer>(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer' });
        await db.open();
        return {
          async load(batches) {
            // LevelDB's default durability: each batch is in its log (not fsynced) when the promise resolves.
            for (const b of batches) await db.batch(b as { type: 'put'; key: Buffer; value: Buffer }[]);
          },
          getAll: (keys) => getAllSync(db, keys),
          scan: () => scanLevel(db),
          close: () => db.close(),
        };
      },
    },
    {
      name: 'memory-level',
      async open() {
        const db = new MemoryLevel<Buffer, Buffer>({ keyEncoding: 'buffer', valueEncoding: 'buffer' });
        await db.open();
        return {
          async load(batches) {
            for (const b of batches) await db.batch(b as { type: 'put'; key: Buffer; value: Buffer }[]);
          },
          getAll: (keys) => getAllSync(db, keys),
          scan: () => scanLevel(db),
          close: () => db.close(),
        };
      },
    },
  ];
}

function getAllSync<K>(db: { getSync(key: K): unknown }, keys: K[]): number {
  let found = 0;
  for (let i = 0; i < keys.length; i++) if (db.getSync(keys[i]) !== undefined) found++;
  return found;
}

/**
 * Scans with `nextv(1000)`. `highWaterMarkBytes` (classic-level's read-ahead per native call, default 16 KiB) is
 * raised to 1 MiB, its best ordinary setting for a full scan; the other systems ignore the option.
 */
async function scanLevel<K, V>(db: {
  iterator(options: object): { nextv(size: number): Promise<[K, V][]>; close(): Promise<void> };
}): Promise<number> {
  const it = db.iterator({ highWaterMarkBytes: 1 << 20 });
  let seen = 0;
  try {
    for (;;) {
      const entries = await it.nextv(1000);
      if (entries.length === 0) break;
      seen += entries.length;
    }
  } finally {
    await it.close();
  }
  return seen;
}

/**
 * Deterministic data from `seed`: distinct 16-byte keys (a 4-byte big-endian index scrambled into random order,
 * padded with 12 random bytes, so keys are unique and arrive in random order) and random 100-byte values
 * (incompressible, so LevelDB's snappy gains nothing and costs little).
 */
function generate(n: number, seed: number): Workload {
  const rand = xorshift32(seed);
  const perm = shuffled(n, rand);
  const keyPool = Buffer.allocUnsafeSlow(n * KEY_BYTES);
  const valuePool = Buffer.allocUnsafeSlow(n * VALUE_BYTES);
  for (let i = 0; i < valuePool.length; i += 4) valuePool.writeUInt32LE(rand(), i);
  const keys: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * KEY_BYTES;
    keyPool.writeUInt32BE(perm[i], at);
    for (let j = 4; j < KEY_BYTES; j += 4) keyPool.writeUInt32LE(rand(), at + j);
    keys[i] = keyPool.subarray(at, at + KEY_BYTES);
  }
  const batches: BatchOp[][] = [];
  for (let b = 0; b < n; b += BATCH) {
    const ops: BatchOp[] = [];
    for (let i = b; i < Math.min(n, b + BATCH); i++) {
      ops.push({ type: 'put', key: keys[i], value: valuePool.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES) });
    }
    batches.push(ops);
  }
  const order = shuffled(n, rand);
  const readOrder = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) readOrder[i] = keys[order[i]];
  return { n, keys, batches, readOrder };
}

function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
function shuffled(n: number, rand: () => number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rand() % (i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}
