/**
 * Device identity: an ed25519 keypair (RFC 8032). A device's feed id is its 32-byte public key.
 * @packageDocumentation
 */
import {
  isValidPublicKey,
  publicKeyOf,
  randomSecretKey,
  signBytes,
  verifyBytes,
  type CryptoBackend,
} from './_crypto.js';

export type { CryptoBackend } from './_crypto.js';
export { hasWebCryptoEd25519 } from './_crypto.js';

/**
 * A device keypair. `secretKey` is the 32-byte RFC 8032 secret key (the seed of section 5.1.5), `publicKey` the
 * 32-byte public key derived from it, which is also the device's feed id. Treat both arrays as immutable.
 */
export interface Keypair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

function checkBytes(b: unknown, len: number, label: string): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array)) throw new TypeError(`"${label}" expected Uint8Array`);
  if (b.length !== len) throw new RangeError(`"${label}" expected Uint8Array of length ${len}, got length=${b.length}`);
}

/** A new random keypair, from the platform's CSPRNG (`crypto.getRandomValues`). */
export function generateKeypair(): Keypair {
  return keypairFromSecretKey(randomSecretKey());
}

/**
 * Imports a keypair from its 32-byte secret key (what {@link exportSecretKey} returns). The array is copied.
 * @throws RangeError if `secretKey` is not 32 bytes.
 */
export function keypairFromSecretKey(secretKey: Uint8Array): Keypair {
  checkBytes(secretKey, 32, 'secretKey');
  const sk = secretKey.slice();
  return Object.freeze({ publicKey: publicKeyOf(sk), secretKey: sk });
}

/** A copy of the keypair's 32-byte secret key, for storage (e.g. IndexedDB). Keep it secret. */
export function exportSecretKey(keypair: Keypair): Uint8Array {
  checkBytes(keypair?.secretKey, 32, 'keypair.secretKey');
  return keypair.secretKey.slice();
}

/** Lowercase hex of a feed id (64 characters), the form used in file names and error messages. */
export function feedIdToHex(feed: Uint8Array): string {
  let s = '';
  for (let i = 0; i < feed.length; i++) s += HEX_BYTE[feed[i]];
  return s;
}

/** Two lowercase hex digits of each byte value (a per-byte `toString(16)` costs several times more). */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, b) => (b < 16 ? '0' : '') + b.toString(16));

/**
 * Parses a 64-digit hex feed id.
 * @throws RangeError if `hex` is not 64 hex digits.
 */
export function feedIdFromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError('"hex" expected 64 hex digits');
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Whether `feed` is acceptable as a feed id: 32 bytes encoding a curve point canonically, not of small order.
 */
export function isValidFeedId(feed: Uint8Array): boolean {
  return feed instanceof Uint8Array && isValidPublicKey(feed);
}

/** Options naming the crypto backend: `auto` (WebCrypto when it supports Ed25519, else noble), or force one. */
export interface CryptoOptions {
  backend?: CryptoBackend;
}

/**
 * Signs `message` (any bytes) with ed25519 (RFC 8032 section 5.1.6, pure Ed25519). Deterministic: both backends
 * return the same 64 bytes.
 * @throws RangeError if `secretKey` is not 32 bytes; Error if `backend: 'webcrypto'` is forced where unavailable.
 */
export function signEd25519(message: Uint8Array, secretKey: Uint8Array, options: CryptoOptions = {}): Promise<Uint8Array> {
  if (!(message instanceof Uint8Array)) throw new TypeError('"message" expected Uint8Array');
  checkBytes(secretKey, 32, 'secretKey');
  return signBytes(message, secretKey, options.backend ?? 'auto');
}

/**
 * Verifies an ed25519 signature (RFC 8032 section 5.1.7) under Hearth's rule: canonical, non-small-order public
 * key; S < L; cofactorless equation. Returns false for an invalid signature or key; never throws for those.
 * @throws RangeError if `signature` is not 64 bytes or `publicKey` not 32 bytes.
 */
export function verifyEd25519(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  options: CryptoOptions = {},
): Promise<boolean> {
  checkBytes(signature, 64, 'signature');
  if (!(message instanceof Uint8Array)) throw new TypeError('"message" expected Uint8Array');
  checkBytes(publicKey, 32, 'publicKey');
  return verifyBytes(signature, message, publicKey, options.backend ?? 'auto');
}
