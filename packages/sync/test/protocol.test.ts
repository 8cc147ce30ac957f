/** Wire formats: frames, messages, invites. Fixture, worked example, round-trip properties, refusals. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { keypairFromSecretKey } from '@hearth/log';
import {
  Deframer,
  Framer,
  decodeFrameV1,
  decodeFrameTextV1,
  encodeFrameTextV1,
  decodeInviteV1,
  decodeMessageV1,
  encodeFrameV1,
  encodeInviteV1,
  encodeMessageV1,
  inviteFromText,
  inviteLink,
  inviteToText,
  makeAdmissionRequest,
  verifyAdmissionRequest,
  type Invite,
  type SyncMessage,
} from '../src/index.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const TEST1_PK = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';
const TEST2_PK = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';

function fixtureFrames(): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/session-v1.bin', import.meta.url)));
  const frames: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; ) {
    const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(o);
    frames.push(bytes.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return frames;
}

test('fixture session-v1.bin: frames reassemble into the documented messages and re-encode byte for byte', () => {
  const frames = fixtureFrames();
  assert.equal(frames.length, 8, 'seven messages, the NOTICE in two frames');
  const d = new Deframer();
  const msgs: SyncMessage[] = [];
  for (const f of frames) {
    assert.ok(f.length <= 1040);
    const m = d.push(f);
    if (m !== null) msgs.push(decodeMessageV1(m));
  }
  assert.deepEqual(msgs.map((m) => m.type), ['hello', 'auth', 'state', 'entries', 'ack', 'notice', 'admission-request']);
  const [hello, auth, state, entries, ack, notice, adm] = msgs as [any, any, any, any, any, any, any];
  assert.equal(hello.minVersion, 1);
  assert.equal(hello.maxVersion, 1);
  assert.equal(hexOf(hello.space), TEST1_PK);
  assert.equal(hexOf(hello.feed), TEST1_PK);
  assert.equal(hexOf(hello.nonce), '01'.repeat(32));
  assert.equal(hello.window, 1 << 20);
  assert.equal(hello.maxEntryBytes, 16 << 20);
  assert.equal(auth.signature.length, 64);
  assert.equal(state.items.length, 1);
  assert.equal(state.items[0].seq, 3);
  assert.equal(entries.entries.length, 3);
  const logFeed = new Uint8Array(readFileSync(new URL('../../log/test/fixtures/entry-v1.bin', import.meta.url)));
  assert.equal(hexOf(entries.entries[0]), hexOf(logFeed), 'the first entry is the log fixture entry');
  assert.equal(ack.bytes, 1234);
  assert.equal(notice.kind, 'rejected');
  assert.equal(notice.seq, 2);
  assert.equal(notice.code, 'HEARTH_BROKEN_CHAIN');
  assert.equal(notice.message, 'x'.repeat(1100));
  assert.equal(hexOf(adm.device), TEST2_PK);
  assert.equal(hexOf(adm.inviteId), '10'.repeat(16));
  // re-encoding gives the same frames
  const framer = new Framer(1040);
  const again = msgs.flatMap((m) => framer.frames(encodeMessageV1(m)));
  assert.deepEqual(again.map(hexOf), frames.map(hexOf));
});

test('worked example: the HELLO frame of the fixture, byte for byte (docs/formats/sync-protocol.md)', () => {
  const expected =
    '48530101' + '00000000' + '00000075' + '98c5d3b3' + // frame header: magic, version, FINAL, number 0, length 117, CRC
    '01' + '4852544853594e43' + '0001' + '0001' + TEST1_PK + TEST1_PK + '01'.repeat(32) + '00100000' + '01000000';
  assert.equal(hexOf(fixtureFrames()[0]), expected);
});

test('fixture invite-v1.txt decodes to the documented invite, and the admission request in the session verifies against it', async () => {
  const text = readFileSync(new URL('./fixtures/invite-v1.txt', import.meta.url), 'utf8').trim();
  const inv = inviteFromText(text);
  assert.equal(hexOf(inv.space), TEST1_PK);
  assert.equal(inv.relayUrl, 'https://relay.example');
  assert.equal(hexOf(inv.inviteId), '10'.repeat(16));
  assert.equal(hexOf(inv.secret), '20'.repeat(32));
  assert.equal(inv.role, 'member');
  assert.equal(inv.expiresAt, 1_800_000_000_000);
  assert.equal(inviteToText(inv), text);
  const d = new Deframer();
  let adm: SyncMessage | null = null;
  for (const f of fixtureFrames()) {
    const m = d.push(f);
    if (m !== null) adm = decodeMessageV1(m);
  }
  assert.equal(adm!.type, 'admission-request');
  await verifyAdmissionRequest(inv, adm as any, 1_700_000_000_000);
  await assert.rejects(verifyAdmissionRequest(inv, adm as any, 1_800_000_000_001), { code: 'HEARTH_INVALID_INVITE' });
  await assert.rejects(verifyAdmissionRequest({ ...inv, secret: new Uint8Array(32) }, adm as any, 0), { code: 'HEARTH_INVALID_INVITE' });
  const sig = (adm as any).signature.slice();
  sig[0] ^= 1;
  await assert.rejects(verifyAdmissionRequest(inv, { ...(adm as any), signature: sig }, 0), { code: 'HEARTH_INVALID_INVITE' });
  assert.deepEqual(inviteFromText(inviteLink(inv)), inv);
});

const bytesN = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const arbMessage: fc.Arbitrary<SyncMessage> = fc.oneof(
  fc.record({
    type: fc.constant('hello' as const),
    minVersion: fc.integer({ min: 0, max: 10 }),
    maxVersion: fc.integer({ min: 10, max: 0xffff }),
    space: bytesN(32),
    feed: bytesN(32),
    nonce: bytesN(32),
    window: fc.integer({ min: 0, max: 0xffffffff }),
    maxEntryBytes: fc.integer({ min: 0, max: 0xffffffff }),
  }),
  fc.record({ type: fc.constant('auth' as const), signature: bytesN(64) }),
  fc.record({
    type: fc.constant('state' as const),
    items: fc.uniqueArray(fc.record({ feed: bytesN(32), seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), hash: bytesN(32) }), {
      maxLength: 5,
      selector: (x) => hexOf(x.feed),
    }).map((items) => [...items].sort((a, b) => (hexOf(a.feed) < hexOf(b.feed) ? -1 : 1))),
  }),
  fc.record({ type: fc.constant('entries' as const), feed: bytesN(32), entries: fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 6 }) }),
  fc.record({ type: fc.constant('ack' as const), bytes: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }) }),
  fc.record({
    type: fc.constant('notice' as const),
    kind: fc.constantFrom('rejected' as const, 'not-member' as const, 'fork' as const, 'admission' as const, 'closing' as const),
    feed: bytesN(32),
    seq: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    code: fc.stringMatching(/^[A-Z_]{0,40}$/),
    message: fc.string({ maxLength: 200 }),
  }),
  fc.record({ type: fc.constant('admission-request' as const), inviteId: bytesN(16), device: bytesN(32), proof: bytesN(32), signature: bytesN(64) }),
);

test('encodeMessageV1/decodeMessageV1 round-trip (property)', () => {
  fc.assert(
    fc.property(arbMessage, (m) => {
      const bytes = encodeMessageV1(m);
      const back = decodeMessageV1(bytes);
      assert.deepEqual(encodeMessageV1(back), bytes);
      assert.equal(back.type, m.type);
    }),
    { seed: 4242, numRuns: 400 },
  );
});

test('encodeFrameV1/decodeFrameV1 round-trip, and Framer -> Deframer reassembles any message at any frame size (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1040, max: 6000 }), fc.integer({ min: 0, max: 0xffffffff }), (msg, max, number) => {
      const f = decodeFrameV1(encodeFrameV1({ number, final: true, payload: msg }));
      assert.equal(f.number, number);
      assert.equal(hexOf(f.payload), hexOf(msg));
      const framer = new Framer(max);
      const d = new Deframer();
      for (let round = 0; round < 2; round++) {
        const frames = framer.frames(msg);
        assert.ok(frames.every((x) => x.length <= max));
        let out: Uint8Array | null = null;
        frames.forEach((x, i) => {
          out = d.push(x);
          assert.equal(out === null, i < frames.length - 1);
        });
        assert.equal(hexOf(out!), hexOf(msg));
      }
    }),
    { seed: 99, numRuns: 200 },
  );
});

test('every single-bit flip in a frame is refused with HEARTH_SYNC_PROTOCOL', () => {
  const frame = fixtureFrames()[4]; // ACK
  for (let bit = 0; bit < frame.length * 8; bit++) {
    const bad = frame.slice();
    bad[bit >> 3] ^= 1 << (bit & 7);
    assert.throws(() => decodeFrameV1(bad), { code: 'HEARTH_SYNC_PROTOCOL' }, `bit ${bit}`);
  }
});

test('Deframer: a repeated frame is ignored and counted; a gap or reordering breaks the stream for good', () => {
  const framer = new Framer(1040);
  const [f0] = framer.frames(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 1]));
  const [f1] = framer.frames(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 2]));
  const [f2] = framer.frames(new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 3]));
  const d = new Deframer();
  assert.ok(d.push(f0));
  assert.equal(d.push(f0), null);
  assert.equal(d.duplicates, 1);
  assert.throws(() => d.push(f2), { code: 'HEARTH_SYNC_PROTOCOL' });
  assert.throws(() => d.push(f1), { code: 'HEARTH_SYNC_PROTOCOL' }, 'a broken deframer stays broken');
  const small = new Deframer(100);
  const big = new Framer(1040).frames(new Uint8Array(2000));
  assert.throws(() => big.forEach((x) => small.push(x)), { code: 'HEARTH_MESSAGE_TOO_LARGE' });
});

test('decodeMessageV1 refuses malformed messages with HEARTH_SYNC_PROTOCOL', () => {
  const good = encodeMessageV1({ type: 'entries', feed: new Uint8Array(32), entries: [new Uint8Array(10)] });
  const cases: Uint8Array[] = [
    new Uint8Array(0),
    new Uint8Array([0x99]),
    encodeMessageV1({ type: 'ack', bytes: 1 }).subarray(0, 5),
    good.subarray(0, good.length - 1),
    new Uint8Array([...good, 0]),
    (() => {
      const h = encodeMessageV1({ type: 'hello', minVersion: 1, maxVersion: 1, space: new Uint8Array(32), feed: new Uint8Array(32), nonce: new Uint8Array(32), window: 1, maxEntryBytes: 1 });
      h[1] = 0;
      return h;
    })(),
    (() => {
      const e = good.slice();
      new DataView(e.buffer).setUint32(33, 0);
      return e.subarray(0, 37);
    })(),
    new Uint8Array([0x03, 0x02, 0, 0, 0, 0]),
  ];
  for (const c of cases) assert.throws(() => decodeMessageV1(c), { code: 'HEARTH_SYNC_PROTOCOL' }, hexOf(c.subarray(0, 20)));
});

test('encodeInviteV1/decodeInviteV1 round-trip (property); malformed invites are HEARTH_INVALID_INVITE', () => {
  fc.assert(
    fc.property(bytesN(32), bytesN(16), bytesN(32), fc.constantFrom('admin' as const, 'member' as const), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.string({ maxLength: 80 }), (space, inviteId, secret, role, expiresAt, relayUrl) => {
      const inv: Invite = { space, inviteId, secret, role, expiresAt, relayUrl };
      assert.deepEqual(decodeInviteV1(encodeInviteV1(inv)), inv);
      assert.deepEqual(inviteFromText(inviteToText(inv)), inv);
    }),
    { seed: 7, numRuns: 200 },
  );
  const ok = encodeInviteV1({ space: new Uint8Array(32), inviteId: new Uint8Array(16), secret: new Uint8Array(32), role: 'admin', expiresAt: 1, relayUrl: 'u' });
  for (const bad of [ok.subarray(0, 50), new Uint8Array([...ok, 1]), Object.assign(ok.slice(), { 8: 2 }), Object.assign(ok.slice(), { 9: 7 }), Object.assign(ok.slice(), { 0: 0 })]) {
    assert.throws(() => decodeInviteV1(bad), { code: 'HEARTH_INVALID_INVITE' });
  }
  assert.throws(() => inviteFromText('nope'), { code: 'HEARTH_INVALID_INVITE' });
  assert.throws(() => inviteFromText('hearth-invite:***'), { code: 'HEARTH_INVALID_INVITE' });
});

test('an admission request is bound to its device key: another key cannot reuse the proof', async () => {
  const inv: Invite = { space: new Uint8Array(32).fill(1), inviteId: new Uint8Array(16).fill(2), secret: new Uint8Array(32).fill(3), role: 'member', expiresAt: 10, relayUrl: '' };
  const a = keypairFromSecretKey(new Uint8Array(32).fill(4));
  const b = keypairFromSecretKey(new Uint8Array(32).fill(5));
  const req = await makeAdmissionRequest(inv, a);
  await verifyAdmissionRequest(inv, req, 0);
  const stolen = await makeAdmissionRequest({ ...inv, secret: new Uint8Array(32).fill(9) }, b);
  await assert.rejects(verifyAdmissionRequest(inv, { ...stolen, proof: req.proof }, 0), { code: 'HEARTH_INVALID_INVITE' });
});

test('frame text form (for SSE): base64url round trip (property); anything else is HEARTH_SYNC_PROTOCOL', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 70000 }), (b) => {
      const t = encodeFrameTextV1(b);
      assert.match(t, /^[A-Za-z0-9_-]*$/);
      assert.equal(hexOf(decodeFrameTextV1(t)), hexOf(b));
    }),
    { seed: 5, numRuns: 100 },
  );
  assert.equal(encodeFrameTextV1(fixtureFrames()[4]), Buffer.from(fixtureFrames()[4]).toString('base64url'));
  for (const bad of ['a', 'ab$c', 'abc d', '====']) assert.throws(() => decodeFrameTextV1(bad), { code: 'HEARTH_SYNC_PROTOCOL' }, bad);
});
