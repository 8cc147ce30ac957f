/**
 * The Chromium catch-up of `catch-up-*-browser` as a page module, so that `profile-catch-up-browser.ts` can record
 * a CPU profile of it through the page's DevTools session (dedicated workers have none of their own there). Same
 * replica as bench/sync/catch-up.worker.ts: `Database` on `MemoryFileSystem`, `SyncNode`, `openRelayTransport`
 * with its default event-stream client (FetchEventSource over the browser's fetch). Not a benchmark row: profiling only.
 */
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { keypairFromSecretKey } from '@hearth/log';
import { DatabaseReplica, SyncNode, openRelayTransport } from '@hearth/sync';

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

/** What {@link run} measured (ms): the whole catch-up, the time inside ingest, and the time between ingests. */
export interface CatchUpTimes {
  ms: number;
  ingestMs: number;
  gapsMs: number;
  held: number;
}

/**
 * Catches up a fresh replica of `spaceHex` from the relay at `relayUrl` until it holds `target` entries.
 * @param secretHex the device's 32-byte secret key (a member of the space), hex
 */
export async function run(relayUrl: string, secretHex: string, spaceHex: string, target: number): Promise<CatchUpTimes> {
  const keypair = keypairFromSecretKey(fromHex(secretHex));
  const space = fromHex(spaceHex);
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair });
  const replica = new DatabaseReplica(db);
  const ingest = replica.ingest.bind(replica);
  let ingestMs = 0;
  let gapsMs = 0;
  let lastEnd = -1;
  replica.ingest = async (entries) => {
    const t = performance.now();
    if (lastEnd >= 0) gapsMs += t - lastEnd;
    try {
      return await ingest(entries);
    } finally {
      lastEnd = performance.now();
      ingestMs += lastEnd - t;
    }
  };
  const node = new SyncNode({ replica, keypair, space });
  const held = (): number => db.stateVector().reduce((n, e) => n + e.seq, 0);
  const t0 = performance.now();
  const { transport } = await openRelayTransport({ url: relayUrl, space, keypair });
  node.connect(transport);
  const end = Date.now() + 600_000;
  while (held() < target) {
    if (Date.now() > end) throw new Error(`timed out: ${held()} of ${target} entries`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - t0;
  const result = { ms, ingestMs, gapsMs, held: held() };
  transport.close();
  node.close();
  await db.close();
  return result;
}
