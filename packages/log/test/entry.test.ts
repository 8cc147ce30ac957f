import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeEntryV1,
  encodeEntryV1,
  keypairFromSecretKey,
  signEntry,
  verifyEntry,
  verifyRange,
  LogError,
  logConstants,
  type UnverifiedEntry,
  type VerifiedEntry,
} from '@hearth/log';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const h = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
// RFC 8032 TEST 1 key: deterministic signatures, so entries are reproducible.
const KP = keypairFromSecretKey(h('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
const KP2 = keypairFromSecretKey(h('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'));
const O = logConstants.ENTRY_OFFSET;

async function chain(n: number, opsOf = (i: number) => new TextEncoder().encode(`ops-${i}`)): Promise<VerifiedEntry[]> {
  const out: VerifiedEntry[] = [];
  for (let i = 1; i <= n; i++) {
    out.push(await signEntry({ seq: i, prev: out[i - 2]?.hash, hlc: BigInt(1000 + i), ops: opsOf(i) }, KP));
  }
  return out;
}

function code(e: unknown): string {
  assert.ok(e instanceof LogError, `expected LogError, got ${String(e)}`);
  return e.code;
}

async function codeOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (e) {
    return code(e);
  }
  return 'OK';
}

test('encodeEntryV1/decodeEntryV1 round trip (property)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((p) => p.some((b) => b !== 0)),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.uint8Array({ maxLength: 300 }),
      fc.uint8Array({ minLength: 64, maxLength: 64 }),
      (feed, seq, prevNonZero, hlc, ops, signature) => {
        const prev = seq === 1 ? new Uint8Array(32) : prevNonZero;
        const bytes = encodeEntryV1({ feed, seq, prev, hlc, ops, signature });
        assert.equal(bytes.length, 85 + ops.length + 64);
        const e = decodeEntryV1(bytes);
        assert.deepEqual(
          { feed: e.feed, seq: e.seq, prev: e.prev, hlc: e.hlc, ops: e.ops, signature: e.signature },
          { feed, seq, prev, hlc, ops, signature },
        );
        assert.deepEqual(encodeEntryV1(e), bytes);
      },
    ),
    { seed: SEED, numRuns: 300 },
  );
});

test('signEntry output decodes and verifies on both backends; hashes agree', async () => {
  const [e1, e2] = await chain(2);
  for (const backend of ['noble', 'webcrypto'] as const) {
    const v = await verifyEntry(decodeEntryV1(e2.bytes), { backend });
    assert.deepEqual(v.hash, e2.hash);
    assert.deepEqual(v.signingHash, e2.signingHash);
    const signedHere = await signEntry({ seq: 2, prev: e1.hash, hlc: 1002n, ops: e2.ops }, KP, { backend });
    assert.deepEqual(signedHere.bytes, e2.bytes, 'deterministic signatures: both backends produce the same entry');
  }
  assert.deepEqual(e2.prev, e1.hash);
});

test('large entries (1,000 ops of ~200 bytes) hash through WebCrypto and verify on both backends', async () => {
  const ops = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
  const e = await signEntry({ seq: 1, hlc: 5n, ops }, KP, { backend: 'webcrypto' });
  const n = await signEntry({ seq: 1, hlc: 5n, ops }, KP, { backend: 'noble' });
  assert.deepEqual(e.bytes, n.bytes);
  for (const backend of ['noble', 'webcrypto'] as const) await verifyEntry(decodeEntryV1(e.bytes), { backend });
});

test('decoder: each structural defect has its code', () => {
  const good = encodeEntryV1({ feed: KP.publicKey, seq: 2, prev: new Uint8Array(32).fill(7), hlc: 1n, ops: new Uint8Array(3), signature: new Uint8Array(64) });
  const mut = (f: (b: Uint8Array) => Uint8Array) => () => decodeEntryV1(f(good.slice()));
  const codeSync = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return code(e);
    }
    return 'OK';
  };
  assert.equal(codeSync(mut((b) => b.subarray(0, 100))), 'HEARTH_MALFORMED_ENTRY', 'truncated below minimum');
  assert.equal(codeSync(mut((b) => b.subarray(0, b.length - 1))), 'HEARTH_MALFORMED_ENTRY', 'truncated');
  assert.equal(codeSync(mut((b) => new Uint8Array([...b, 0]))), 'HEARTH_MALFORMED_ENTRY', 'trailing byte');
  assert.equal(codeSync(mut((b) => ((b[0] = 2), b))), 'HEARTH_MALFORMED_ENTRY', 'version');
  assert.equal(codeSync(mut((b) => (b.fill(0, O.SEQ, O.SEQ + 8), b))), 'HEARTH_MALFORMED_ENTRY', 'seq 0');
  assert.equal(codeSync(mut((b) => ((b[O.SEQ] = 0x01), b))), 'HEARTH_MALFORMED_ENTRY', 'seq > 2^53-1');
  assert.equal(codeSync(mut((b) => ((b[O.SEQ + 7] = 1), b))), 'HEARTH_MALFORMED_ENTRY', 'seq 1 with a non-zero prev');
  assert.equal(codeSync(mut((b) => (b.fill(0, O.PREV, O.PREV + 32), b))), 'HEARTH_MALFORMED_ENTRY', 'zero prev after seq 1');
  assert.equal(codeSync(mut((b) => ((b[O.OPS_LENGTH + 3] = 4), b))), 'HEARTH_MALFORMED_ENTRY', 'ops length');
  assert.equal(codeSync(() => decodeEntryV1(good, { maxEntryBytes: 100 })), 'HEARTH_ENTRY_TOO_LARGE');
  assert.equal(codeSync(() => decodeEntryV1(new Uint8Array(logConstants.MAX_ENTRY_BYTES + 1))), 'HEARTH_ENTRY_TOO_LARGE');
  assert.equal(codeSync(() => decodeEntryV1(good)), 'OK');
});

test('signEntry refuses bad fields and oversized entries', async () => {
  await assert.rejects(signEntry({ seq: 0, hlc: 1n, ops: new Uint8Array() }, KP), RangeError);
  await assert.rejects(signEntry({ seq: 2, hlc: 1n, ops: new Uint8Array() }, KP), RangeError, 'zero prev after seq 1');
  await assert.rejects(signEntry({ seq: 1, prev: new Uint8Array(32).fill(1), hlc: 1n, ops: new Uint8Array() }, KP), RangeError);
  await assert.rejects(signEntry({ seq: 1, hlc: -1n, ops: new Uint8Array() }, KP), RangeError);
  await assert.rejects(
    signEntry({ seq: 1, hlc: 1n, ops: new Uint8Array(logConstants.MAX_ENTRY_BYTES) }, KP),
    (e: unknown) => code(e) === 'HEARTH_ENTRY_TOO_LARGE',
  );
});

/** Which field an entry byte offset belongs to. */
function fieldAt(off: number, len: number): string {
  if (off === O.VERSION) return 'version';
  if (off < O.SEQ) return 'feed';
  if (off < O.PREV) return 'seq';
  if (off < O.HLC) return 'prev';
  if (off < O.OPS_LENGTH) return 'hlc';
  if (off < O.OPS) return 'opsLength';
  if (off < len - 64) return 'ops';
  return 'signature';
}

/** Whether flipping byte `off` (inside seq) by `x` yields a seq the decoder refuses (0, > 2^53 - 1, or 1 with a prev). */
function seqAfterFlipIsMalformed(e: UnverifiedEntry, off: number, x: number): boolean {
  const b = e.bytes.slice(O.SEQ, O.SEQ + 8);
  b[off - O.SEQ] ^= x;
  const seq = new DataView(b.buffer).getBigUint64(0);
  return seq === 0n || seq === 1n || seq > BigInt(Number.MAX_SAFE_INTEGER);
}

function flip(e: UnverifiedEntry, off: number, x: number): UnverifiedEntry | string {
  const b = e.bytes.slice();
  b[off] ^= x;
  try {
    return decodeEntryV1(b);
  } catch (err) {
    return code(err);
  }
}

test('tamper: flipping any byte of the middle entry of a range gives the specific error', async () => {
  const entries = await chain(3);
  const mid = entries[1];
  for (let off = 0; off < mid.bytes.length; off++) {
    for (const x of [0x01, 0x80]) {
      const field = fieldAt(off, mid.bytes.length);
      const t = flip(mid, off, x);
      const got = typeof t === 'string' ? t : await codeOf(() => verifyRange([entries[0], t, entries[2]]));
      let want: string;
      if (field === 'version' || field === 'opsLength') want = 'HEARTH_MALFORMED_ENTRY';
      else if (field === 'feed') want = 'HEARTH_MALFORMED_ENTRY'; // a range of one feed
      else if (field === 'seq') want = seqAfterFlipIsMalformed(mid, off, x) ? 'HEARTH_MALFORMED_ENTRY' : 'HEARTH_SEQUENCE_GAP';
      else want = 'HEARTH_BROKEN_CHAIN'; // prev, hlc, ops and signature are all covered by the next entry's prev
      assert.equal(got, want, `offset ${off} (${field}) ^ 0x${x.toString(16)}`);
    }
  }
});

test('tamper: flipping any byte of a single entry, or of the last entry of a range', async () => {
  const entries = await chain(3);
  const last = entries[2];
  for (let off = 0; off < last.bytes.length; off++) {
    const field = fieldAt(off, last.bytes.length);
    const t = flip(last, off, 0x01);
    const single = typeof t === 'string' ? t : await codeOf(() => verifyEntry(t));
    const range = typeof t === 'string' ? t : await codeOf(() => verifyRange([entries[0], entries[1], t]));
    if (field === 'version' || field === 'opsLength' || (field === 'seq' && seqAfterFlipIsMalformed(last, off, 0x01))) {
      assert.equal(single, 'HEARTH_MALFORMED_ENTRY', `offset ${off}`);
      continue;
    }
    assert.equal(single, 'HEARTH_INVALID_SIGNATURE', `single, offset ${off} (${field})`);
    const want = field === 'seq' ? 'HEARTH_SEQUENCE_GAP' : field === 'prev' ? 'HEARTH_BROKEN_CHAIN' : field === 'feed' ? 'HEARTH_MALFORMED_ENTRY' : 'HEARTH_INVALID_SIGNATURE';
    assert.equal(range, want, `range, offset ${off} (${field})`);
  }
});

test('verifyRange: checks one signature, refuses gaps, reordering, mixed feeds; empty range is empty', async () => {
  const entries = await chain(4);
  const decoded = entries.map((e) => decodeEntryV1(e.bytes));
  const v = await verifyRange(decoded);
  assert.deepEqual(v.map((e) => e.seq), [1, 2, 3, 4]);
  assert.deepEqual(v[3].hash, entries[3].hash);
  assert.deepEqual(await verifyRange([]), []);
  assert.equal(await codeOf(() => verifyRange([decoded[0], decoded[2]])), 'HEARTH_SEQUENCE_GAP');
  assert.equal(await codeOf(() => verifyRange([decoded[1], decoded[0]])), 'HEARTH_SEQUENCE_GAP');
  const other = await signEntry({ seq: 2, prev: entries[0].hash, hlc: 1n, ops: new Uint8Array() }, KP2);
  assert.equal(await codeOf(() => verifyRange([decoded[0], other])), 'HEARTH_MALFORMED_ENTRY');
  // a range may start anywhere: its first prev is checked by the store, not here
  assert.equal((await verifyRange(decoded.slice(2))).length, 2);
  // an entry signed by another key under this feed id is refused
  const forged = encodeEntryV1({ ...decoded[0], signature: (await signEntry({ seq: 1, hlc: 1001n, ops: decoded[0].ops }, KP2)).signature });
  assert.equal(await codeOf(() => verifyEntry(decodeEntryV1(forged))), 'HEARTH_INVALID_SIGNATURE');
});

test('verifyRange and verifyEntry give identical answers with each backend forced', async () => {
  const entries = await chain(4);
  const decoded = entries.map((e) => decodeEntryV1(e.bytes));
  const badLast = decoded.slice();
  const sig = entries[3].bytes.slice();
  sig[sig.length - 40] ^= 0x04;
  badLast[3] = decodeEntryV1(sig);
  for (const backend of ['noble', 'webcrypto'] as const) {
    const ok = await verifyRange(decoded, { backend });
    assert.deepEqual(ok.map((e) => e.hash), entries.map((e) => e.hash), backend);
    assert.equal(await codeOf(() => verifyRange(badLast, { backend })), 'HEARTH_INVALID_SIGNATURE', backend);
    assert.equal(await codeOf(() => verifyEntry(badLast[3], { backend })), 'HEARTH_INVALID_SIGNATURE', backend);
    assert.equal(await codeOf(() => verifyEntry(decoded[2], { backend })), 'OK', backend);
  }
});
