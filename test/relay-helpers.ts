/**
 * Helpers of the relay tests (`test/relay-*.test.ts`): a relay in a temp directory on a loopback port, devices
 * (real Databases on MemoryFileSystem with SyncNodes) that connect to it through the SSE transport, and bounded
 * waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryFileSystem, type FileSystem } from '@hearth/io';
import { Database } from '@hearth/db';
import { generateKeypair, type Keypair } from '@hearth/log';
import { DatabaseReplica, FetchEventSource, SyncNode, openRelayTransport, type EventSourceConstructor, type SseClientTransport, type SyncEvent } from '@hearth/sync';
import { createRelay, type Relay, type RelayOptions } from '@hearth/relay';

/** Node 20 has no EventSource: the fetch-based one of `@hearth/sync`. */
export const ES: EventSourceConstructor = FetchEventSource;

export interface TestRelay {
  relay: Relay;
  dir: string;
  /** Closes the relay (gracefully) and removes the directory. */
  dispose(): Promise<void>;
}

export async function startRelay(options: Partial<RelayOptions> = {}, dir?: string): Promise<TestRelay> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'hearth-relay-'));
  const relay = await createRelay({ dataDir: d, port: 0, heartbeatMs: 0, ...options });
  return {
    relay,
    dir: d,
    dispose: async () => {
      await relay.close();
      if (dir === undefined) rmSync(d, { recursive: true, force: true });
    },
  };
}

export interface Device {
  name: string;
  keypair: Keypair;
  fs: FileSystem;
  db: Database;
  node: SyncNode;
  events: SyncEvent[];
  transport: SseClientTransport | null;
}

export async function openDevice(name: string, space: Uint8Array | null, keypair: Keypair = generateKeypair()): Promise<Device> {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'db', keypair });
  const node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space: space ?? keypair.publicKey });
  const events: SyncEvent[] = [];
  node.on((e) => events.push(e));
  return { name, keypair, fs, db, node, events, transport: null };
}

/** Authenticates the device to the relay and connects its node through an SSE transport. */
export async function connect(device: Device, relay: Relay): Promise<{ relayKey: Uint8Array }> {
  const { transport, grant } = await openRelayTransport({ url: relay.url, space: device.node.space, keypair: device.keypair, EventSource: ES });
  device.transport = transport;
  device.node.connect(transport);
  return { relayKey: grant.relayKey };
}

export async function disconnect(device: Device): Promise<void> {
  device.transport?.close('test disconnect');
  device.transport = null;
  await device.node.idle();
}

export async function closeDevice(device: Device): Promise<void> {
  await disconnect(device);
  device.node.close();
  await device.db.close();
}

/** Polls `cond` every 10 ms until it holds, or fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Total entries held per state vector. */
export function held(db: Database): number {
  return db.stateVector().reduce((n, e) => n + e.seq, 0);
}

export function sameState(a: Database, b: Database): boolean {
  return hex(a.stateHash()) === hex(b.stateHash()) && held(a) === held(b);
}
