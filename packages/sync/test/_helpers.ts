/** Test helpers: replicas (real Databases on MemoryFileSystem) with sync nodes, and a way to wait for quiet. */
import { MemoryFileSystem, type FileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { generateKeypair, keypairFromSecretKey, type Keypair } from '@hearth/log';
import { DatabaseReplica, SyncNode, type SyncEvent, type SyncNodeOptions } from '../src/index.js';

export interface Peer {
  name: string;
  keypair: Keypair;
  fs: FileSystem;
  db: Database;
  node: SyncNode;
  events: SyncEvent[];
}

export async function openPeer(
  name: string,
  space: Uint8Array | null,
  options: { keypair?: Keypair; fs?: FileSystem; wallClock?: () => number; node?: Partial<SyncNodeOptions> } = {},
): Promise<Peer> {
  const keypair = options.keypair ?? generateKeypair();
  const fs = options.fs ?? new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair, ...(options.wallClock ? { wallClock: options.wallClock } : {}) });
  const replica = new DatabaseReplica(db, options.wallClock ? { wallClock: options.wallClock } : {});
  const node = new SyncNode({ replica, keypair, space: space ?? keypair.publicKey, ...options.node });
  const events: SyncEvent[] = [];
  node.on((e) => events.push(e));
  return { name, keypair, fs, db, node, events };
}

/** A keypair from a seed byte (deterministic tests). */
export function seededKeypair(seed: number): Keypair {
  const sk = new Uint8Array(32);
  sk[0] = seed & 0xff;
  sk[1] = (seed >>> 8) & 0xff;
  sk[31] = 0x5a;
  return keypairFromSecretKey(sk);
}

/**
 * Waits until every node is idle across a few macrotask turns (memory transports deliver by microtask; WebCrypto
 * hashing completes on a later macrotask, so idleness is awaited, not counted in turns).
 */
export async function quiet(peers: readonly Peer[], limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let calm = 0;
  while (Date.now() < deadline) {
    await Promise.all(peers.map((p) => p.node.idle()));
    await new Promise((r) => setImmediate(r));
    if (peers.every((p) => p.node.busyCount === 0)) {
      if (++calm >= 3) return;
    } else calm = 0;
  }
  throw new Error('peers did not go quiet');
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export function kinds(events: readonly SyncEvent[]): string[] {
  return events.map((e) => (e.type === 'rejected' ? `rejected:${e.error.code}` : e.type === 'notice' ? `notice:${e.notice.kind}:${e.notice.code}` : e.type));
}
