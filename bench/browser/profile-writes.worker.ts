/**
 * The worker of `profile-writes.ts`: where the time of Hearth's writes goes in a Chromium dedicated worker on
 * OPFS. Not a benchmark (no rows in bench/results): a diagnostic that separates the costs the `browser` suite's
 * `insert-single-p50` and `bulk-insert-10000` add up, by running two databases side by side and alternating
 * their operations, so the machine's load (shared, noisy) falls on both alike and the difference is the cost of
 * the one thing the variant leaves out:
 * - `noflush`: OPFS `flush()` (fdatasync) skipped: its cost.
 * - `noio`: no file writes and no flush: the cost of the feed append's writes plus the flush.
 * - `instantsign`: `crypto.subtle.sign` answers at once (a zero signature, only for the variant's calls): the
 *   cost of WebCrypto's Ed25519 signing including its hop to the crypto thread and back.
 * Also: raw sync-access-handle costs (write, first write after a flush, flush, getSize), and one ed25519 signature
 * with WebCrypto (async) against @noble/ed25519 (sync). When `PROFILE` is set it logs `PSTART`/`PSTOP <name>` around
 * the bulk and the single inserts, for `profile-writes.ts` to take CPU profiles of this worker.
 *
 * The variants drop durability or signatures: they exist only here, to measure, never in the Database.
 */
import { OpfsFileSystem, type FileHandle, type FileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { emit, main } from '../../test/browser/worker-kit.js';
import { doc, idOf } from './docs.js';

declare const PROFILE: boolean;
ed.hashes.sha512 ??= sha512;

type Variant = 'plain' | 'noflush' | 'noio' | 'instantsign';

/** A file system whose handles skip `sync` (`noflush`) or also `write` (`noio`). */
function skipping(fs: FileSystem, skip: 'noflush' | 'noio'): FileSystem {
  const wrap = (h: FileHandle): FileHandle =>
    new Proxy(h, {
      get(t, p) {
        if (p === 'sync') return async () => {};
        if (p === 'write' && skip === 'noio') return () => {};
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  return new Proxy(fs, {
    get(t, p) {
      if (p === 'open') return async (path: string, o?: Parameters<FileSystem['open']>[1]) => wrap(await t.open(path, o));
      const v = Reflect.get(t, p, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

const subtle = crypto.subtle as unknown as { sign: (...a: unknown[]) => Promise<ArrayBuffer> };
const realSign = subtle.sign;
const instantSign = async (): Promise<ArrayBuffer> => new ArrayBuffer(64);

async function open(dir: string, v: Variant): Promise<Database> {
  await OpfsFileSystem.destroy(dir);
  const fs = await OpfsFileSystem.open(dir);
  return Database.open({ fs: v === 'noflush' || v === 'noio' ? skipping(fs, v) : fs, name: 'db' });
}

/** Runs `fn` with `variant` in force (only `instantsign` patches anything). */
async function under<T>(variant: Variant, fn: () => Promise<T>): Promise<T> {
  if (variant !== 'instantsign') return fn();
  subtle.sign = instantSign;
  try {
    return await fn();
  } finally {
    subtle.sign = realSign;
  }
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const us = (ms: number): number => Math.round(ms * 1000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Documents and ids generated before anything is timed or profiled (as the `browser` suite does). */
const IDS = Array.from({ length: 10_000 }, (_, i) => idOf(i));
const DOCS = Array.from({ length: 10_000 }, (_, i) => doc(i));

main(async () => {
  // 1. Raw sync access handle costs.
  {
    const root = await navigator.storage.getDirectory();
    const fh = await root.getFileHandle('profile-writes-raw', { create: true });
    const h = await (fh as unknown as { createSyncAccessHandle(): Promise<{ write(b: Uint8Array, o: { at: number }): number; flush(): void; getSize(): number; truncate(n: number): void; close(): void }> }).createSyncAccessHandle();
    h.truncate(0);
    const rec = new Uint8Array(338).fill(7);
    const t: Record<string, number[]> = {};
    const time = (k: string, f: () => void): void => {
      const a = performance.now();
      f();
      (t[k] ??= []).push(performance.now() - a);
    };
    let end = 0;
    for (let i = 0; i < 500; i++) {
      time('write after flush', () => h.write(rec, { at: end }));
      time('second write', () => h.write(rec, { at: end + 338 }));
      end += 676;
      time('flush', () => h.flush());
      time('getSize', () => h.getSize());
    }
    // The same appends into a file already extended (truncate) past them: no size change per write, so no quota
    // reservation round trip to the browser process and no inode size update for fdatasync to write.
    h.truncate(0);
    h.truncate(4 << 20);
    end = 0;
    for (let i = 0; i < 500; i++) {
      time('preallocated: write after flush', () => h.write(rec, { at: end }));
      time('preallocated: second write', () => h.write(rec, { at: end + 338 }));
      end += 676;
      time('preallocated: flush', () => h.flush());
    }
    h.close();
    await root.removeEntry('profile-writes-raw');
    const out: Record<string, string> = {};
    for (const [k, xs] of Object.entries(t)) out[k] = `p50 ${us(pct(xs, 50))} µs, p90 ${us(pct(xs, 90))} µs`;
    emit({ what: 'raw sync access handle, 338-byte records', ...out });
  }
  // 2. One signature: WebCrypto (async) vs noble (sync).
  {
    const sk = ed.utils.randomSecretKey();
    const msg = new Uint8Array(32).fill(3);
    const pkcs8 = new Uint8Array(48);
    pkcs8.set([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
    pkcs8.set(sk, 16);
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    const w: number[] = [];
    const n: number[] = [];
    for (let i = 0; i < 300; i++) {
      let a = performance.now();
      await crypto.subtle.sign({ name: 'Ed25519' }, key, msg);
      w.push(performance.now() - a);
      a = performance.now();
      ed.sign(msg, sk);
      n.push(performance.now() - a);
    }
    emit({ what: 'ed25519 sign, 32-byte message', webcrypto: `p50 ${us(pct(w, 50))} µs`, noble: `p50 ${us(pct(n, 50))} µs` });
  }
  // 3. Awaited single inserts: plain against each variant, alternating.
  for (const v of ['noflush', 'noio', 'instantsign'] as const) {
    const a = await open('profile-writes-a', 'plain');
    const b = await open('profile-writes-b', v);
    const la: number[] = [];
    const lb: number[] = [];
    for (let i = 0; i < 1200; i++) {
      let t0 = performance.now();
      await a.put('singles', IDS[i], DOCS[i]);
      const x = performance.now() - t0;
      t0 = performance.now();
      await under(v, () => b.put('singles', IDS[i], DOCS[i]));
      const y = performance.now() - t0;
      if (i >= 200) {
        la.push(x);
        lb.push(y);
      }
    }
    await a.close();
    await b.close();
    emit({ what: `insert-single p50 (µs), plain vs ${v}`, plain: us(pct(la, 50)), [v]: us(pct(lb, 50)), cost: us(pct(la, 50) - pct(lb, 50)) });
  }
  // 4. Bulk insert of 10,000 documents in one transaction: plain vs no I/O, alternating, median of 4 after a warm-up.
  {
    const a = await open('profile-writes-a', 'plain');
    const b = await open('profile-writes-b', 'noio');
    const la: number[] = [];
    const lb: number[] = [];
    for (let rep = 0; rep < 5; rep++) {
      for (const [db, l] of [[a, la], [b, lb]] as const) {
        const table = `bulk${rep}`;
        const t0 = performance.now();
        await db.transaction((tx) => {
          for (let i = 0; i < 10_000; i++) tx.put(table, IDS[i], DOCS[i]);
        });
        if (rep > 0) l.push(performance.now() - t0);
      }
    }
    await a.close();
    await b.close();
    emit({ what: 'bulk-insert-10000 ms, plain vs noio', plain: Math.round(pct(la, 50)), noio: Math.round(pct(lb, 50)) });
  }
  // 5. Profiled runs (profile-writes.ts --profile takes CPU profiles between PSTART and PSTOP).
  if (PROFILE) {
    const db = await open('profile-writes-p', 'plain');
    await db.transaction((tx) => {
      for (let i = 0; i < 10_000; i++) tx.put('warm', IDS[i], DOCS[i]);
    });
    console.log('PSTART');
    await sleep(50);
    for (let rep = 0; rep < 3; rep++) {
      const table = `bulk${rep}`;
      await db.transaction((tx) => {
        for (let i = 0; i < 10_000; i++) tx.put(table, IDS[i], DOCS[i]);
      });
    }
    console.log('PSTOP bulk');
    await sleep(300);
    console.log('PSTART');
    await sleep(50);
    for (let i = 0; i < 1000; i++) await db.put('singles', IDS[i], DOCS[i]);
    console.log('PSTOP single');
    await sleep(300);
    await db.close();
  }
  for (const d of ['profile-writes-a', 'profile-writes-b', 'profile-writes-p']) await OpfsFileSystem.destroy(d);
});
