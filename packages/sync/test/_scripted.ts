/**
 * A scripted peer for adversarial tests: it speaks the wire protocol by hand (frames and messages from the spec),
 * so it can send what an honest SyncSession never would (forged, broken, forked, oversized, malformed entries).
 */
import { encodeFieldValueV1, encodeOpsV1, type Op } from '@hearth/db';
import { signEd25519, signEntry, type Keypair, type VerifiedEntry } from '@hearth/log';
import { packHlc } from '@hearth/crdt';
import {
  Deframer,
  Framer,
  decodeMessageV1,
  encodeMessageV1,
  syncConstants,
  type HelloMessage,
  type SyncMessage,
  type Transport,
} from '../src/index.js';

const utf8 = new TextEncoder();

export class ScriptedPeer {
  readonly received: SyncMessage[] = [];
  private readonly framer: Framer;
  private readonly deframer = new Deframer();
  readonly nonce = new Uint8Array(32).fill(9);
  victimHello: HelloMessage | null = null;

  constructor(
    readonly transport: Transport,
    readonly keypair: Keypair,
    readonly space: Uint8Array,
  ) {
    this.framer = new Framer(transport.maxMessageBytes);
    transport.onMessage((f) => {
      const m = this.deframer.push(f);
      if (m === null) return;
      const msg = decodeMessageV1(m);
      if (msg.type === 'hello') this.victimHello = msg;
      this.received.push(msg);
    });
  }

  send(msg: SyncMessage): void {
    this.sendRaw(encodeMessageV1(msg));
  }

  sendRaw(message: Uint8Array): void {
    for (const f of this.framer.frames(message)) this.transport.send(f);
  }

  /** HELLO, then (once the victim's HELLO is in) AUTH and an empty STATE. */
  async handshake(settle: () => Promise<void>): Promise<void> {
    this.send({
      type: 'hello',
      minVersion: 1,
      maxVersion: 1,
      space: this.space,
      feed: this.keypair.publicKey,
      nonce: this.nonce,
      window: 1 << 20,
      maxEntryBytes: 16 << 20,
    });
    for (let i = 0; i < 50 && this.victimHello === null; i++) await settle();
    if (this.victimHello === null) throw new Error('no HELLO from the victim');
    const ctx = utf8.encode(syncConstants.AUTH_CONTEXT);
    const msg = new Uint8Array(ctx.length + 128);
    msg.set(ctx, 0);
    msg.set(this.space, ctx.length);
    msg.set(this.keypair.publicKey, ctx.length + 32);
    msg.set(this.victimHello.nonce, ctx.length + 64);
    msg.set(this.nonce, ctx.length + 96);
    this.send({ type: 'auth', signature: await signEd25519(msg, this.keypair.secretKey) });
    this.send({ type: 'state', items: [] });
    await settle();
  }

  notices(): Extract<SyncMessage, { type: 'notice' }>[] {
    return this.received.filter((m): m is Extract<SyncMessage, { type: 'notice' }> => m.type === 'notice');
  }

  acks(): number {
    return this.received.filter((m) => m.type === 'ack').length;
  }
}

/** A put op in the db's ops format. */
export function putOp(collection: string, id: string, hlc: bigint, fields: Record<string, string | number | Uint8Array>): Op {
  return { kind: 'put', collection, id, hlc, fields: new Map(Object.entries(fields).map(([k, v]) => [k, encodeFieldValueV1(v)])) };
}

/** A signed entry of `keypair`'s feed holding `ops` (entry HLC = the last op's). */
export async function entryOf(keypair: Keypair, seq: number, prev: Uint8Array | undefined, ops: Op[]): Promise<VerifiedEntry> {
  return signEntry({ seq, prev, hlc: ops[ops.length - 1].hlc, ops: encodeOpsV1(ops) }, keypair);
}

let counter = 0;
/** An HLC near the wall clock, distinct per call. */
export function nowHlc(offsetMs = 0): bigint {
  return packHlc(Date.now() + offsetMs, (counter++ & 0xfff) + 1);
}
