/**
 * Verification: the only way (besides local signing) to obtain a {@link VerifiedEntry}.
 *
 * - {@link verifyEntry}: one entry on its own: size limit, SHA-256 of the body, ed25519 signature by its feed.
 * - {@link verifyRange}: a run of consecutive entries of one feed: size limits, sequence continuity, the hash
 *   chain (`prev` of each entry equals the `hash` of the one before) and **one** signature check, on the last
 *   entry. Since each `hash` covers the previous entry's signing hash and signature, the last entry's valid
 *   signature vouches for every entry and signature before it in the run (see `docs/formats/log-entry.md`).
 *
 * Neither checks how a run links to what a store already holds (its first `prev`): the feed store does that, and
 * reports a mismatch as a fork. Neither checks membership of the feed in a space: the sync layer does.
 *
 * @packageDocumentation
 */
import { sha256, sha256IsSync, verifyBytes } from './_crypto.js';
import { entryHashesMany, LAZY_LOAD_MIN_ENTRIES, loadSha256Kernel, sha256KernelLoaded } from './_sha256_many.js';
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
  // All 2N hashes of the run are independent of each other (the chain check below only compares them), so they
  // are computed in two batches (`_sha256_many.ts`): the signing hashes, then the link hashes. A body that only an
  // asynchronous hash takes (WebCrypto, for large bodies in browsers) is hashed first, on its own.
  const n = entries.length;
  if (!sha256KernelLoaded() && n >= LAZY_LOAD_MIN_ENTRIES) await loadSha256Kernel();
  const bodies: Uint8Array[] = new Array(n);
  const signatures: Uint8Array[] = new Array(n);
  const signingHashes: (Uint8Array | undefined)[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const b = entries[i].bytes;
    const body = new Uint8Array(b.buffer, b.byteOffset, b.length - SIGNATURE_BYTES);
    bodies[i] = body;
    signatures[i] = entries[i].signature;
    signingHashes[i] = sha256IsSync(body, backend) ? undefined : await sha256(body, backend);
  }
  const hashes: Uint8Array[] = new Array(n);
  entryHashesMany(bodies, signatures, signingHashes, hashes);
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
