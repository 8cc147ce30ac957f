/**
 * Log entries: encoding V1, decoding to {@link UnverifiedEntry}, and local signing. Spec: `docs/formats/log-entry.md`.
 *
 * An entry is `{feed, seq, prev, hlc, ops}` plus an ed25519 signature. The `ops` payload is opaque bytes to the
 * log (the db encodes its operations there); the log never looks inside.
 *
 * Hashes (why two, see the spec):
 * - `signingHash = SHA-256(body)`, where `body` is the encoding without the signature; the signature is
 *   ed25519 over these 32 bytes (RFC 8032 section 5.1.6 with M = signingHash).
 * - `hash = SHA-256(signingHash || signature)` is the entry's identity: the next entry's `prev`, a feed's head in a
 *   state vector, the key of fork detection. Because it covers the signature, one signature check on the last
 *   entry of a hash-chained run vouches for every signature before it.
 *
 * Invariants:
 * 1. `seq` starts at 1; the entry at seq 1 has `prev` = 32 zero bytes, every later one has the `hash` of the entry
 *    at `seq - 1` (never all zeros).
 * 2. The fields of a decoded or signed entry are views into its `bytes` (no copies); `bytes` must not be mutated.
 * 3. A {@link VerifiedEntry} exists only if `verifyEntry`/`verifyRange` checked it or {@link signEntry} made it in
 *    this process (enforced at run time by `_brand.ts`).
 *
 * @packageDocumentation
 */
import { DecodedEntry, HashedEntry, isDecoded } from './_brand.js';
import { sha256, sha256Sync, signBytes, type CryptoBackend } from './_crypto.js';
import {
  ENTRY_HEADER_BYTES,
  ENTRY_MIN_BYTES,
  ENTRY_OFFSET,
  ENTRY_V1,
  FEED_ID_BYTES,
  FIRST_SEQ,
  HASH_BYTES,
  MAX_ENTRY_BYTES,
  SIGNATURE_BYTES,
} from './constants.js';
import { LogError, LogErrorCode } from './errors.js';
import { feedIdToHex, type Keypair } from './keys.js';

declare const VERIFIED: unique symbol;

/** An entry decoded from bytes: structurally valid, **not** checked for signature, chain or sequence. */
export interface UnverifiedEntry {
  /** Feed id: the author's 32-byte ed25519 public key. */
  readonly feed: Uint8Array;
  /** Sequence number in the feed, from 1. */
  readonly seq: number;
  /** `hash` of the entry at `seq - 1`, or 32 zero bytes at seq 1. */
  readonly prev: Uint8Array;
  /** The author's HLC when the entry was made (64-bit, `docs/formats/hlc.md`). */
  readonly hlc: bigint;
  /** The opaque operations payload. */
  readonly ops: Uint8Array;
  /** 64-byte ed25519 signature over `signingHash`. */
  readonly signature: Uint8Array;
  /** The whole encoded entry (body then signature). Every field above is a view into it. */
  readonly bytes: Uint8Array;
}

/**
 * An entry whose signature, size limits and (for ranges) sequence continuity and hash chain were checked.
 * Only `verifyEntry`, `verifyRange` and `signEntry` produce one; storage and apply APIs accept nothing else.
 */
export interface VerifiedEntry extends UnverifiedEntry {
  /** SHA-256 of the body (the encoding without the signature): what the signature signs. */
  readonly signingHash: Uint8Array;
  /** SHA-256(signingHash || signature): the entry's identity and the next entry's `prev`. */
  readonly hash: Uint8Array;
  readonly [VERIFIED]: true;
}

/** Fields of a new entry for {@link signEntry}. The feed is the keypair's public key. */
export interface NewEntry {
  seq: number;
  /** `hash` of the previous entry, or 32 zero bytes (or omitted) at seq 1. */
  prev?: Uint8Array;
  hlc: bigint;
  ops: Uint8Array;
}

/** Options of signing and verification. */
export interface EntryCryptoOptions {
  /** `auto` (default): WebCrypto where it supports Ed25519, noble otherwise. Force one with `webcrypto`/`noble`. */
  backend?: CryptoBackend;
}

/** Options of decoding and verification. */
export interface DecodeOptions {
  /** Largest encoded entry accepted, in bytes. Default and maximum {@link MAX_ENTRY_BYTES} (16 MiB). */
  maxEntryBytes?: number;
}

const ZERO_HASH = new Uint8Array(HASH_BYTES);
const U64_MAX = (1n << 64n) - 1n;

/** Whether `n` bytes of `b` from `at` (default: all of `b`) are zero. */
function isZero(b: Uint8Array, at = 0, n = b.length): boolean {
  for (let i = at; i < at + n; i++) if (b[i] !== 0) return false;
  return true;
}

function malformed(message: string, seq?: number): LogError {
  return new LogError(LogErrorCode.MALFORMED_ENTRY, `malformed entry: ${message}`, seq !== undefined ? { seq } : undefined);
}

/** Bytes of the encoded entry for an ops payload of `opsLength` bytes. */
export function encodedEntryBytes(opsLength: number): number {
  return ENTRY_HEADER_BYTES + opsLength + SIGNATURE_BYTES;
}

/**
 * Makes, hashes and signs a new entry of the keypair's feed. The ops payload is copied once into the entry's
 * buffer; nothing else is copied. The result is verified by construction (this process computed the hash and
 * made the signature), so it is returned as a {@link VerifiedEntry}.
 *
 * Cost: one SHA-256 over the body (WebCrypto for bodies of 16 KiB and more), one over 96 bytes, one ed25519 sign.
 *
 * @throws RangeError if `seq` is not a safe integer >= 1, `prev` is not 32 bytes, `prev` is non-zero at seq 1 or
 *   zero after it, `hlc` is not a u64 bigint; TypeError for wrong types.
 * @throws LogError `HEARTH_ENTRY_TOO_LARGE` if the entry would exceed {@link MAX_ENTRY_BYTES}.
 */
export async function signEntry(fields: NewEntry, keypair: Keypair, options: EntryCryptoOptions = {}): Promise<VerifiedEntry> {
  const { seq, hlc, ops } = fields;
  const prev = fields.prev ?? ZERO_HASH;
  checkNewEntry(seq, prev, hlc, ops);
  if (!(keypair?.publicKey instanceof Uint8Array) || keypair.publicKey.length !== FEED_ID_BYTES) {
    throw new TypeError('"keypair" expected a Keypair');
  }
  const bytes = writeEntry(keypair.publicKey, seq, prev, hlc, ops, null);
  const size = bytes.length;
  const bodyEnd = size - SIGNATURE_BYTES;
  const backend = options.backend ?? 'auto';
  const signingHash = await sha256(bytes.subarray(0, bodyEnd), backend);
  const signature = await signBytes(signingHash, keypair.secretKey, backend);
  bytes.set(signature, bodyEnd);
  return _withHashes(makeEntry(bytes, seq, hlc), signingHash, linkHash(signingHash, bytes.subarray(bodyEnd)));
}

/** The input of {@link linkHash}, reused: it is filled and hashed synchronously, so calls cannot interleave. */
const LINK_INPUT = new Uint8Array(HASH_BYTES + SIGNATURE_BYTES);

/**
 * `hash = SHA-256(signingHash || signature)` (see the file header).
 * @throws RangeError if `signingHash` is not 32 bytes or `signature` not 64.
 */
export function linkHash(signingHash: Uint8Array, signature: Uint8Array): Uint8Array {
  if (signingHash.length !== HASH_BYTES || signature.length !== SIGNATURE_BYTES) {
    throw new RangeError(`linkHash expects a ${HASH_BYTES}-byte signing hash and a ${SIGNATURE_BYTES}-byte signature`);
  }
  LINK_INPUT.set(signingHash, 0);
  LINK_INPUT.set(signature, HASH_BYTES);
  return sha256Sync(LINK_INPUT);
}

/** SHA-256 of the entry's body (its encoding without the signature). */
export function computeSigningHash(entry: UnverifiedEntry, options: EntryCryptoOptions = {}): Promise<Uint8Array> {
  return sha256(entry.bytes.subarray(0, entry.bytes.length - SIGNATURE_BYTES), options.backend ?? 'auto');
}

/** A view of `n` bytes of `b` from `at` (the constructor is several times cheaper than `subarray`). */
function view(b: Uint8Array, at: number, n: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset + at, n);
}

/** A decoded entry: its fields are views of `bytes` (invariant 2), branded as decoded (`_brand.ts`), frozen. */
function makeEntry(bytes: Uint8Array, seq: number, hlc: bigint): DecodedEntry {
  const opsEnd = bytes.length - SIGNATURE_BYTES;
  const e = new DecodedEntry(
    view(bytes, ENTRY_OFFSET.FEED, FEED_ID_BYTES),
    seq,
    view(bytes, ENTRY_OFFSET.PREV, HASH_BYTES),
    hlc,
    view(bytes, ENTRY_OFFSET.OPS, opsEnd - ENTRY_OFFSET.OPS),
    view(bytes, opsEnd, SIGNATURE_BYTES),
    bytes,
  );
  Object.freeze(e);
  return e;
}

/**
 * Internal: a verified entry from a decoded one and its hashes. Callers: verify.ts, feed-store.ts and signing.
 * The field views of an entry made by {@link decodeEntryV1} are reused (they are views of its bytes); any other
 * object's fields are re-derived from its `bytes`.
 */
export function _withHashes(entry: UnverifiedEntry, signingHash: Uint8Array, hash: Uint8Array): VerifiedEntry {
  const d = DecodedEntry.is(entry) ? entry : makeEntry(entry.bytes, entry.seq, entry.hlc);
  const v = new HashedEntry(d, signingHash, hash);
  Object.freeze(v);
  return v as unknown as VerifiedEntry;
}

/**
 * Whether `entry` is an object {@link decodeEntryV1} made in this process (frozen; every field a view of, or read
 * from, its own `bytes`), so a consumer that would decode `entry.bytes` again may use it as it is. False for any
 * other object, including copies and objects built by hand with the same fields. Never throws.
 */
export function isDecodedEntry(entry: unknown): entry is UnverifiedEntry {
  return isDecoded(entry);
}

/**
 * Decodes an encoded entry (spec: `docs/formats/log-entry.md`). Structural checks only: the result is an
 * {@link UnverifiedEntry}; pass it to `verifyEntry` or `verifyRange`. Its fields are views into `bytes` (no copy).
 *
 * @throws LogError `HEARTH_ENTRY_TOO_LARGE` if `bytes` is longer than `maxEntryBytes`;
 *   `HEARTH_MALFORMED_ENTRY` if it is truncated, has trailing bytes, an unknown version, seq 0 or beyond
 *   2^53 - 1, or a `prev` that breaks invariant 1.
 */
export function decodeEntryV1(bytes: Uint8Array, options: DecodeOptions = {}): UnverifiedEntry {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('"bytes" expected Uint8Array');
  const max = Math.min(options.maxEntryBytes ?? MAX_ENTRY_BYTES, MAX_ENTRY_BYTES);
  if (bytes.length > max) {
    throw new LogError(LogErrorCode.ENTRY_TOO_LARGE, `entry of ${bytes.length} bytes exceeds the limit of ${max}`);
  }
  if (bytes.length < ENTRY_MIN_BYTES) throw malformed(`${bytes.length} bytes is shorter than the minimum ${ENTRY_MIN_BYTES}`);
  if (bytes[ENTRY_OFFSET.VERSION] !== ENTRY_V1) throw malformed(`unknown version ${bytes[ENTRY_OFFSET.VERSION]}`);
  // Big-endian fields read byte by byte: no DataView and no BigInt per entry except the HLC.
  const seqHi = u32(bytes, ENTRY_OFFSET.SEQ);
  const seqLo = u32(bytes, ENTRY_OFFSET.SEQ + 4);
  if (seqHi > 0x1fffff || (seqHi === 0 && seqLo < FIRST_SEQ)) {
    throw malformed(`seq ${(BigInt(seqHi) << 32n) | BigInt(seqLo)} outside [1, 2^53 - 1]`);
  }
  const seq = seqHi * 0x100000000 + seqLo;
  const opsLength = u32(bytes, ENTRY_OFFSET.OPS_LENGTH);
  const expected = encodedEntryBytes(opsLength);
  if (expected !== bytes.length) {
    throw malformed(
      expected > bytes.length ? `truncated: ops length ${opsLength} needs ${expected} bytes, have ${bytes.length}` : `${bytes.length - expected} trailing bytes`,
      seq,
    );
  }
  const prevZero = isZero(bytes, ENTRY_OFFSET.PREV, HASH_BYTES);
  if (seq === FIRST_SEQ && !prevZero) throw malformed('prev of seq 1 must be 32 zero bytes', seq);
  if (seq !== FIRST_SEQ && prevZero) throw malformed('prev is zero after seq 1', seq);
  return makeEntry(bytes, seq, readU64(bytes, ENTRY_OFFSET.HLC));
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

// A big-endian u64 through a scratch 64-bit array: one BigInt, no arithmetic on BigInts.
const u64 = new BigUint64Array(1);
const u64Bytes = new Uint8Array(u64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readU64(b: Uint8Array, at: number): bigint {
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) u64Bytes[i] = b[at + 7 - i];
  else for (let i = 0; i < 8; i++) u64Bytes[i] = b[at + i];
  return u64[0];
}

/** The fields of an encoded entry, for {@link encodeEntryV1}. */
export interface EntryFieldsV1 {
  feed: Uint8Array;
  seq: number;
  prev: Uint8Array;
  hlc: bigint;
  ops: Uint8Array;
  signature: Uint8Array;
}

/**
 * Encodes an entry from its fields (spec: `docs/formats/log-entry.md`). Use {@link signEntry} to make a new
 * entry; this encoder exists for tools and tests (the signature is taken as given, not checked).
 * @throws RangeError / TypeError for fields outside the format (see {@link signEntry}), a feed or signature of the
 *   wrong length; LogError `HEARTH_ENTRY_TOO_LARGE`.
 */
export function encodeEntryV1(fields: EntryFieldsV1): Uint8Array {
  checkNewEntry(fields.seq, fields.prev, fields.hlc, fields.ops);
  if (!(fields.feed instanceof Uint8Array) || fields.feed.length !== FEED_ID_BYTES) throw new RangeError('"feed" expected Uint8Array of length 32');
  if (!(fields.signature instanceof Uint8Array) || fields.signature.length !== SIGNATURE_BYTES) {
    throw new RangeError('"signature" expected Uint8Array of length 64');
  }
  return writeEntry(fields.feed, fields.seq, fields.prev, fields.hlc, fields.ops, fields.signature);
}

function checkNewEntry(seq: number, prev: Uint8Array, hlc: bigint, ops: Uint8Array): void {
  if (!Number.isSafeInteger(seq) || seq < FIRST_SEQ) throw new RangeError(`"seq" expected safe integer >= 1, got ${seq}`);
  if (!(prev instanceof Uint8Array) || prev.length !== HASH_BYTES) throw new RangeError('"prev" expected Uint8Array of length 32');
  if ((seq === FIRST_SEQ) !== isZero(prev)) {
    throw new RangeError(seq === FIRST_SEQ ? '"prev" must be 32 zero bytes at seq 1' : '"prev" must not be zero after seq 1');
  }
  if (typeof hlc !== 'bigint' || hlc < 0n || hlc > U64_MAX) throw new RangeError('"hlc" expected bigint in [0, 2^64)');
  if (!(ops instanceof Uint8Array)) throw new TypeError('"ops" expected Uint8Array');
  const size = encodedEntryBytes(ops.length);
  if (size > MAX_ENTRY_BYTES) {
    throw new LogError(LogErrorCode.ENTRY_TOO_LARGE, `entry of ${size} bytes exceeds ${MAX_ENTRY_BYTES}`, { seq });
  }
}

/** Writes an entry into a new buffer; the signature bytes stay zero when `signature` is null. REQUIRES: checked. */
function writeEntry(feed: Uint8Array, seq: number, prev: Uint8Array, hlc: bigint, ops: Uint8Array, signature: Uint8Array | null): Uint8Array {
  const size = encodedEntryBytes(ops.length);
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  bytes[ENTRY_OFFSET.VERSION] = ENTRY_V1;
  bytes.set(feed, ENTRY_OFFSET.FEED);
  view.setBigUint64(ENTRY_OFFSET.SEQ, BigInt(seq));
  bytes.set(prev, ENTRY_OFFSET.PREV);
  view.setBigUint64(ENTRY_OFFSET.HLC, hlc);
  view.setUint32(ENTRY_OFFSET.OPS_LENGTH, ops.length);
  bytes.set(ops, ENTRY_OFFSET.OPS);
  if (signature !== null) bytes.set(signature, size - SIGNATURE_BYTES);
  return bytes;
}

/** Short description of an entry for messages: `feed…/seq`. */
export function describeEntry(entry: UnverifiedEntry): string {
  return `${feedIdToHex(entry.feed).slice(0, 16)}…/${entry.seq}`;
}
