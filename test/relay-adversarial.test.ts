/**
 * Adversarial clients against a live relay over loopback. Bad entries travel inside the sync protocol (a scripted
 * peer speaks it by hand over the SSE transport): each kind is refused with its typed code in a NOTICE, the
 * relay's stored data is unchanged, and the same connection keeps working. Bad HTTP (no token, a wrong key, a
 * replayed nonce, a non-member, oversized or malformed batches, too many streams, someone else's connection) is
 * refused with the right status and JSON error code. Throughout, an honest device keeps syncing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFieldValueV1, encodeOpsV1, type Op } from '@hearth/db';
import { packHlc } from '@hearth/crdt';
import { generateKeypair, signEd25519, signEntry, type Keypair, type VerifiedEntry } from '@hearth/log';
import {
  Deframer,
  Framer,
  RelayError,
  SseClientTransport,
  authenticateRelay,
  decodeMessageV1,
  encodeBatchV1,
  encodeMessageV1,
  openRelayTransport,
  relayAuthMessageV1,
  syncConstants,
  toBase64url,
  type HelloMessage,
  type SyncMessage,
  type Transport,
} from '@hearth/sync';
import type { SpaceHost } from '@hearth/relay';
import { ES, closeDevice, connect, hex, openDevice, startRelay, until, type Device, type TestRelay } from './relay-helpers.js';

const MAX_ENTRY = 16 * 1024;

/** Speaks the wire protocol by hand so it can send what an honest session never would. */
class Scripted {
  readonly received: SyncMessage[] = [];
  private readonly framer: Framer;
  private readonly deframer = new Deframer();
  private hello: HelloMessage | null = null;
  readonly nonce = crypto.getRandomValues(new Uint8Array(32));

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
      if (msg.type === 'hello') this.hello = msg;
      this.received.push(msg);
    });
  }
  send(msg: SyncMessage): void {
    for (const f of this.framer.frames(encodeMessageV1(msg))) this.transport.send(f);
  }
  async handshake(): Promise<void> {
    this.send({ type: 'hello', minVersion: 1, maxVersion: 1, space: this.space, feed: this.keypair.publicKey, nonce: this.nonce, window: 1 << 20, maxEntryBytes: 16 << 20 });
    await until(() => this.hello !== null, 'the relay HELLO');
    const ctx = new TextEncoder().encode(syncConstants.AUTH_CONTEXT);
    const msg = new Uint8Array(ctx.length + 128);
    msg.set(ctx, 0);
    msg.set(this.space, ctx.length);
    msg.set(this.keypair.publicKey, ctx.length + 32);
    msg.set(this.hello!.nonce, ctx.length + 64);
    msg.set(this.nonce, ctx.length + 96);
    this.send({ type: 'auth', signature: await signEd25519(msg, this.keypair.secretKey) });
    this.send({ type: 'state', items: [] });
    await until(() => this.received.some((m) => m.type === 'state'), 'the relay STATE');
  }
  notices(): Extract<SyncMessage, { type: 'notice' }>[] {
    return this.received.filter((m): m is Extract<SyncMessage, { type: 'notice' }> => m.type === 'notice');
  }
  acks(): number {
    return this.received.filter((m) => m.type === 'ack').length;
  }
}

let counter = 0;
const hlcNow = (offsetMs = 0): bigint => packHlc(Date.now() + offsetMs, (counter++ & 0xfff) + 1);
const put = (collection: string, id: string, hlc: bigint, fields: Record<string, number | Uint8Array>): Op => ({
  kind: 'put',
  collection,
  id,
  hlc,
  fields: new Map(Object.entries(fields).map(([k, v]) => [k, encodeFieldValueV1(v)])),
});
const entryOf = (kp: Keypair, seq: number, prev: Uint8Array | undefined, ops: Op[]): Promise<VerifiedEntry> =>
  signEntry({ seq, prev, hlc: ops[ops.length - 1].hlc, ops: encodeOpsV1(ops) }, kp);

let r: TestRelay;
let root: Device;
let honest: Device;
let host: SpaceHost;
const alice = generateKeypair(); // a member whose entries the courier relays
const bob = generateKeypair(); // a member for "a good entry afterwards"
const mallory = generateKeypair(); // admitted, then removed
const courier = generateKeypair(); // the scripted peer's own key (a member)
const carol = generateKeypair(); // the honest device's own key (never shared with the scripted peer: no fork races)
const stranger = generateKeypair(); // never admitted
let space: Uint8Array;
let evil: Scripted;
let bobSeq = 0;
let bobPrev: Uint8Array | undefined;

function stored(): string {
  return JSON.stringify([hex(host.db.stateHash()), host.db.stateVector().map((x) => [hex(x.feed), x.seq, hex(x.hash)])]);
}

async function stillServes(): Promise<void> {
  const e = await entryOf(bob, ++bobSeq, bobPrev, [put('notes', `good${bobSeq}`, hlcNow(), { ok: bobSeq })]);
  bobPrev = e.hash;
  evil.send({ type: 'entries', feed: bob.publicKey, entries: [e.bytes] });
  await until(() => host.db.get('notes', `good${bobSeq}`) !== undefined, 'a good entry after the bad one to be stored');
  assert.equal(evil.transport.closed, false, 'the connection was closed');
}

async function refusedWith(code: string, send: () => Promise<void>, seq?: number): Promise<void> {
  const before = stored();
  const n = evil.notices().length;
  await send();
  await until(() => evil.notices().length > n, `a NOTICE for ${code}`);
  const got = evil.notices().slice(n);
  assert.ok(got.some((x) => x.code === code && (seq === undefined || x.seq === seq)), `expected ${code}, got ${got.map((x) => `${x.kind}:${x.code}`).join()}`);
  await host.node.idle();
  assert.equal(stored(), before, 'the relay\'s stored data changed');
  await stillServes();
}

before(async () => {
  r = await startRelay({ node: { maxEntryBytes: MAX_ENTRY }, maxConnectionsPerKey: 3, maxMessagesPerPost: 8, maxMessageBytes: 32 * 1024, maxPostBytes: 64 * 1024 });
  root = await openDevice('root', null);
  space = root.keypair.publicKey;
  const { relayKey } = await connect(root, r.relay);
  await root.node.admit(relayKey);
  for (const k of [alice, bob, mallory, courier, carol]) await root.node.admit(k.publicKey);
  await root.node.remove(mallory.publicKey);
  host = r.relay.spaces.get(hex(space))!;
  await until(() => host.isMember(courier.publicKey) && host.isMember(carol.publicKey) && !host.isMember(mallory.publicKey), 'the relay to learn the membership');
  honest = await openDevice('honest', space, carol);
  await connect(honest, r.relay);
  const { transport } = await openRelayTransport({ url: r.relay.url, space, keypair: courier, EventSource: ES });
  evil = new Scripted(transport, courier, space);
  await evil.handshake();
});

after(async () => {
  await closeDevice(root);
  await closeDevice(honest);
  await r.dispose();
});

test('forged signature: HEARTH_INVALID_SIGNATURE', async () => {
  await refusedWith('HEARTH_INVALID_SIGNATURE', async () => {
    const e = await entryOf(alice, 1, undefined, [put('notes', 'x', hlcNow(), { v: 1 })]);
    const forged = e.bytes.slice();
    forged[forged.length - 1] ^= 1;
    evil.send({ type: 'entries', feed: alice.publicKey, entries: [forged] });
  }, 1);
});

test('broken chain: HEARTH_BROKEN_CHAIN, neither entry of the run stored', async () => {
  await refusedWith('HEARTH_BROKEN_CHAIN', async () => {
    const e1 = await entryOf(alice, 1, undefined, [put('notes', 'a1', hlcNow(), { v: 1 })]);
    const e2 = await entryOf(alice, 2, new Uint8Array(32).fill(3), [put('notes', 'a2', hlcNow(), { v: 2 })]);
    evil.send({ type: 'entries', feed: alice.publicKey, entries: [e1.bytes, e2.bytes] });
  });
  assert.equal(host.db.get('notes', 'a1'), undefined);
});

test('fork: a second entry at a held seq is HEARTH_FORK; the stored entry stays', async () => {
  const e1 = await entryOf(alice, 1, undefined, [put('notes', 'f1', hlcNow(), { v: 1 })]);
  evil.send({ type: 'entries', feed: alice.publicKey, entries: [e1.bytes] });
  await until(() => host.db.get('notes', 'f1') !== undefined, 'the first entry');
  await refusedWith('HEARTH_FORK', async () => {
    const other = await entryOf(alice, 1, undefined, [put('notes', 'f1', hlcNow(), { v: 666 })]);
    evil.send({ type: 'entries', feed: alice.publicKey, entries: [other.bytes] });
  });
  assert.deepEqual(host.db.get('notes', 'f1'), { v: 1 });
});

test('oversized entry (over the relay\'s limit): HEARTH_ENTRY_TOO_LARGE', async () => {
  await refusedWith('HEARTH_ENTRY_TOO_LARGE', async () => {
    const big = await entryOf(generateKeypairFor('big'), 1, undefined, [put('notes', 'big', hlcNow(), { data: new Uint8Array(MAX_ENTRY + 100) })]);
    evil.send({ type: 'entries', feed: big.feed, entries: [big.bytes] });
  }, 1);
});

test('malformed entry bytes: HEARTH_MALFORMED_ENTRY', async () => {
  await refusedWith('HEARTH_MALFORMED_ENTRY', async () => {
    const e = await entryOf(bob, bobSeq + 1, bobPrev, [put('notes', 'trunc', hlcNow(), { v: 1 })]);
    evil.send({ type: 'entries', feed: bob.publicKey, entries: [e.bytes.subarray(0, e.bytes.length - 9)] });
  });
});

test('removed member writing after its removal: HEARTH_NOT_MEMBER', async () => {
  await refusedWith('HEARTH_NOT_MEMBER', async () => {
    const e = await entryOf(mallory, 1, undefined, [put('notes', 'evil', hlcNow(1000), { v: 1 })]);
    evil.send({ type: 'entries', feed: mallory.publicKey, entries: [e.bytes] });
  }, 1);
});

test('never-admitted author: held pending, never stored', async () => {
  const before = stored();
  const e = await entryOf(stranger, 1, undefined, [put('notes', 'stranger', hlcNow(), { v: 1 })]);
  const pending = host.node.pendingCount;
  evil.send({ type: 'entries', feed: stranger.publicKey, entries: [e.bytes] });
  await until(() => host.node.pendingCount > pending, 'the entry to be held pending');
  await host.node.idle();
  assert.equal(stored(), before);
  await stillServes();
});

// keys made for one case (entries of feeds nobody else writes)
const made = new Map<string, Keypair>();
function generateKeypairFor(name: string): Keypair {
  if (!made.has(name)) made.set(name, generateKeypair());
  return made.get(name)!;
}

// --------------------------------------------------------------------------------------------------- HTTP layer

async function errorOf(res: Response): Promise<[number, string]> {
  const body = (await res.json()) as { error?: { code?: string } };
  return [res.status, body.error?.code ?? '?'];
}

test('no token, an unknown token, or a token of another space: 401 HEARTH_RELAY_UNAUTHORIZED', async () => {
  const base = `${r.relay.url}/v1/spaces/${hex(space)}`;
  assert.deepEqual(await errorOf(await fetch(`${base}/events`)), [401, 'HEARTH_RELAY_UNAUTHORIZED']);
  assert.deepEqual(await errorOf(await fetch(`${base}/events?token=nope`)), [401, 'HEARTH_RELAY_UNAUTHORIZED']);
  assert.deepEqual(await errorOf(await fetch(`${base}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":{"collection":"notes"}}' })), [401, 'HEARTH_RELAY_UNAUTHORIZED']);
  const other = generateKeypair();
  const g = await authenticateRelay({ url: r.relay.url, space: other.publicKey, keypair: other });
  assert.deepEqual(await errorOf(await fetch(`${base}/events?token=${g.token}`)), [401, 'HEARTH_RELAY_UNAUTHORIZED']);
  await assert.rejects(SseClientTransport.open({ url: `${base}/events`, EventSource: ES }), (e: unknown) => e instanceof RelayError);
});

test('a challenge answered with the wrong key, a replayed nonce, or a stale timestamp: 401', async () => {
  const base = `${r.relay.url}/v1/spaces/${hex(space)}`;
  const answer = async (signer: Keypair, claimed: Keypair, nonceText?: string, ts = Date.now()): Promise<[number, string, string]> => {
    const nonce = nonceText ?? ((await (await fetch(`${base}/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as { nonce: string }).nonce;
    const raw = Buffer.from(nonce, 'base64url');
    const sig = await signEd25519(relayAuthMessageV1(space, claimed.publicKey, new Uint8Array(raw), ts), signer.secretKey);
    const res = await fetch(`${base}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: hex(claimed.publicKey), nonce, timestamp: ts, signature: toBase64url(sig) }) });
    const [status, code] = await errorOf(res).catch(() => [res.status, 'OK'] as [number, string]);
    return [status, code, nonce];
  };
  assert.deepEqual((await answer(stranger, bob)).slice(0, 2), [401, 'HEARTH_RELAY_UNAUTHORIZED']); // signs as bob without bob's key
  const [okStatus, , used] = await answer(bob, bob);
  assert.equal(okStatus, 200);
  assert.deepEqual((await answer(bob, bob, used)).slice(0, 2), [401, 'HEARTH_RELAY_UNAUTHORIZED']); // replay
  assert.deepEqual((await answer(bob, bob, undefined, Date.now() - 10 * 60_000)).slice(0, 2), [401, 'HEARTH_RELAY_UNAUTHORIZED']);
  const bad = await fetch(`${base}/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"key":"zz"}' });
  assert.deepEqual(await errorOf(bad), [400, 'HEARTH_RELAY_BAD_REQUEST']);
});

test('a non-member with a valid signature: 403 HEARTH_NOT_MEMBER (also a removed member)', async () => {
  for (const k of [stranger, mallory]) {
    await assert.rejects(authenticateRelay({ url: r.relay.url, space, keypair: k }), (e: unknown) => e instanceof RelayError && e.code === 'HEARTH_NOT_MEMBER' && e.status === 403);
  }
});

test('oversized, malformed and overfull POST batches, someone else\'s connection, too many streams', async () => {
  const g = await authenticateRelay({ url: r.relay.url, space, keypair: courier });
  const c = (evil.transport as SseClientTransport).connectionId;
  const url = `${r.relay.url}/v1/spaces/${hex(space)}/connections/${c}`;
  const post = (body: Uint8Array, token = g.token, seq = '999999'): Promise<Response> =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}`, 'hearth-seq': seq }, body: body as Uint8Array<ArrayBuffer> });
  assert.deepEqual(await errorOf(await post(new Uint8Array(70 * 1024))), [413, 'HEARTH_RELAY_TOO_LARGE']);
  assert.deepEqual(await errorOf(await post(encodeBatchV1([new Uint8Array(33 * 1024)]))), [413, 'HEARTH_RELAY_TOO_LARGE']);
  assert.deepEqual(await errorOf(await post(encodeBatchV1(Array.from({ length: 9 }, () => new Uint8Array(4))))), [413, 'HEARTH_RELAY_TOO_LARGE']);
  assert.deepEqual(await errorOf(await post(new Uint8Array([0, 0, 0, 9, 1]))), [400, 'HEARTH_RELAY_BAD_REQUEST']);
  const honestGrant = await authenticateRelay({ url: r.relay.url, space, keypair: bob });
  assert.deepEqual(await errorOf(await post(encodeBatchV1([new Uint8Array(4)]), honestGrant.token)), [404, 'HEARTH_RELAY_NOT_FOUND']);
  assert.equal(evil.transport.closed, false, 'none of these touched the connection');
  // at most 3 streams per key: the honest device holds one, two more fit, the fourth is refused
  const extra = [await openRelayTransport({ url: r.relay.url, space, keypair: carol, EventSource: ES }), await openRelayTransport({ url: r.relay.url, space, keypair: carol, EventSource: ES })];
  const carolGrant = await authenticateRelay({ url: r.relay.url, space, keypair: carol });
  assert.deepEqual(await errorOf(await fetch(`${r.relay.url}/v1/spaces/${hex(space)}/events?token=${carolGrant.token}`)), [429, 'HEARTH_RELAY_LIMIT']);
  for (const x of extra) x.transport.close();
  await until(() => [...r.relay.hub.connections()].filter((t) => t.meta.keyHex === hex(carol.publicKey)).length === 1, 'the extra streams to close');
  await stillServes();
});

test('garbage frames close only that connection; the relay keeps serving, metrics count the refusals', async () => {
  const { transport } = await openRelayTransport({ url: r.relay.url, space, keypair: courier, EventSource: ES });
  let closed = '';
  transport.onClose((i) => (closed = i.reason));
  transport.send(new Uint8Array(64).fill(0x41));
  await until(() => closed !== '', 'the bad connection to close');
  assert.equal(evil.transport.closed, false);
  await stillServes();
  // the honest device still syncs both ways
  await honest.db.put('notes', 'honest-after', { v: 1 });
  await until(() => host.db.get('notes', 'honest-after') !== undefined && root.db.get('notes', 'honest-after') !== undefined, 'honest writes to flow');
  const m = r.relay.metrics();
  const rejects = Number(/hearth_relay_entry_rejects_total (\d+)/.exec(m)?.[1]);
  assert.ok(rejects >= 6, `entry rejects ${rejects}`);
  assert.match(m, /hearth_relay_http_rejects_total\{code="HEARTH_RELAY_UNAUTHORIZED"\} \d+/);
  assert.match(m, /hearth_relay_session_errors_total [1-9]/);
});
