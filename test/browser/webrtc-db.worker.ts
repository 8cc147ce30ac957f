/**
 * The database worker of `webrtc-db.test.ts` (one per browser profile): a real `Database` on OPFS with a
 * `SyncNode`; the page (`webrtc-db.page.ts`) hands it one MessagePort per WebRTC connection, which becomes a
 * Transport here (`transportFromPort`) and a sync session. Requests: `{ id, op, args }` -> `{ id, ok, result |
 * error }`.
 */
import { Database, type Document } from '@hearth/db';
import { OpfsFileSystem } from '@hearth/io';
import { keypairFromSecretKey, type Keypair } from '@hearth/log';
import { DatabaseReplica, SyncNode, openRelayTransport, type SseClientTransport, type SyncEvent } from '@hearth/sync';
import { transportFromPort } from '@hearth/sync/webrtc';

const fromHex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16));
let db: Database | null = null;
let keypair: Keypair | null = null;
let node: SyncNode | null = null;
const events: string[] = [];
let relayTransport: SseClientTransport | null = null;
/** Wall-clock times (performance.timeOrigin + now) at which documents first appeared by commit, for the bench. */
const seenAt = new Map<string, number>();

const ops: Record<string, (args: unknown[], ports: readonly MessagePort[]) => Promise<unknown>> = {
  async open([sk, space, admit]) {
    keypair = keypairFromSecretKey(fromHex(sk as string));
    const fs = await OpfsFileSystem.open('hearth-webrtc-db');
    db = await Database.open({ fs, name: 'db', keypair });
    node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space: fromHex(space as string) });
    node.on((e: SyncEvent) => {
      if (e.type === 'rejected' || e.type === 'session-error' || e.type === 'fork') events.push(`${e.type}: ${'error' in e ? String((e as { error: unknown }).error) : ''}`);
    });
    db.onCommit((c) => {
      const t = performance.timeOrigin + performance.now();
      for (const ch of c.changes) if (!seenAt.has(ch.id)) seenAt.set(ch.id, t);
    });
    for (const d of admit as string[]) await node.admit(fromHex(d), 'member');
    return null;
  },
  async relaySync([url]) {
    const { transport, grant } = await openRelayTransport({ url: url as string, space: node!.space, keypair: keypair! });
    relayTransport = transport;
    node!.connect(transport);
    await node!.admit(grant.relayKey, 'member');
    return null;
  },
  async relayOpen() {
    return relayTransport !== null && !relayTransport.closed;
  },
  async connect(_args, ports) {
    const t = await transportFromPort(ports[0]);
    node!.connect(t);
    return null;
  },
  async put([collection, id, doc]) {
    await db!.put(collection as string, id as string, doc as Document);
    return performance.timeOrigin + performance.now();
  },
  async get([collection, id]) {
    return db!.get(collection as string, id as string) ?? null;
  },
  async waitFor([collection, id, timeoutMs]) {
    const deadline = performance.now() + (timeoutMs as number);
    while (performance.now() < deadline) {
      const d = db!.get(collection as string, id as string);
      if (d !== undefined) return d;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`${collection}/${id} did not arrive within ${timeoutMs} ms; sync events: ${events.join('; ') || 'none'}; sessions ${node!.sessions.length}`);
  },
  /** When each document was first committed here (local write or ingest), ms since the epoch (or null). */
  async times([ids]) {
    return (ids as string[]).map((id) => seenAt.get(id) ?? null);
  },
  async stats() {
    return { sessions: node!.sessions.length, events };
  },
};

self.onmessage = async (e: MessageEvent<{ id: number; op: string; args: unknown[] }>) => {
  const { id, op, args } = e.data;
  try {
    const result = await ops[op](args, e.ports);
    self.postMessage({ id, ok: true, result });
  } catch (err) {
    self.postMessage({ id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
