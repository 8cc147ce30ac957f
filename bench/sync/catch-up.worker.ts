/**
 * In Chromium (a dedicated worker; the default FetchEventSource over the browser's fetch): a fresh replica (`Database` on
 * `MemoryFileSystem`, `SyncNode`, `openRelayTransport`) catches up from a live relay. Driven by bench/suites/sync.ts
 * (`catch-up-*-browser`): a warm-up, then `REPS` catch-ups, each into a fresh replica of the same key. Posts per
 * run `{ rep, ms, held }` (rep 0 = the warm-up): the time from just before authentication to the moment the state
 * vector holds `TARGET` entries (each verified and applied by `ingest`), and `ingestMs`, the part of it spent inside
 * `DatabaseReplica.ingest`, and `setupMs`, from the start to the first ingest (authentication, HELLO/AUTH/STATE).
 */
import { main, emit } from '../../test/browser/worker-kit.js';
import { MemoryFileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { keypairFromSecretKey } from '@hearth/log';
import { DatabaseReplica, SyncNode, openRelayTransport } from '@hearth/sync';

declare const RELAY_URL: string;
declare const DEVICE_SECRET: string;
declare const SPACE_HEX: string;
declare const TARGET: number;

const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));

/** Catch-ups after the warm-up (BENCHMARKS.md: warm up, then the median of >= 3); each a fresh replica. */
declare const REPS: number;

/** One catch-up into a fresh replica; returns what the file header says. */
async function catchUp(keypair: ReturnType<typeof keypairFromSecretKey>, space: Uint8Array): Promise<{ ms: number; held: number; ingestMs: number; setupMs: number }> {
  const db = await Database.open({ fs: new MemoryFileSystem(), name: 'db', keypair });
  // Time spent in ingest (verification, feed store, apply), to split the catch-up between it and the rest.
  const replica = new DatabaseReplica(db);
  const ingest = replica.ingest.bind(replica);
  let ingestMs = 0;
  let firstIngestAt = -1;
  replica.ingest = async (entries) => {
    const t = performance.now();
    if (firstIngestAt < 0) firstIngestAt = t;
    try {
      return await ingest(entries);
    } finally {
      ingestMs += performance.now() - t;
    }
  };
  const node = new SyncNode({ replica, keypair, space });
  const held = (): number => db.stateVector().reduce((n, e) => n + e.seq, 0);
  const t0 = performance.now();
  const { transport } = await openRelayTransport({ url: RELAY_URL, space, keypair });
  node.connect(transport);
  const end = Date.now() + 600_000;
  while (held() < TARGET) {
    if (Date.now() > end) throw new Error(`timed out: ${held()} of ${TARGET} entries`);
    await new Promise((r) => setTimeout(r, 2));
  }
  const ms = performance.now() - t0;
  const out = { ms, held: held(), ingestMs, setupMs: firstIngestAt - t0 };
  transport.close();
  await node.idle();
  node.close();
  await db.close();
  return out;
}

main(async () => {
  const keypair = keypairFromSecretKey(fromHex(DEVICE_SECRET));
  const space = fromHex(SPACE_HEX);
  // rep 0 is the warm-up
  for (let rep = 0; rep <= REPS; rep++) emit({ rep, ...(await catchUp(keypair, space)) });
});
