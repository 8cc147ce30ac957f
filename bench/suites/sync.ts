/**
 * `npm run bench -- sync [--quick]`: Hearth's sync through a relay (`@hearth/relay`, started in-process on a free
 * loopback port with its data directory under the suite's tmp dir) and over WebRTC. No baselines: rows are `hearth`.
 *
 * Workloads:
 * - `catch-up-100000-node` (entries/s): a relay holds a space with N = 100,000 entries (10,000 with `--quick`);
 *   a fresh Node replica (a `Database` on `MemoryFileSystem`, a `SyncNode` with the fetch-based SSE client)
 *   authenticates, connects and pulls all of them. Timed from just before authentication to the moment the
 *   replica's state vector holds all N entries, each verified (signature/hash chain) and applied by `ingest`.
 *   Preparation (not timed): device A (Database on `MemoryFileSystem`) writes N single awaited `put`s of ~40-byte
 *   documents, so every put is its own signed entry (N entries, not group-committed batches), then pushes them to
 *   the relay over SSE/POST; the relay stores and fsyncs them in its data directory before the replica connects.
 * - `live-relay-p50`, `live-relay-p99` (ms): from a commit on device A (`Database.onCommit`, local) to the
 *   `onCommit` callback on device B (what live queries run on), both Node devices (Databases on
 *   `MemoryFileSystem`) connected to the same relay over loopback SSE. 300 writes (50 with `--quick`), one at a
 *   time, each waiting until B has it; 20 unmeasured warm-up writes first. Both times are `performance.now()` in
 *   one process.
 * - `live-webrtc-p50`, `live-webrtc-p99` (ms): `measureLiveWebRtc()` of test/browser/webrtc-bench.ts (two
 *   Chromium profiles, OPFS, loopback WebRTC). `HEARTH_BENCH_NO_BROWSER=1` skips it.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { generateKeypair, type Keypair } from '@hearth/log';
import { DatabaseReplica, FetchEventSource, SyncNode, openRelayTransport, type SseClientTransport } from '@hearth/sync';
import { createRelay, type Relay } from '@hearth/relay';
import { now, percentile, type Row, type SuiteContext } from '../lib.js';

interface Device {
  keypair: Keypair;
  db: Database;
  node: SyncNode;
  transport: SseClientTransport | null;
}

async function openDevice(space: Uint8Array | null): Promise<Device> {
  const keypair = generateKeypair();
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair });
  const node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space: space ?? keypair.publicKey });
  return { keypair, db, node, transport: null };
}

async function connect(d: Device, relay: Relay): Promise<Uint8Array> {
  const { transport, grant } = await openRelayTransport({ url: relay.url, space: d.node.space, keypair: d.keypair, EventSource: FetchEventSource });
  d.transport = transport;
  d.node.connect(transport);
  return grant.relayKey;
}

async function close(d: Device): Promise<void> {
  d.transport?.close('bench done');
  d.transport = null;
  await d.node.idle();
  d.node.close();
  await d.db.close();
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

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export default async function syncSuite(ctx: SuiteContext): Promise<Row[]> {
  const rows: Row[] = [];
  const n = ctx.quick ? 10_000 : 100_000;
  const dataDir = join(ctx.tmpDir, 'relay');
  mkdirSync(dataDir, { recursive: true });
  const relay = await createRelay({ dataDir, port: 0, heartbeatMs: 0 });
  const a = await openDevice(null);
  const space = a.keypair.publicKey;
  const devices: Device[] = [a];
  try {
    // ---- prepare: A writes n single entries and pushes them to the relay
    ctx.log(`preparing ${n} entries on device A`);
    let t = now();
    for (let i = 0; i < n; i++) await a.db.put('notes', `n${i}`, { i, text: `note ${i}` });
    if (held(a.db) !== n) throw new Error(`sync bench: expected ${n} entries on A, have ${held(a.db)}`);
    ctx.log(`  written in ${((now() - t) / 1000).toFixed(1)} s; pushing to the relay`);
    t = now();
    const relayKey = await connect(a, relay);
    await a.node.admit(relayKey);
    const host = (): Database | undefined => relay.spaces.get(hex(space))?.db;
    await until(() => host() !== undefined && held(host()!) >= n, 'the relay to hold all entries');
    ctx.log(`  relay holds ${n} entries after ${((now() - t) / 1000).toFixed(1)} s`);
    a.transport?.close('prepared');
    a.transport = null;
    await a.node.idle();

    // ---- catch-up into a fresh Node replica
    {
      const b = await openDevice(space);
      devices.push(b);
      await a.node.admit(b.keypair.publicKey); // local admission; pushed to the relay on A's next connection
      await connect(a, relay);
      await until(() => relay.spaces.get(hex(space))!.isMember(b.keypair.publicKey), 'the relay to learn B is a member');
      a.transport?.close('admitted B');
      a.transport = null;
      await a.node.idle();
      const target = held(host()!);
      ctx.log(`catch-up: fresh replica pulls ${target} entries`);
      const t0 = now();
      await connect(b, relay);
      await until(() => held(b.db) >= target, 'the replica to catch up', 600_000, 2);
      const ms = now() - t0;
      if (b.db.get('notes', `n${n - 1}`) === undefined) throw new Error('sync bench: the last document is missing on the replica');
      rows.push({
        workload: `catch-up-${ctx.quick ? 10_000 : 100_000}-node`,
        system: 'hearth',
        value: Math.round(target / (ms / 1000)),
        unit: 'entries/s',
        n: target,
        ms: +ms.toFixed(1),
        replica: 'Database on MemoryFileSystem (Node), SSE via FetchEventSource',
        relay: 'in-process @hearth/relay, NodeFileSystem data dir, loopback',
      });
      ctx.log(`  ${target} entries in ${ms.toFixed(0)} ms`);
    }

    // ---- live latency through the relay: A commits, B's onCommit fires
    {
      const b = devices[1];
      await connect(a, relay);
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
      const extra = { n: writes, devices: 'two Node devices (Database on MemoryFileSystem), one in-process relay, loopback SSE down / POST up' };
      rows.push({ workload: 'live-relay-p50', system: 'hearth', value: +percentile(lat, 50).toFixed(2), unit: 'ms', ...extra });
      rows.push({ workload: 'live-relay-p99', system: 'hearth', value: +percentile(lat, 99).toFixed(2), unit: 'ms', ...extra });
    }
  } finally {
    for (const d of devices) await close(d).catch(() => undefined);
    await relay.close();
  }

  if (process.env.HEARTH_BENCH_NO_BROWSER !== '1') {
    ctx.log('live-webrtc (two Chromium profiles)');
    const { measureLiveWebRtc } = await import('../../test/browser/webrtc-bench.js');
    rows.push(...(await measureLiveWebRtc(ctx.quick ? { writes: 50, warmup: 5 } : {})));
  }
  return rows;
}
