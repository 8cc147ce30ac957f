/**
 * `npm run bench -- log [--quick]`: the cost of Hearth's signed log per group commit, against doing the same crypto
 * and file work directly with Node's built-ins (`node:crypto`, `node:fs`), which is the floor any signed,
 * hash-chained, durable log must pay.
 *
 * Entries carry a 200,000-byte ops payload: one group commit of 1,000 writes of ~200 bytes (the db's target shape),
 * so `entries/s` × 1,000 is the signed durable docs/s the log alone allows. N = 400 entries (100 with `--quick`).
 *
 * Workloads:
 * - `sign-entry-200KB` (entries/s): `signEntry` (encode, SHA-256 of the body, ed25519 sign, link hash). Systems:
 *   `hearth` (WebCrypto backend, the default in Node and Chromium), `hearth-noble` (pure-JS backend, the fallback),
 *   `node:crypto` (one `createHash('sha256')` over the payload plus one `crypto.sign(null, hash, key)`).
 * - `append-sync-200KB` (entries/s): `FeedStore.append([entry])` then `sync()` per entry on `NodeFileSystem`
 *   (one fsync per group commit), entries pre-signed. Baseline `node:fs`: `writeSync` of the same bytes then
 *   `fsyncSync` on one descriptor.
 * - `verify-range-200KB` (entries/s): `verifyRange` over all N entries (one signature, N hashes). Row `hearth-each`:
 *   `verifyEntry` on every entry (N signatures), the cost range verification avoids. Baseline `node:crypto`: one
 *   SHA-256 per entry plus N `crypto.verify` calls.
 * - `reopen-recover` (ms): `FeedStore.open` of the directory written by `append-sync` (scan, checksums, head hash).
 *
 * Database workloads (`@hearth/db`, `Database` on `NodeFileSystem` in the suite's tmp dir): signed, durable writes
 * of ~200-byte generated documents (5 fields: title, body, n, tags, done), each acknowledged only after its entry is
 * signed, appended and fsynced. Baseline: `classic-level` (LevelDB) with `sync: true` batches (the same durability:
 * fsync before acknowledging), key `c/<id>`, value the document as JSON.
 * - `put-batch-1`, `put-batch-10`, `put-batch-1000` (docs/s): commits of 1, 10 and 1,000 writes. Hearth: awaited
 *   `put` (one per entry) and transactions of 10 and 1,000 puts (one entry each); LevelDB: `put` / `batch` of that
 *   size with `sync: true`. Documents: 1,000 / 10,000 / 100,000 (a fifth with `--quick`).
 * - `put-concurrent-10000` (docs/s): 10,000 `put` calls issued without awaiting, then awaited together: group commit
 *   forms the entries. Row `put-concurrent-10000-entries` (unit `entries`): how many entries that produced.
 *   LevelDB: 10,000 concurrent `put(..., { sync: true })` calls (it groups them in its own write queue).
 * - `put-single-p50`, `put-single-p99` (ms): latency of awaited single puts (from the `put-batch-1` run).
 *
 * Method: each workload runs once to warm up, then 3 times; rows are medians. `HEARTH_BENCH_PART=db` runs only the
 * database workloads.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NodeFileSystem } from '@hearth/io/node';
import { ClassicLevel } from 'classic-level';
import { Database, type Document } from '@hearth/db';
import {
  FeedStore,
  decodeEntryV1,
  keypairFromSecretKey,
  signEntry,
  verifyEntry,
  verifyRange,
  type VerifiedEntry,
} from '@hearth/log';
import { median, medianOf, now, percentile, type Row, type SuiteContext } from '../lib.js';

const REPS = 3;
const OPS_BYTES = 200_000;
const DOCS_PER_ENTRY = 1000;

export default async function logSuite(ctx: SuiteContext): Promise<Row[]> {
  if (process.env.HEARTH_BENCH_PART === 'db') return dbWorkloads(ctx);
  const n = ctx.quick ? 100 : 400;
  const rows: Row[] = [];
  const kp = keypairFromSecretKey(new Uint8Array(32).fill(7));
  const ops = new Uint8Array(OPS_BYTES);
  for (let i = 0; i < OPS_BYTES; i++) ops[i] = (i * 2654435761) >>> 24;
  const row = (workload: string, system: string, value: number, unit: string): void => {
    rows.push({ workload, system, value, unit, n, ...(unit === 'entries/s' ? { docsPerSecond: value * DOCS_PER_ENTRY } : {}) });
  };

  async function makeChain(backend: 'webcrypto' | 'noble'): Promise<VerifiedEntry[]> {
    const out: VerifiedEntry[] = [];
    for (let i = 1; i <= n; i++) out.push(await signEntry({ seq: i, prev: out[i - 2]?.hash, hlc: BigInt(i), ops }, kp, { backend }));
    return out;
  }

  // sign-entry
  for (const backend of ['webcrypto', 'noble'] as const) {
    ctx.log(`sign-entry (${backend})`);
    const rate = await medianOf(REPS, async () => {
      const t0 = now();
      await makeChain(backend);
      return n / ((now() - t0) / 1000);
    });
    row('sign-entry-200KB', backend === 'webcrypto' ? 'hearth' : 'hearth-noble', rate, 'entries/s');
  }
  {
    ctx.log('sign-entry (node:crypto)');
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(kp.secretKey)]);
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    const rate = await medianOf(REPS, () => {
      const t0 = now();
      for (let i = 0; i < n; i++) nodeSign(null, createHash('sha256').update(ops).digest(), key);
      return n / ((now() - t0) / 1000);
    });
    row('sign-entry-200KB', 'node:crypto', rate, 'entries/s');
  }

  const entries = await makeChain('webcrypto');

  // append-sync
  let lastDir = '';
  {
    ctx.log('append-sync (hearth)');
    let rep = 0;
    const rate = await medianOf(REPS, async () => {
      const dir = join(ctx.tmpDir, `feeds-${rep++}`);
      mkdirSync(dir, { recursive: true });
      const store = await FeedStore.open({ fs: new NodeFileSystem(dir), dir: 'feeds' });
      const t0 = now();
      for (const e of entries) {
        await store.append([e]);
        await store.sync();
      }
      const rate = n / ((now() - t0) / 1000);
      await store.close();
      if (lastDir) rmSync(lastDir, { recursive: true, force: true });
      lastDir = dir;
      return rate;
    });
    row('append-sync-200KB', 'hearth', rate, 'entries/s');
  }
  {
    ctx.log('append-sync (node:fs)');
    let rep = 0;
    const rate = await medianOf(REPS, () => {
      const path = join(ctx.tmpDir, `raw-${rep++}.log`);
      const fd = openSync(path, 'w');
      const t0 = now();
      for (const e of entries) {
        writeSync(fd, e.bytes);
        fsyncSync(fd);
      }
      const rate = n / ((now() - t0) / 1000);
      closeSync(fd);
      rmSync(path);
      return rate;
    });
    row('append-sync-200KB', 'node:fs', rate, 'entries/s');
  }

  // verify-range
  const decoded = entries.map((e) => decodeEntryV1(e.bytes));
  {
    ctx.log('verify-range');
    const range = await medianOf(REPS, async () => {
      const t0 = now();
      await verifyRange(decoded);
      return n / ((now() - t0) / 1000);
    });
    row('verify-range-200KB', 'hearth', range, 'entries/s');
    const each = await medianOf(REPS, async () => {
      const t0 = now();
      for (const d of decoded) await verifyEntry(d);
      return n / ((now() - t0) / 1000);
    });
    row('verify-range-200KB', 'hearth-each', each, 'entries/s');
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(kp.publicKey)]);
    const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const raw = await medianOf(REPS, () => {
      const t0 = now();
      for (const d of decoded) {
        const h = createHash('sha256').update(d.bytes.subarray(0, d.bytes.length - 64)).digest();
        if (!nodeVerify(null, h, pub, d.signature)) throw new Error('node:crypto verify failed');
      }
      return n / ((now() - t0) / 1000);
    });
    row('verify-range-200KB', 'node:crypto', raw, 'entries/s');
  }

  // reopen
  {
    ctx.log('reopen-recover');
    const ms = await medianOf(REPS, async () => {
      const t0 = now();
      const store = await FeedStore.open({ fs: new NodeFileSystem(lastDir), dir: 'feeds' });
      const took = now() - t0;
      if (store.head(kp.publicKey)?.seq !== n) throw new Error('reopen lost entries');
      await store.close();
      return took;
    });
    row('reopen-recover', 'hearth', ms, 'ms');
  }
  rows.push(...(await dbWorkloads(ctx)));
  return rows;
}

/** A generated document of about 200 bytes (as JSON). */
function makeDoc(i: number): Document {
  return {
    title: `Document number ${i} of the benchmark`,
    body: `Lorem ipsum dolor sit amet, consectetur adipiscing elit ${i}, sed do eiusmod tempor incididunt ut labore et dolore.`,
    n: i,
    tags: ['alpha', i % 2 ? 'odd' : 'even'],
    done: i % 3 === 0,
  };
}

async function dbWorkloads(ctx: SuiteContext): Promise<Row[]> {
  const rows: Row[] = [];
  const scale = ctx.quick ? 5 : 1;
  const kp = keypairFromSecretKey(new Uint8Array(32).fill(9));
  let dirNo = 0;
  const freshDir = (): string => {
    const dir = join(ctx.tmpDir, `db-${dirNo++}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const withDb = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    const dir = freshDir();
    const db = await Database.open({ fs: new NodeFileSystem(dir), name: 'db', keypair: kp });
    try {
      return await fn(db);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const withLevel = async <T>(fn: (db: ClassicLevel<string, string>) => Promise<T>): Promise<T> => {
    const dir = freshDir();
    const db = new ClassicLevel<string, string>(dir);
    await db.open();
    try {
      return await fn(db);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  // put-batch-1 (and single-put latency)
  {
    const n = Math.round(1000 / scale);
    ctx.log(`put-batch-1 (hearth, ${n} docs)`);
    const lat: number[] = [];
    const rate = await medianOf(REPS, () =>
      withDb(async (db) => {
        lat.length = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) {
          const t = now();
          await db.put('c', `d${i}`, makeDoc(i));
          lat.push(now() - t);
        }
        return n / ((now() - t0) / 1000);
      }),
    );
    rows.push({ workload: 'put-batch-1', system: 'hearth', value: rate, unit: 'docs/s', n });
    rows.push({ workload: 'put-single-p50', system: 'hearth', value: percentile(lat, 50), unit: 'ms', n });
    rows.push({ workload: 'put-single-p99', system: 'hearth', value: percentile(lat, 99), unit: 'ms', n });
    ctx.log(`put-batch-1 (classic-level)`);
    const llat: number[] = [];
    const lrate = await medianOf(REPS, () =>
      withLevel(async (db) => {
        llat.length = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) {
          const t = now();
          await db.put(`c/d${i}`, JSON.stringify(makeDoc(i)), { sync: true });
          llat.push(now() - t);
        }
        return n / ((now() - t0) / 1000);
      }),
    );
    rows.push({ workload: 'put-batch-1', system: 'classic-level', value: lrate, unit: 'docs/s', n });
    rows.push({ workload: 'put-single-p50', system: 'classic-level', value: percentile(llat, 50), unit: 'ms', n });
    rows.push({ workload: 'put-single-p99', system: 'classic-level', value: percentile(llat, 99), unit: 'ms', n });
  }

  // put-batch-10, put-batch-1000: one transaction (one entry) per commit
  for (const size of [10, 1000]) {
    const n = Math.round((size === 10 ? 10_000 : 100_000) / scale);
    const docs = Array.from({ length: n }, (_, i) => makeDoc(i));
    ctx.log(`put-batch-${size} (hearth, ${n} docs)`);
    let entries = 0;
    const rate = await medianOf(REPS, () =>
      withDb(async (db) => {
        const t0 = now();
        for (let i = 0; i < n; i += size) {
          await db.transaction((tx) => {
            for (let j = i; j < i + size && j < n; j++) tx.put('c', `d${j}`, docs[j]);
          });
        }
        const r = n / ((now() - t0) / 1000);
        entries = db.stats().ownHead;
        return r;
      }),
    );
    if (entries !== Math.ceil(n / size)) throw new Error(`put-batch-${size}: ${entries} entries, expected ${Math.ceil(n / size)}`);
    rows.push({ workload: `put-batch-${size}`, system: 'hearth', value: rate, unit: 'docs/s', n });
    ctx.log(`put-batch-${size} (classic-level)`);
    const lrate = await medianOf(REPS, () =>
      withLevel(async (db) => {
        const t0 = now();
        for (let i = 0; i < n; i += size) {
          const ops = [];
          for (let j = i; j < i + size && j < n; j++) ops.push({ type: 'put' as const, key: `c/d${j}`, value: JSON.stringify(docs[j]) });
          await db.batch(ops, { sync: true });
        }
        return n / ((now() - t0) / 1000);
      }),
    );
    rows.push({ workload: `put-batch-${size}`, system: 'classic-level', value: lrate, unit: 'docs/s', n });
  }

  // put-concurrent-10000
  {
    const n = 10_000;
    const docs = Array.from({ length: n }, (_, i) => makeDoc(i));
    ctx.log('put-concurrent-10000 (hearth)');
    const entryCounts: number[] = [];
    const rate = await medianOf(REPS, () =>
      withDb(async (db) => {
        const t0 = now();
        const ps: Promise<void>[] = [];
        for (let i = 0; i < n; i++) ps.push(db.put('c', `d${i}`, docs[i]));
        await Promise.all(ps);
        const r = n / ((now() - t0) / 1000);
        entryCounts.push(db.stats().ownHead);
        return r;
      }),
    );
    rows.push({ workload: 'put-concurrent-10000', system: 'hearth', value: rate, unit: 'docs/s', n });
    rows.push({ workload: 'put-concurrent-10000-entries', system: 'hearth', value: median(entryCounts), unit: 'entries', n });
    ctx.log('put-concurrent-10000 (classic-level)');
    const lrate = await medianOf(REPS, () =>
      withLevel(async (db) => {
        const t0 = now();
        const ps: Promise<void>[] = [];
        for (let i = 0; i < n; i++) ps.push(db.put(`c/d${i}`, JSON.stringify(docs[i]), { sync: true }));
        await Promise.all(ps);
        return n / ((now() - t0) / 1000);
      }),
    );
    rows.push({ workload: 'put-concurrent-10000', system: 'classic-level', value: lrate, unit: 'docs/s', n });
  }
  return rows;
}
