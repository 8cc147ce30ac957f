/**
 * Load: 100 concurrent SSE clients in one space while a device posts entries through the relay. Every client
 * receives every entry (each client is a minimal protocol speaker that counts entries per feed and ACKs them),
 * and the relay's memory stays bounded (loose heap and RSS deltas: the protocol window bounds what is buffered
 * per connection). Bounded by timeouts; loopback only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeypair, decodeEntryV1, signEd25519, type Keypair } from '@hearth/log';
import { packHlc } from '@hearth/crdt';
import { Deframer, Framer, membershipRecordId, decodeMessageV1, encodeMessageV1, openRelayTransport, syncConstants, type SyncMessage, type Transport } from '@hearth/sync';
import { ES, closeDevice, connect, hex, openDevice, startRelay, until } from './relay-helpers.js';

const CLIENTS = 100;
const WRITES = 30;

/** Counts the highest consecutive seq received per feed; ACKs each ENTRIES message. */
class Watcher {
  readonly heads = new Map<string, number>();
  private readonly framer: Framer;
  private readonly deframer = new Deframer();
  private processed = 0;
  private peerNonce: Uint8Array | null = null;
  readonly nonce = crypto.getRandomValues(new Uint8Array(32));
  gap = false;

  constructor(
    readonly transport: Transport,
    readonly keypair: Keypair,
    readonly space: Uint8Array,
  ) {
    this.framer = new Framer(transport.maxMessageBytes);
    transport.onMessage((f) => {
      const m = this.deframer.push(f);
      if (m !== null) this.on(decodeMessageV1(m), m.length);
    });
  }
  private send(msg: SyncMessage): void {
    if (this.transport.closed) return;
    for (const f of this.framer.frames(encodeMessageV1(msg))) this.transport.send(f);
  }
  private on(msg: SyncMessage, size: number): void {
    if (msg.type === 'hello') {
      this.peerNonce = msg.nonce;
      void this.auth();
    } else if (msg.type === 'entries') {
      const feed = hex(msg.feed);
      for (const bytes of msg.entries) {
        const e = decodeEntryV1(bytes);
        const head = this.heads.get(feed) ?? 0;
        if (e.seq === head + 1) this.heads.set(feed, e.seq);
        else if (e.seq > head + 1) this.gap = true;
      }
      this.processed += size;
      this.send({ type: 'ack', bytes: this.processed });
    }
  }
  start(): void {
    this.send({ type: 'hello', minVersion: 1, maxVersion: 1, space: this.space, feed: this.keypair.publicKey, nonce: this.nonce, window: 1 << 20, maxEntryBytes: 16 << 20 });
  }
  private async auth(): Promise<void> {
    const ctx = new TextEncoder().encode(syncConstants.AUTH_CONTEXT);
    const msg = new Uint8Array(ctx.length + 128);
    msg.set(ctx, 0);
    msg.set(this.space, ctx.length);
    msg.set(this.keypair.publicKey, ctx.length + 32);
    msg.set(this.peerNonce!, ctx.length + 64);
    msg.set(this.nonce, ctx.length + 96);
    this.send({ type: 'auth', signature: await signEd25519(msg, this.keypair.secretKey) });
    this.send({ type: 'state', items: [] });
  }
}

test(`${CLIENTS} concurrent SSE clients in one space all receive every entry; memory stays bounded`, { timeout: 120_000 }, async () => {
  const r = await startRelay({ maxConnectionsPerKey: 2 });
  const root = await openDevice('root', null);
  const space = root.keypair.publicKey;
  const watchers: Watcher[] = [];
  try {
    const { relayKey } = await connect(root, r.relay);
    await root.node.admit(relayKey);
    const keys = Array.from({ length: CLIENTS }, () => generateKeypair());
    // all admission records in one entry (docs/sync.md, "Membership records"): `at` a second before the commit's HLC
    const at = packHlc(Date.now() - 1000, 0);
    await root.db.transaction((tx) => {
      keys.forEach((k, i) => tx.put(syncConstants.MEMBERS_COLLECTION, membershipRecordId(k.publicKey, space, at + BigInt(i)), { action: 'admit', role: 'member' }));
    });
    const host = r.relay.spaces.get(hex(space))!;
    await until(() => keys.every((k) => host.isMember(k.publicKey)), 'the relay to learn every admission', 30_000);

    const mem0 = process.memoryUsage();
    for (let i = 0; i < CLIENTS; i += 20) {
      const batch = await Promise.all(keys.slice(i, i + 20).map((k) => openRelayTransport({ url: r.relay.url, space, keypair: k, EventSource: ES })));
      batch.forEach(({ transport }, j) => {
        const w = new Watcher(transport, keys[i + j], space);
        w.start();
        watchers.push(w);
      });
    }
    assert.equal(r.relay.hub.size, CLIENTS + 1);
    // entries are posted while the clients are catching up
    for (let i = 0; i < WRITES; i++) await root.db.put('load', `d${i}`, { i, text: `entry ${i} `.repeat(8) });
    const rootHex = hex(space);
    const target = root.db.stateVector().find((e) => hex(e.feed) === rootHex)!.seq;
    await until(() => watchers.every((w) => (w.heads.get(rootHex) ?? 0) >= target), `every client to receive all ${target} entries`, 90_000);
    assert.ok(watchers.every((w) => !w.gap && w.heads.get(rootHex) === target), 'a client saw a gap or a different head');
    assert.ok(watchers.every((w) => !w.transport.closed), 'a client connection closed');
    const mem1 = process.memoryUsage();
    const heapDelta = (mem1.heapUsed - mem0.heapUsed) / 2 ** 20;
    const rssDelta = (mem1.rss - mem0.rss) / 2 ** 20;
    console.log(`load: ${CLIENTS} clients x ${target} entries; heap +${heapDelta.toFixed(1)} MiB, rss +${rssDelta.toFixed(1)} MiB (clients and relay in one process)`);
    assert.ok(heapDelta < 256, `heap grew by ${heapDelta.toFixed(1)} MiB`);
    assert.ok(rssDelta < 512, `rss grew by ${rssDelta.toFixed(1)} MiB`);
    assert.match(r.relay.metrics(), new RegExp(`hearth_relay_connections ${CLIENTS + 1}\\n`));
  } finally {
    for (const w of watchers) w.transport.close();
    await closeDevice(root);
    await r.dispose();
  }
});
