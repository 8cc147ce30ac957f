/**
 * CPU profile of the Chromium catch-up (the receiving replica of `catch-up-*-browser`), for finding where its time
 * goes; not a benchmark. Prepares what bench/suites/sync.ts prepares (device A writes N single `put`s and pushes
 * them to an in-process relay on loopback), then runs bench/sync/catch-up.page.ts in a Chromium page under the
 * DevTools profiler and writes the `.cpuprofile` (open in Chrome DevTools, or summarise by self/inclusive time).
 *
 *   node --conditions=hearth-source --import tsx bench/sync/profile-catch-up-browser.ts [N] [out.cpuprofile]
 *
 * (from the repository root: the browser harness bundles and serves paths relative to it).
 *
 * Defaults: N = 10,000, out = `catch-up-browser.cpuprofile` in the working directory. The relay runs in this
 * process; `HEARTH_BENCH_CPUPROFILE=<file>` also writes its CPU profile of the catch-up.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { exportSecretKey, generateKeypair } from '@hearth/log';
import { DatabaseReplica, FetchEventSource, SyncNode, openRelayTransport } from '@hearth/sync';
import { createRelay } from '@hearth/relay';
import { withBrowser } from '../../test/browser/harness.js';
import type { CatchUpTimes } from './catch-up.page.js';

/**
 * `HEARTH_BENCH_CPUPROFILE=<file>`: also a V8 CPU profile of this process (the relay) during the catch-up alone.
 * Returns the function that stops it and writes the file (a no-op without the variable).
 */
async function startRelayProfile(): Promise<() => Promise<void>> {
  const file = process.env.HEARTH_BENCH_CPUPROFILE;
  if (!file) return async () => undefined;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const n = Number(process.argv[2] ?? 10_000);
const out = process.argv[3] ?? 'catch-up-browser.cpuprofile';
if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`N expected a positive integer, got ${process.argv[2]}`);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const held = (db: Database): number => db.stateVector().reduce((k, e) => k + e.seq, 0);

const dataDir = mkdtempSync(join(tmpdir(), 'hearth-profile-relay-'));
const relay = await createRelay({ dataDir, port: 0, heartbeatMs: 0, corsOrigins: ['*'] });
const a = generateKeypair();
const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair: a });
const node = new SyncNode({ replica: new DatabaseReplica(db), keypair: a, space: a.publicKey });
try {
  console.log(`writing ${n} entries`);
  for (let i = 0; i < n; i++) await db.put('notes', `n${i}`, { i, text: `note ${i}` });
  const device = generateKeypair();
  await node.admit(device.publicKey);
  const { transport, grant } = await openRelayTransport({ url: relay.url, space: a.publicKey, keypair: a, EventSource: FetchEventSource });
  node.connect(transport);
  await node.admit(grant.relayKey);
  const host = (): Database | undefined => relay.spaces.get(hex(a.publicKey))?.db;
  const want = held(db);
  while (host() === undefined || held(host()!) < want) await new Promise((r) => setTimeout(r, 20));
  transport.close();
  await node.idle();
  const total = held(host()!);
  console.log(`relay holds ${total} entries; profiling the catch-up in Chromium`);
  const times = await withBrowser(async (s) => {
    const url = await s.bundle('bench/sync/catch-up.page.ts'); // an ES module: its exports are imported below
    const relayProfile = await startRelayProfile();
    const cdp = await s.context.newCDPSession(s.page);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.start');
    const r = await s.page.evaluate(
      async ([u, relayUrl, secret, space, target]) => {
        const m = (await import(u as string)) as typeof import('./catch-up.page.js');
        return m.run(relayUrl as string, secret as string, space as string, target as number);
      },
      [url, relay.url, hex(exportSecretKey(device)), hex(a.publicKey), total] as const,
    );
    const { profile } = await cdp.send('Profiler.stop');
    writeFileSync(out, JSON.stringify(profile));
    await relayProfile();
    return r as CatchUpTimes;
  });
  console.log(`${times.held} entries in ${times.ms.toFixed(0)} ms: ${times.ingestMs.toFixed(0)} ms in ingest, ${times.gapsMs.toFixed(0)} ms between ingests; profile written to ${out}`);
} finally {
  node.close();
  await db.close();
  await relay.close();
  rmSync(dataDir, { recursive: true, force: true });
}
