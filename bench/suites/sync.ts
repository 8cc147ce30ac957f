/**
 * `npm run bench -- sync [--quick]`: Hearth's sync through a relay (`@hearth/relay`) on loopback, with its data
 * directory under the suite's tmp dir, and over WebRTC. No baselines: rows are `hearth`.
 *
 * The relay: device A fills it through a relay started in this process; then that relay is closed and the same
 * data directory is served by a relay in **its own process** (`hearth-relay serve`, as deployed: the home hub is
 * another machine), which every measured workload talks to. So the replica's figures count the replica's work
 * and the loopback transport, not the relay's CPU on the replica's thread. (Until 2026-11-21 the relay ran in
 * the bench process during the measurements too, sharing the Node replica's thread: the relay's serving and the
 * replica's ingest took turns on one core.)
 *
 * Workloads:
 * - `catch-up-100000-node` (entries/s): a relay holds a space with N = 100,000 entries (10,000 with `--quick`);
 *   a fresh Node replica (a `Database` on `MemoryFileSystem`, a `SyncNode` with the fetch-based SSE client)
 *   authenticates, connects and pulls all of them. Timed from just before authentication to the moment the
 *   replica's state vector holds all N entries, each verified (signature/hash chain) and applied by `ingest`.
 *   Preparation (not timed): device A (Database on `MemoryFileSystem`) writes N single awaited `put`s of ~40-byte
 *   documents, so every put is its own signed entry (N entries, not group-committed batches), then pushes them to
 *   the relay over SSE/POST; the relay stores and fsyncs them in its data directory before the replica connects.
 * - `catch-up-100000-browser` (entries/s): the same catch-up into headless Chromium (bench/sync/catch-up.worker.ts:
 *   a dedicated worker, `Database` on `MemoryFileSystem`, `openRelayTransport` with its default event-stream client (`FetchEventSource` over the browser's fetch);
 *   relay started with CORS `*`). The worker pulls everything the relay holds at that point (the N entries, the
 *   admissions and the live-relay writes) and times itself from before authentication to the last entry ingested.
 * - `live-relay-p50`, `live-relay-p99` (ms): from a commit on device A (`Database.onCommit`, local) to the
 *   `onCommit` callback on device B (what live queries run on), both Node devices (Databases on
 *   `MemoryFileSystem`) connected to the same relay over loopback SSE. 300 writes (50 with `--quick`), one at a
 *   time, each waiting until B has it; 20 unmeasured warm-up writes first. Both times are `performance.now()` in
 *   one process.
 * - `live-webrtc-p50`, `live-webrtc-p99` (ms): `measureLiveWebRtc()` of test/browser/webrtc-bench.ts (two
 *   Chromium profiles, OPFS, loopback WebRTC). `HEARTH_BENCH_NO_BROWSER=1` skips both browser workloads.
 *
 * `HEARTH_BENCH_CPUPROFILE=<file>` writes a V8 CPU profile of the Node catch-up alone.
 *
 * The catch-ups follow BENCHMARKS.md's method: a warm-up catch-up, then the median of 3, each into a fresh replica
 * (Node: a new Database and SyncNode of B's key in this process; Chromium: the same in one worker); the rows also
 * carry every repetition (`allMs`) and the warm-up (`warmupValue`: the first catch-up the process or worker runs,
 * its ingest code not yet optimised by the JIT). Until 2026-11-21 (fourth session) each catch-up ran once, cold,
 * so earlier figures are warm-up figures. The preparation (100,000 entries) is done once. The live workloads are
 * distributions of 300 writes after 20 unmeasured ones.
 */
import { join } from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { exportSecretKey, generateKeypair, type Keypair } from '@hearth/log';
import { DatabaseReplica, FetchEventSource, SyncNode, openRelayTransport, type SseClientTransport } from '@hearth/sync';
import { createRelay, type Relay } from '@hearth/relay';
import { now, percentile, type Row, type SuiteContext } from '../lib.js';

interface Device {
  keypair: Keypair;
  db: Database;
  node: SyncNode;
  transport: SseClientTransport | null;
}

async function openDevice(space: Uint8Array | null, keypair: Keypair = generateKeypair()): Promise<Device> {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair });
  const node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space: space ?? keypair.publicKey });
  return { keypair, db, node, transport: null };
}

async function connect(d: Device, relay: { readonly url: string }): Promise<Uint8Array> {
  const { transport, grant } = await openRelayTransport({ url: relay.url, space: d.node.space, keypair: d.keypair, EventSource: FetchEventSource });
  d.transport = transport;
  d.node.connect(transport);
  return grant.relayKey;
}

/** Closes the device's transport and waits for its node to settle. */
async function drop(d: Device, reason: string): Promise<void> {
  d.transport?.close(reason);
  d.transport = null;
  await d.node.idle();
}

async function close(d: Device): Promise<void> {
  await drop(d, 'bench done');
  d.node.close();
  await d.db.close();
}

/** Measured catch-ups of the Node replica after the warm-up (BENCHMARKS.md: warm up, then the median of >= 3). */
const CATCH_UP_REPS = 3;

interface CatchUpResult {
  /** Wall time from just before authentication until the replica holds `target` entries, ms. */
  ms: number;
  /** CPU time of this process meanwhile, ms. */
  cpuMs: number;
  /** Time inside the replica's `ingest` (verification, feed store, apply), ms. */
  ingestMs: number;
}

/** Connects device `d` (a fresh replica) to the relay and waits until it holds `target` entries. */
async function measureCatchUp(d: Device, relay: { readonly url: string }, target: number): Promise<CatchUpResult> {
  const replica = d.node.replica;
  const ingest = replica.ingest.bind(replica);
  let ingestMs = 0;
  replica.ingest = async (entries) => {
    const t = now();
    try {
      return await ingest(entries);
    } finally {
      ingestMs += now() - t;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = now();
  await connect(d, relay);
  await until(() => held(d.db) >= target, 'the replica to catch up', 600_000, 2);
  const ms = now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ingestMs };
}

function held(db: Database): number {
  return db.stateVector().reduce((n, e) => n + e.seq, 0);
}

async function until(cond: () => boolean, what: string, ms = 600_000, pollMs = 5): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`sync bench: timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * `HEARTH_BENCH_CPUPROFILE=<file>`: a V8 CPU profile of the Node catch-up alone (this process: the replica),
 * written as a `.cpuprofile` (open in Chrome DevTools). A no-op otherwise.
 */
async function startProfile(): Promise<{ stop(ctx: SuiteContext): Promise<void> }> {
  const file = process.env.HEARTH_BENCH_CPUPROFILE;
  if (!file) return { stop: async () => undefined };
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    stop: async (ctx) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      ctx.log(`  CPU profile of the catch-up written to ${file}`);
    },
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A relay in its own process: `hearth-relay serve` on a free loopback port over `dataDir` (sources via tsx). */
interface RelayProcess {
  readonly url: string;
  /** SIGTERM (graceful shutdown), then waits for the process to exit. */
  close(): Promise<void>;
}

async function startRelayProcess(dataDir: string, log: (line: string) => void): Promise<RelayProcess> {
  const cli = new URL('../../apps/relay/src/cli.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--conditions=hearth-source', '--import', 'tsx', cli, 'serve', '--port', '0', '--data', dataDir, '--no-static', '--cors-origin', '*'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const err: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => {
    err.push(l);
    log(`  relay: ${l}`);
  });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('sync bench: the relay process did not start in 60 s')), 60_000);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /listening on (\S+)/.exec(l);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    void exited.then((code) => fail(new Error(`sync bench: the relay process exited (${code}) before listening: ${err.join(' | ')}`)));
  });
  return {
    url,
    async close() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export default async function syncSuite(ctx: SuiteContext): Promise<Row[]> {
  const rows: Row[] = [];
  const n = ctx.quick ? 10_000 : 100_000;
  const dataDir = join(ctx.tmpDir, 'relay');
  mkdirSync(dataDir, { recursive: true });
  // The relay device A fills (in this process); closed before the measurements (see the file header).
  const filler: Relay = await createRelay({ dataDir, port: 0, heartbeatMs: 0, corsOrigins: ['*'] });
  let fillerOpen = true;
  let relay: RelayProcess | null = null;
  const a = await openDevice(null);
  const space = a.keypair.publicKey;
  const devices: Device[] = [a];
  const browserKey = generateKeypair();
  const size = ctx.quick ? 10_000 : 100_000;
  try {
    // ---- prepare: A writes n single entries and pushes them to the relay
    ctx.log(`preparing ${n} entries on device A`);
    let t = now();
    for (let i = 0; i < n; i++) await a.db.put('notes', `n${i}`, { i, text: `note ${i}` });
    if (held(a.db) !== n) throw new Error(`sync bench: expected ${n} entries on A, have ${held(a.db)}`);
    ctx.log(`  written in ${((now() - t) / 1000).toFixed(1)} s; pushing to the relay`);
    t = now();
    const relayKey = await connect(a, filler);
    await a.node.admit(relayKey);
    const host = (): Database | undefined => filler.spaces.get(hex(space))?.db;
    await until(() => host() !== undefined && held(host()!) >= n, 'the relay to hold all entries');
    ctx.log(`  relay holds ${n} entries after ${((now() - t) / 1000).toFixed(1)} s`);
    await drop(a, 'prepared');

    // ---- catch-up into a fresh Node replica: a warm-up, then CATCH_UP_REPS measured repetitions, each a new replica
    // (Database on MemoryFileSystem) of device B's key pulling everything from the relay process
    {
      const b = await openDevice(space);
      devices.push(b);
      await a.node.admit(b.keypair.publicKey); // local admission; pushed to the relay on A's next connection
      await a.node.admit(browserKey.publicKey);
      await connect(a, filler);
      await until(() => filler.spaces.get(hex(space))!.isMember(b.keypair.publicKey) && filler.spaces.get(hex(space))!.isMember(browserKey.publicKey), 'the relay to learn B and the browser are members');
      await drop(a, 'admitted B');
      const target = held(host()!);
      fillerOpen = false;
      await filler.close(); // graceful: everything it acknowledged is on disk
      relay = await startRelayProcess(dataDir, ctx.log);
      ctx.log(`  relay process serving ${dataDir} at ${relay.url}`);
      const reps: CatchUpResult[] = [];
      let r = b;
      for (let rep = 0; rep <= CATCH_UP_REPS; rep++) {
        if (rep > 0) {
          // A fresh replica of B's key for each repetition; the last one stays open as device B of the live workload.
          const prev = r;
          r = await openDevice(space, b.keypair);
          devices[1] = r;
          await close(prev);
        }
        const profile = rep === CATCH_UP_REPS ? await startProfile() : { stop: async () => undefined };
        const res = await measureCatchUp(r, relay, target);
        await profile.stop(ctx);
        if (r.db.get('notes', `n${n - 1}`) === undefined) throw new Error('sync bench: the last document is missing on the replica');
        ctx.log(`  ${rep === 0 ? 'warm-up' : `rep ${rep}`}: ${target} entries in ${res.ms.toFixed(0)} ms = ${Math.round(target / (res.ms / 1000))}/s (${res.cpuMs.toFixed(0)} ms CPU in this process; ${res.ingestMs.toFixed(0)} ms in the replica's ingest)`);
        reps.push(res);
      }
      const measured = reps.slice(1).sort((x, y) => x.ms - y.ms);
      const med = measured[measured.length >> 1];
      rows.push({
        workload: `catch-up-${size}-node`,
        system: 'hearth',
        value: Math.round(target / (med.ms / 1000)),
        unit: 'entries/s',
        n: target,
        reps: CATCH_UP_REPS,
        ms: +med.ms.toFixed(1),
        // CPU time of this process (the replica; the relay is another process) during the catch-up: a check on the
        // wall-clock figure when the machine is shared (it does not shrink when other processes take the cores)
        cpuMs: +med.cpuMs.toFixed(1),
        ingestMs: +med.ingestMs.toFixed(1),
        // every repetition, and the warm-up (the first catch-up this process runs: ingest code not yet optimised)
        allMs: reps.slice(1).map((x) => +x.ms.toFixed(1)),
        warmupMs: +reps[0].ms.toFixed(1),
        warmupValue: Math.round(target / (reps[0].ms / 1000)),
        note: `median of ${CATCH_UP_REPS} after a warm-up, each a fresh replica`,
        replica: 'Database on MemoryFileSystem (Node), SSE via FetchEventSource',
        relay: '@hearth/relay in its own process (hearth-relay serve), NodeFileSystem data dir, loopback',
      });
      ctx.log(`  median of ${CATCH_UP_REPS}: ${Math.round(target / (med.ms / 1000))} entries/s (warm-up ${Math.round(target / (reps[0].ms / 1000))}/s)`);
    }

    // ---- live latency through the relay: A commits, B's onCommit fires
    {
      const b = devices[1];
      await connect(a, relay!);
      const writes = ctx.quick ? 50 : 300;
      const warmup = 20;
      const seen = new Map<string, number>();
      const off = b.db.onCommit((ev) => {
        const t = now();
        for (const c of ev.changes) if (c.collection === 'live') seen.set(c.id, t);
      });
      const lat: number[] = [];
      ctx.log(`live-relay: ${writes} writes`);
      for (let i = 0; i < warmup + writes; i++) {
        const id = `l${i}`;
        let ta = 0;
        const offA = a.db.onCommit((ev) => {
          if (ev.local) ta = now();
        });
        await a.db.put('live', id, { i, pad: 'x'.repeat(100) });
        offA();
        await until(() => seen.has(id), `B to see ${id}`, 20_000, 0);
        if (i >= warmup) lat.push(seen.get(id)! - ta);
      }
      off();
      await drop(a, 'live done');
      const extra = { n: writes, devices: 'two Node devices (Database on MemoryFileSystem), a relay process, loopback SSE down / POST up' };
      rows.push({ workload: 'live-relay-p50', system: 'hearth', value: +percentile(lat, 50).toFixed(2), unit: 'ms', ...extra });
      rows.push({ workload: 'live-relay-p99', system: 'hearth', value: +percentile(lat, 99).toFixed(2), unit: 'ms', ...extra });
    }

    // ---- catch-up into a fresh replica in Chromium: everything the relay holds (the N entries, the admissions and
    // the live-relay writes), counted and timed in the worker
    if (process.env.HEARTH_BENCH_NO_BROWSER !== '1') {
      const { withBrowser } = await import('../../test/browser/harness.js');
      // What the relay holds: B, a member connected through every write since the catch-up, holds the same.
      const total = held(devices[1].db);
      ctx.log(`catch-up in Chromium: ${total} entries`);
      const runs = await withBrowser(async (s) => {
        const url = await s.bundle('bench/sync/catch-up.worker.ts', {
          define: {
            RELAY_URL: JSON.stringify(relay!.url),
            DEVICE_SECRET: JSON.stringify(hex(exportSecretKey(browserKey))),
            SPACE_HEX: JSON.stringify(hex(space)),
            TARGET: String(total),
            REPS: String(CATCH_UP_REPS),
          },
        });
        return s.runWorker<{ rep: number; ms: number; held: number; ingestMs: number; setupMs: number }>(url, { timeoutMs: 600_000 });
      });
      for (const r of runs) ctx.log(`  ${r.rep === 0 ? 'warm-up' : `rep ${r.rep}`}: ${r.held} entries in ${r.ms.toFixed(0)} ms = ${Math.round(r.held / (r.ms / 1000))}/s (${r.ingestMs.toFixed(0)} ms in ingest, ${r.setupMs.toFixed(0)} ms before the first ingest)`);
      const warm = runs.find((r) => r.rep === 0)!;
      const measured = runs.filter((r) => r.rep > 0).sort((x, y) => x.ms - y.ms);
      if (measured.length !== CATCH_UP_REPS) throw new Error(`sync bench: expected ${CATCH_UP_REPS} browser catch-ups, got ${measured.length}`);
      const res = measured[measured.length >> 1];
      rows.push({
        workload: `catch-up-${size}-browser`,
        system: 'hearth',
        value: Math.round(res.held / (res.ms / 1000)),
        unit: 'entries/s',
        n: res.held,
        reps: CATCH_UP_REPS,
        ms: +res.ms.toFixed(1),
        ingestMs: +res.ingestMs.toFixed(1),
        setupMs: +res.setupMs.toFixed(1),
        allMs: runs.filter((r) => r.rep > 0).map((r) => +r.ms.toFixed(1)),
        warmupMs: +warm.ms.toFixed(1),
        warmupValue: Math.round(warm.held / (warm.ms / 1000)),
        note: `median of ${CATCH_UP_REPS} after a warm-up, each a fresh replica in the same worker`,
        replica: 'Chromium dedicated worker, Database on MemoryFileSystem, FetchEventSource over the browser fetch',
        relay: '@hearth/relay in its own process (hearth-relay serve), loopback, CORS',
      });
      ctx.log(`  median of ${CATCH_UP_REPS}: ${Math.round(res.held / (res.ms / 1000))} entries/s (warm-up ${Math.round(warm.held / (warm.ms / 1000))}/s)`);
    }
  } finally {
    for (const d of devices) await close(d).catch(() => undefined);
    if (fillerOpen) await filler.close();
    await relay?.close();
  }

  if (process.env.HEARTH_BENCH_NO_BROWSER !== '1') {
    ctx.log('live-webrtc (two Chromium profiles)');
    const { measureLiveWebRtc } = await import('../../test/browser/webrtc-bench.js');
    rows.push(...(await measureLiveWebRtc(ctx.quick ? { writes: 50, warmup: 5 } : {})));
  }
  return rows;
}
