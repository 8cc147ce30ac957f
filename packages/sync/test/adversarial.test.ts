/**
 * Adversarial entries through a session: a scripted peer sends each kind of bad entry to a victim (a real
 * Database behind a SyncNode). Each is refused with its typed error (event on the victim, NOTICE to the sender),
 * nothing stored changes, and the session keeps serving: a good entry sent afterwards is stored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeypair, type Keypair } from '@hearth/log';
import { createMemoryTransportPair, membershipRecordId, type SyncEvent } from '../src/index.js';
import { hex, openPeer, quiet, type Peer } from './_helpers.js';
import { entryOf, nowHlc, putOp, ScriptedPeer } from './_scripted.js';

interface Setup {
  victim: Peer;
  alice: Keypair;
  bob: Keypair;
  evil: ScriptedPeer;
  settle: () => Promise<void>;
}

async function setup(options: { maxEntryBytes?: number; windowBytes?: number } = {}): Promise<Setup> {
  const node = { ...(options.maxEntryBytes ? { maxEntryBytes: options.maxEntryBytes } : {}), ...(options.windowBytes ? { windowBytes: options.windowBytes } : {}) };
  const victim = await openPeer('victim', null, { node });
  const alice = generateKeypair(); // a member whose entries the scripted peer relays
  const bob = generateKeypair(); // another member, used for the "good entry afterwards"
  const courier = generateKeypair(); // the scripted peer's own key
  await victim.node.admit(alice.publicKey);
  await victim.node.admit(bob.publicKey);
  await victim.node.admit(courier.publicKey);
  const [a, b] = createMemoryTransportPair({ maxMessageBytes: 16 * 1024 });
  victim.node.connect(a);
  const evil = new ScriptedPeer(b, courier, victim.keypair.publicKey);
  const settle = (): Promise<void> => quiet([victim]);
  await evil.handshake(settle);
  return { victim, alice, bob, evil, settle };
}

function snapshot(p: Peer): string {
  return JSON.stringify([hex(p.db.stateHash()), p.db.stateVector().map((x) => [hex(x.feed), x.seq, hex(x.hash)])]);
}

function rejected(events: readonly SyncEvent[]): Extract<SyncEvent, { type: 'rejected' }>[] {
  return events.filter((e): e is Extract<SyncEvent, { type: 'rejected' }> => e.type === 'rejected');
}

/** After a refusal: the session is open and a good entry of another feed is stored. */
async function stillServes(s: Setup): Promise<void> {
  const good = await entryOf(s.bob, 1, undefined, [putOp('notes', 'good', nowHlc(), { ok: 1 })]);
  s.evil.send({ type: 'entries', feed: s.bob.publicKey, entries: [good.bytes] });
  await s.settle();
  assert.equal(s.evil.transport.closed, false, 'the session was closed');
  assert.deepEqual(s.victim.db.get('notes', 'good'), { ok: 1 }, 'a good entry after the bad one was not stored');
}

test('forged signature: HEARTH_INVALID_SIGNATURE, nothing stored, session continues', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e = await entryOf(s.alice, 1, undefined, [putOp('notes', 'x', nowHlc(), { v: 1 })]);
  const forged = e.bytes.slice();
  forged[forged.length - 1] ^= 0x01;
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [forged] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => [r.error.code, r.seq]), [['HEARTH_INVALID_SIGNATURE', 1]]);
  assert.ok(s.evil.notices().some((n) => n.kind === 'rejected' && n.code === 'HEARTH_INVALID_SIGNATURE' && n.seq === 1));
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('tampered ops under a valid-looking entry: HEARTH_INVALID_SIGNATURE', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e = await entryOf(s.alice, 1, undefined, [putOp('notes', 'x', nowHlc(), { v: 1 })]);
  const tampered = e.bytes.slice();
  tampered[90] ^= 0x40; // inside the ops payload
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [tampered] });
  await s.settle();
  assert.equal(rejected(s.victim.events)[0]?.error.code, 'HEARTH_INVALID_SIGNATURE');
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('broken chain: HEARTH_BROKEN_CHAIN, neither entry of the run stored', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e1 = await entryOf(s.alice, 1, undefined, [putOp('notes', 'a1', nowHlc(), { v: 1 })]);
  const e2 = await entryOf(s.alice, 2, new Uint8Array(32).fill(3), [putOp('notes', 'a2', nowHlc(), { v: 2 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e1.bytes, e2.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), ['HEARTH_BROKEN_CHAIN']);
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('sequence gap: HEARTH_SEQUENCE_GAP', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e1 = await entryOf(s.alice, 1, undefined, [putOp('notes', 'a1', nowHlc(), { v: 1 })]);
  const e2 = await entryOf(s.alice, 2, e1.hash, [putOp('notes', 'a2', nowHlc(), { v: 2 })]);
  const e3 = await entryOf(s.alice, 3, e2.hash, [putOp('notes', 'a3', nowHlc(), { v: 3 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e3.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), ['HEARTH_SEQUENCE_GAP']);
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('fork: a second entry at a held seq is HEARTH_FORK, evidence kept, feed frozen, stored entries untouched', async () => {
  const s = await setup();
  const e1 = await entryOf(s.alice, 1, undefined, [putOp('notes', 'a1', nowHlc(), { v: 1 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e1.bytes] });
  await s.settle();
  assert.deepEqual(s.victim.db.get('notes', 'a1'), { v: 1 });
  const before = snapshot(s.victim);
  const other = await entryOf(s.alice, 1, undefined, [putOp('notes', 'a1', nowHlc(), { v: 666 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [other.bytes] });
  await s.settle();
  const forks = s.victim.events.filter((e) => e.type === 'fork');
  assert.equal(forks.length, 1);
  assert.equal((forks[0] as { error: { code: string } }).error.code, 'HEARTH_FORK');
  assert.ok(s.evil.notices().some((n) => n.kind === 'fork' && n.seq === 1));
  assert.equal(snapshot(s.victim), before);
  assert.deepEqual(s.victim.db.get('notes', 'a1'), { v: 1 });
  // the feed is frozen: its next entry is refused
  const e2 = await entryOf(s.alice, 2, e1.hash, [putOp('notes', 'a2', nowHlc(), { v: 2 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e2.bytes] });
  await s.settle();
  assert.equal(rejected(s.victim.events).at(-1)?.error.code, 'HEARTH_FEED_FROZEN');
  await stillServes(s);
});

test('oversized entry (over the receiver\'s limit): HEARTH_ENTRY_TOO_LARGE', async () => {
  const s = await setup({ maxEntryBytes: 4096 });
  const before = snapshot(s.victim);
  const big = await entryOf(s.alice, 1, undefined, [putOp('notes', 'big', nowHlc(), { data: new Uint8Array(8000) })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [big.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => [r.error.code, r.seq]), [['HEARTH_ENTRY_TOO_LARGE', 1]]);
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('malformed entries (truncated, trailing bytes, another feed inside the message): HEARTH_MALFORMED_ENTRY', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e = await entryOf(s.alice, 1, undefined, [putOp('notes', 'x', nowHlc(), { v: 1 })]);
  const variants = [e.bytes.subarray(0, e.bytes.length - 10), new Uint8Array([...e.bytes, 0]), new Uint8Array(3)];
  for (const bad of variants) s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [bad] });
  s.evil.send({ type: 'entries', feed: s.bob.publicKey, entries: [e.bytes] }); // alice's entry under bob's feed
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), Array(4).fill('HEARTH_MALFORMED_ENTRY'));
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('malformed ops payload under a valid signature: HEARTH_MALFORMED_OPS', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const { signEntry } = await import('@hearth/log');
  const e = await signEntry({ seq: 1, hlc: nowHlc(), ops: new Uint8Array([0xff, 1, 2, 3]) }, s.alice);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), ['HEARTH_MALFORMED_OPS']);
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('HLC too far ahead: HEARTH_CLOCK_DRIFT', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const e = await entryOf(s.alice, 1, undefined, [putOp('notes', 'x', nowHlc(60 * 60 * 1000), { v: 1 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), ['HEARTH_CLOCK_DRIFT']);
  assert.equal(snapshot(s.victim), before);
  await stillServes(s);
});

test('never-admitted author: held pending (event), never stored; stored once an admission arrives', async () => {
  const s = await setup();
  const stranger = generateKeypair();
  const before = snapshot(s.victim);
  const e = await entryOf(stranger, 1, undefined, [putOp('notes', 'intruder', nowHlc(), { v: 1 })]);
  s.evil.send({ type: 'entries', feed: stranger.publicKey, entries: [e.bytes] });
  await s.settle();
  assert.ok(s.victim.events.some((x) => x.type === 'pending' && hex(x.feed) === hex(stranger.publicKey)));
  assert.equal(snapshot(s.victim), before);
  assert.equal(s.victim.db.get('notes', 'intruder'), undefined);
  await stillServes(s);
  await s.victim.node.admit(stranger.publicKey);
  await s.settle();
  assert.deepEqual(s.victim.db.get('notes', 'intruder'), { v: 1 });
});

test('removed member: entries after the removal HLC are HEARTH_NOT_MEMBER; earlier ones are accepted', async () => {
  const s = await setup();
  const early = await entryOf(s.alice, 1, undefined, [putOp('notes', 'before', nowHlc(-60_000), { v: 1 })]);
  await s.victim.node.remove(s.alice.publicKey);
  const late = await entryOf(s.alice, 2, early.hash, [putOp('notes', 'after', nowHlc(1000), { v: 2 })]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [early.bytes, late.bytes] });
  await s.settle();
  assert.deepEqual(s.victim.db.get('notes', 'before'), { v: 1 });
  assert.equal(s.victim.db.get('notes', 'after'), undefined);
  assert.deepEqual(rejected(s.victim.events).map((r) => [r.error.code, r.seq]), [['HEARTH_NOT_MEMBER', 2]]);
  await stillServes(s);
});

test('membership record by a non-admin, or malformed: HEARTH_NOT_ADMIN', async () => {
  const s = await setup();
  const before = snapshot(s.victim);
  const stranger = generateKeypair();
  const h = nowHlc();
  const rec = putOp('_members', membershipRecordId(stranger.publicKey, s.alice.publicKey, h), h, { action: 'admit', role: 'admin' });
  const e = await entryOf(s.alice, 1, undefined, [rec]);
  s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [e.bytes] });
  // bob writes a record naming alice as its author
  const h2 = nowHlc();
  const forgedAuthor = putOp('_members', membershipRecordId(stranger.publicKey, s.alice.publicKey, h2), h2, { action: 'admit', role: 'member' });
  const e2 = await entryOf(s.bob, 1, undefined, [forgedAuthor]);
  s.evil.send({ type: 'entries', feed: s.bob.publicKey, entries: [e2.bytes] });
  await s.settle();
  assert.deepEqual(rejected(s.victim.events).map((r) => r.error.code), ['HEARTH_NOT_ADMIN', 'HEARTH_NOT_ADMIN']);
  assert.equal(snapshot(s.victim), before);
  assert.equal(s.victim.node.membership.isMember(stranger.publicKey), false);
  await stillServes(s);
});

test('protocol violations close the session without touching the store: bad checksum, unknown message, window overrun', async () => {
  for (const kind of ['crc', 'type', 'window'] as const) {
    const s = await setup(kind === 'window' ? { windowBytes: 1024 * 1024 } : {});
    const before = snapshot(s.victim);
    if (kind === 'crc') {
      const f = new Uint8Array([0x48, 0x53, 1, 1, 0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0x05]);
      s.evil.transport.send(f);
    } else if (kind === 'type') {
      s.evil.sendRaw(new Uint8Array([0x7f, 1, 2]));
    } else {
      const filler = await entryOf(s.alice, 1, undefined, [putOp('notes', 'f', nowHlc(), { data: new Uint8Array(600 * 1024) })]);
      // two 600 KiB messages back to back against a 1 MiB window, without waiting for the ACK
      s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [filler.bytes] });
      s.evil.send({ type: 'entries', feed: s.alice.publicKey, entries: [filler.bytes] });
    }
    await s.settle();
    assert.ok(s.evil.transport.closed, `${kind}: the session stayed open`);
    const errs = s.victim.events.filter((e) => e.type === 'session-error').map((e) => (e as unknown as { error: { code: string } }).error.code);
    assert.deepEqual(errs, ['HEARTH_SYNC_PROTOCOL'], kind);
    if (kind !== 'window') assert.equal(snapshot(s.victim), before);
  }
});
