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
 * Method: each workload runs once to warm up, then 3 times; rows are medians.
 */
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NodeFileSystem } from '@hearth/io/node';
import {
  FeedStore,
  decodeEntryV1,
  keypairFromSecretKey,
  signEntry,
  verifyEntry,
  verifyRange,
  type VerifiedEntry,
} from '@hearth/log';
import { medianOf, now, type Row, type SuiteContext } from '../lib.js';

const REPS = 3;
const OPS_BYTES = 200_000;
const DOCS_PER_ENTRY = 1000;

export default async function logSuite(ctx: SuiteContext): Promise<Row[]> {
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
  return rows;
}
