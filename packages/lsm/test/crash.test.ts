/**
 * Crash test: a seeded workload of puts, deletes, batches, flushes and compactions runs on the fault-injecting
 * file system, which crashes at every operation (write, sync, create, rename, remove...) in turn, tearing the
 * crashing write and keeping a random prefix of unsynced writes. After each crash the store is reopened from what
 * the crash left, and:
 * - open never fails;
 * - the applied position P it reports is at least the position of the last write acknowledged durable (the last
 *   `flush()` that resolved);
 * - the contents equal exactly the model after the first P writes (nothing half-written, nothing lost, no
 *   resurrected deletes), read by iteration and by point lookups;
 * - the reopened store accepts writes and reopens again.
 * A failure names the seed and the crash point.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultFileSystem, InjectedCrashError, MemoryFileSystem, type FileSystem } from '@hearth/io';
import { openLsm, type Lsm } from '@hearth/lsm';
import { hex, rng } from './_util.js';

type Op = { t: 'put'; k: number; v: number } | { t: 'del'; k: number } | { t: 'batch'; ops: { k: number; v: number | null }[] } | { t: 'flush' } | { t: 'compact' };

const keyOf = (k: number) => Uint8Array.of(k >> 8, k & 255);
const valueOf = (v: number) => new TextEncoder().encode(`value-${v}-${'x'.repeat(v % 50)}`);
const posOf = (i: number) => Uint8Array.of(i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255);
const posValue = (p: Uint8Array | undefined) => (p === undefined ? 0 : ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0);

function workload(seed: number, n: number): Op[] {
  const r = rng(seed);
  const ops: Op[] = [];
  for (let i = 0; i < n; i++) {
    const x = r();
    const k = Math.floor(r() * 60);
    if (x < 0.55) ops.push({ t: 'put', k, v: i });
    else if (x < 0.75) ops.push({ t: 'del', k });
    else if (x < 0.88) {
      const m = Math.floor(r() * 5);
      ops.push({ t: 'batch', ops: Array.from({ length: m }, (_, j) => ({ k: Math.floor(r() * 60), v: r() < 0.3 ? null : i * 10 + j })) });
    } else if (x < 0.96) ops.push({ t: 'flush' });
    else ops.push({ t: 'compact' });
  }
  return ops;
}

/** Model contents after the writes numbered 1..p (write numbers count put/del/batch ops in order). */
function modelAfter(ops: Op[], p: number): Map<string, string> {
  const m = new Map<string, string>();
  let w = 0;
  for (const op of ops) {
    if (op.t === 'flush' || op.t === 'compact') continue;
    if (++w > p) break;
    if (op.t === 'put') m.set(hex(keyOf(op.k)), hex(valueOf(op.v)));
    else if (op.t === 'del') m.delete(hex(keyOf(op.k)));
    else for (const b of op.ops) b.v === null ? m.delete(hex(keyOf(b.k))) : m.set(hex(keyOf(b.k)), hex(valueOf(b.v)));
  }
  return m;
}

// manifestBytes is small so that new manifests are started (and CURRENT swapped) during the workload too.
const OPTIONS = { dir: 'db', memtableBytes: 1024, tableBytes: 1024, blockBytes: 256, compactionW: -2, manifestBytes: 512 };

/** Runs the workload; returns the write number covered by the last resolved flush. Stops at the first error. */
async function drive(fs: FileSystem, ops: Op[]): Promise<{ acked: number; error: unknown }> {
  let acked = 0;
  let w = 0;
  let lsm: Lsm | undefined;
  try {
    lsm = await openLsm({ fs, ...OPTIONS });
    for (const op of ops) {
      switch (op.t) {
        case 'put':
          await lsm.put(keyOf(op.k), valueOf(op.v), { position: posOf(++w) });
          break;
        case 'del':
          await lsm.delete(keyOf(op.k), { position: posOf(++w) });
          break;
        case 'batch':
          await lsm.batch(
            op.ops.map((b) => (b.v === null ? { type: 'del' as const, key: keyOf(b.k) } : { type: 'put' as const, key: keyOf(b.k), value: valueOf(b.v) })),
            { position: posOf(++w) },
          );
          break;
        case 'flush': {
          const covered = w;
          await lsm.flush();
          acked = covered;
          break;
        }
        case 'compact':
          await lsm.compact();
          break;
      }
    }
    const covered = w;
    await lsm.flush();
    acked = covered;
    await lsm.close();
    return { acked, error: null };
  } catch (e) {
    await lsm?.close().catch(() => {});
    return { acked, error: e };
  }
}

async function verify(fs: FileSystem, ops: Op[], acked: number, label: string): Promise<void> {
  let lsm: Lsm;
  try {
    lsm = await openLsm({ fs, ...OPTIONS });
  } catch (e) {
    assert.fail(`${label}: open failed after the crash: ${String(e)}`);
  }
  const p = posValue(lsm.appliedPosition);
  assert.ok(p >= acked, `${label}: applied position ${p} is behind the last acknowledged write ${acked}`);
  const want = modelAfter(ops, p);
  const got = new Map([...lsm.iterate()].map((e) => [hex(e.key), hex(e.value)]));
  assert.deepEqual(got, want, `${label}: contents differ from the model after write ${p}`);
  for (let k = 0; k < 60; k++) {
    const v = lsm.get(keyOf(k));
    assert.equal(v === undefined ? undefined : hex(v), want.get(hex(keyOf(k))), `${label}: get(${k})`);
  }
  // Still writable, and reopens cleanly.
  await lsm.put(keyOf(999), valueOf(1), { position: posOf(p + 1) });
  await lsm.flush();
  await lsm.close();
  const again = await openLsm({ fs, ...OPTIONS });
  assert.equal(posValue(again.appliedPosition), p + 1, `${label}: second reopen`);
  assert.equal(again.stats().recovery.orphansRemoved.length, 0, `${label}: second reopen found orphans`);
  await again.close();
}

for (const seed of [11, 12]) {
  test(`crash: every crash point of a seeded workload recovers to an acknowledged, whole state (seed ${seed})`, async () => {
    const ops = workload(seed, 160);
    let currentSwaps = 0;
    const probe = new FaultFileSystem(new MemoryFileSystem(), { seed, onOp: (op) => void (op.kind === 'rename' && op.to === 'db/CURRENT' && currentSwaps++) });
    const clean = await drive(probe, ops);
    assert.equal(clean.error, null, `seed ${seed}: the workload fails without a crash: ${String(clean.error)}`);
    assert.ok(currentSwaps >= 3, `the workload should start new manifests (CURRENT swapped ${currentSwaps} times)`);
    const total = probe.opCount();
    assert.ok(total > 150, `only ${total} operations`);
    let crashed = 0;
    for (let at = 1; at <= total; at++) {
      const label = `seed ${seed}, crash at operation ${at}/${total}`;
      try {
        const fs = new FaultFileSystem(new MemoryFileSystem(), { seed: seed * 100_000 + at });
        fs.crashAt({ at, tear: 'random' });
        const run = await drive(fs, ops);
        if (run.error !== null) {
          assert.ok(run.error instanceof InjectedCrashError, `${label}: unexpected error ${String(run.error)}`);
          crashed++;
        }
        const after = await fs.afterCrash({ unsynced: at % 3 === 0 ? 'lose' : at % 3 === 1 ? 'keep' : 'random' });
        await verify(after, ops, run.acked, label);
      } catch (e) {
        console.error(`crash test failed: ${label}`);
        throw e;
      }
    }
    // A crash at the very last operations (removing obsolete files, which is best effort) may go unnoticed by the
    // workload; every other crash must surface as InjectedCrashError.
    assert.ok(crashed >= total * 0.9, `only ${crashed} of ${total} runs crashed`);
  });
}
