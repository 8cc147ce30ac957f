/**
 * Verification: the only way (besides local signing) to obtain a {@link VerifiedEntry}.
 *
 * - {@link verifyEntry}: one entry on its own: size limit, SHA-256 of the body, ed25519 signature by its feed.
 * - {@link verifyRange}: a run of consecutive entries of one feed: size limits, sequence continuity, the hash
 *   chain (`prev` of each entry equals the `hash` of the one before) and **one** signature check, on the last
 *   entry. Since each `hash` covers the previous entry's signing hash and signature, the last entry's valid
 *   signature vouches for every entry and signature before it in the run (see `docs/formats/log-entry.md`).
 *   Its 2N hashes are computed in two batches by the multi-buffer SHA-256 of `_sha256_many.ts` (WASM SIMD, four
 *   messages at once; loaded lazily, see {@link LAZY_LOAD_MIN_ENTRIES}); the answers are those of hashing each.
 *
 * Neither checks how a run links to what a store already holds (its first `prev`): the feed store does that, and
 * reports a mismatch as a fork. Neither checks membership of the feed in a space: the sync layer does.
 *
 * @packageDocumentation
 */
import { sha256, sha256Fast, sha256IsSync, verifyBytes } from './_crypto.js';
import { MAX_ENTRY_BYTES, SIGNATURE_BYTES } from './constants.js';
import {
  _withHashes,
  computeSigningHash,
  linkHash,
  type DecodeOptions,
  type EntryCryptoOptions,
  type UnverifiedEntry,
  type VerifiedEntry,
} from './entry.js';
import { LogError, LogErrorCode } from './errors.js';
import { feedIdToHex } from './keys.js';

/** Options of {@link verifyEntry} and {@link verifyRange}. */
export interface VerifyOptions extends EntryCryptoOptions, DecodeOptions {}

/**
 * A run of at least this many entries loads the batch SHA-256 (`_sha256_many.ts` and its WASM kernel) once, by
 * dynamic import: bundlers put it in a chunk of its own that a database fetches on its first sync catch-up, not at
 * open. Shorter runs before that, and every run where WebAssembly SIMD is missing, hash entry by entry.
 */
const LAZY_LOAD_MIN_ENTRIES = 16;

type Sha256Batch = typeof import('./_sha256_many.js');
/** The batch module once loaded with its kernel in use; null before, and where the kernel is unavailable. */
let sha256Batch: Sha256Batch | null = null;
let sha256BatchLoading: Promise<Sha256Batch | null> | undefined;

/**
 * Loads the batch SHA-256 once (later calls share the promise). Resolves null where the kernel cannot run (no
 * WebAssembly SIMD, instantiation refused): entry-by-entry hashing then serves, with the same answers.
 * @throws Error (rejects) when the generated kernel module is missing (`node wasm/build.mjs`); a later call retries.
 */
function loadSha256Batch(): Promise<Sha256Batch | null> {
  sha256BatchLoading ??= (async () => {
    try {
      const m = await import('./_sha256_many.js');
      return (sha256Batch = (await m.loadSha256Kernel()) ? m : null);
    } catch (e) {
      sha256BatchLoading = undefined;
      throw e;
    }
  })();
  return sha256BatchLoading;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function checkSize(entry: UnverifiedEntry, options: VerifyOptions): void {
  const max = Math.min(options.maxEntryBytes ?? MAX_ENTRY_BYTES, MAX_ENTRY_BYTES);
  if (entry.bytes.length > max) {
    throw new LogError(LogErrorCode.ENTRY_TOO_LARGE, `entry of ${entry.bytes.length} bytes exceeds the limit of ${max}`, {
      feed: feedIdToHex(entry.feed),
      seq: entry.seq,
    });
  }
}

async function checkSignature(entry: UnverifiedEntry, signingHash: Uint8Array, options: VerifyOptions): Promise<void> {
  const ok = await verifyBytes(entry.signature, signingHash, entry.feed, options.backend ?? 'auto');
  if (!ok) {
    throw new LogError(LogErrorCode.INVALID_SIGNATURE, 'signature does not verify against the feed key', {
      feed: feedIdToHex(entry.feed),
      seq: entry.seq,
    });
  }
}

/**
 * Verifies one entry on its own: size, then ed25519 over SHA-256 of its body by its feed's key (RFC 8032
 * section 5.1.7 under the rule in `_crypto.ts`: canonical non-small-order key, S < L, cofactorless).
 * @throws LogError `HEARTH_ENTRY_TOO_LARGE`, `HEARTH_INVALID_SIGNATURE` (also for a feed id that is not a valid
 *   public key).
 */
export async function verifyEntry(entry: UnverifiedEntry, options: VerifyOptions = {}): Promise<VerifiedEntry> {
  checkSize(entry, options);
  const signingHash = await computeSigningHash(entry, options);
  await checkSignature(entry, signingHash, options);
  return _withHashes(entry, signingHash, linkHash(signingHash, entry.signature));
}

/**
 * Verifies a run of consecutive entries of one feed with one signature check (see the file header).
 * Returns the entries as {@link VerifiedEntry} in the same order; an empty run gives `[]`.
 *
 * @throws LogError `HEARTH_MALFORMED_ENTRY` if the run mixes feeds; `HEARTH_ENTRY_TOO_LARGE`;
 *   `HEARTH_SEQUENCE_GAP` if sequence numbers are not consecutive ascending; `HEARTH_BROKEN_CHAIN` if an entry's
 *   `prev` is not the `hash` of the entry before it; `HEARTH_INVALID_SIGNATURE` if the last entry's signature fails.
 */
export async function verifyRange(entries: readonly UnverifiedEntry[], options: VerifyOptions = {}): Promise<VerifiedEntry[]> {
  if (!Array.isArray(entries)) throw new TypeError('"entries" expected an array');
  if (entries.length === 0) return [];
  const first = entries[0];
  const feedHex = feedIdToHex(first.feed);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (i > 0 && !equalBytes(e.feed, first.feed)) {
      throw new LogError(LogErrorCode.MALFORMED_ENTRY, 'a range must hold entries of one feed', { feed: feedHex, seq: e.seq });
    }
    checkSize(e, options);
    if (e.seq !== first.seq + i) {
      throw new LogError(LogErrorCode.SEQUENCE_GAP, `expected seq ${first.seq + i}, got ${e.seq}`, { feed: feedHex, seq: e.seq });
    }
  }
  const backend = options.backend ?? 'auto';
  const n = entries.length;
  const signingHashes: (Uint8Array | undefined)[] = new Array(n);
  const hashes: Uint8Array[] = new Array(n);
  const batch = sha256Batch ?? (n >= LAZY_LOAD_MIN_ENTRIES ? await loadSha256Batch() : null);
  if (batch !== null) {
    // All 2N hashes of the run are independent of each other (the chain check below only compares them): two
    // batches through the multi-buffer kernel, the signing hashes then the link hashes (`_sha256_many.ts`). A body
    // that only an asynchronous hash takes (WebCrypto, for large bodies in browsers) is hashed first, on its own.
    const bodies: Uint8Array[] = new Array(n);
    const signatures: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const b = entries[i].bytes;
      const body = new Uint8Array(b.buffer, b.byteOffset, b.length - SIGNATURE_BYTES);
      bodies[i] = body;
      signatures[i] = entries[i].signature;
      if (!sha256IsSync(body, backend)) signingHashes[i] = await sha256(body, backend);
    }
    batch.entryHashesMany(bodies, signatures, signingHashes, hashes);
  } else {
    for (let i = 0; i < n; i++) {
      const e = entries[i];
      const b = e.bytes;
      const h = sha256Fast(new Uint8Array(b.buffer, b.byteOffset, b.length - SIGNATURE_BYTES), backend);
      const sh = h instanceof Uint8Array ? h : await h;
      signingHashes[i] = sh;
      hashes[i] = linkHash(sh, e.signature);
    }
  }
  for (let i = 1; i < n; i++) {
    const e = entries[i];
    if (!equalBytes(e.prev, hashes[i - 1])) {
      throw new LogError(LogErrorCode.BROKEN_CHAIN, `prev does not match the hash of seq ${e.seq - 1}`, { feed: feedHex, seq: e.seq });
    }
  }
  const last = entries.length - 1;
  await checkSignature(entries[last], signingHashes[last]!, options);
  return entries.map((e, i) => _withHashes(e, signingHashes[i]!, hashes[i]));
}
