/**
 * Internal: SHA-256 and ed25519 (RFC 8032) with two interchangeable backends, WebCrypto and noble.
 *
 * Both backends give **identical answers** for every input, because Hearth's verification rule is fixed here and
 * checked in front of either backend:
 * 1. The public key A must be a canonical encoding (y < p) of a curve point that is not of small order
 *    (checked once per key with noble's `Point`, then cached). Libraries disagree on small-order and non-canonical
 *    keys; Hearth refuses them outright.
 * 2. S (the second half of the signature) must be < L, the group order (RFC 8032 section 5.1.7 step 1).
 * 3. The group equation is checked **cofactorless**, `[S]B = R + [k]A`, by recomputing `R' = [S]B - [k]A` and
 *    comparing its canonical encoding with the signature's R bytes. This is what OpenSSL (Node's WebCrypto) and
 *    BoringSSL (Chromium's) do; RFC 8032 allows it. noble's own `verify` is cofactored, so the noble path here
 *    uses noble's point arithmetic and does the cofactorless check itself.
 *
 * Signing is deterministic (RFC 8032 section 5.1.6), so both backends produce the same signature bytes.
 *
 * @packageDocumentation
 */
import * as ed from '@noble/ed25519';
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js';
import { sha256Into } from './_sha256.js';

// noble-ed25519 v3's synchronous API needs SHA-512 wired in (its README); this is the same function every caller
// in the process would wire.
ed.hashes.sha512 = sha512;

/** Which implementation performs ed25519 and large SHA-256 operations. */
export type CryptoBackend = 'auto' | 'webcrypto' | 'noble';

/** Group order L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 section 5.1). */
const L = 0x1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3edn;
/** PKCS #8 prefix of an Ed25519 private key (RFC 8410 section 7): followed by the 32-byte seed. */
const PKCS8_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
/** Inputs at least this long are hashed with WebCrypto (native, async) when it exists; shorter ones with noble. */
const WEBCRYPTO_HASH_MIN_BYTES = 16 * 1024;

type Subtle = SubtleCrypto;
const subtle: Subtle | undefined = (globalThis as { crypto?: Crypto }).crypto?.subtle;

let webcryptoEd25519: Promise<boolean> | undefined;

/** Whether this platform's WebCrypto supports Ed25519 (Node >= 18.4, Chromium >= 137). Probed once. */
export function hasWebCryptoEd25519(): Promise<boolean> {
  if (webcryptoEd25519 === undefined) {
    webcryptoEd25519 = (async () => {
      if (subtle === undefined) return false;
      try {
        const pk = ed.Point.BASE.toBytes();
        await subtle.importKey('raw', buf(pk), { name: 'Ed25519' }, false, ['verify']);
        return true;
      } catch {
        return false;
      }
    })();
  }
  return webcryptoEd25519;
}

async function useWebCrypto(backend: CryptoBackend): Promise<boolean> {
  if (backend === 'noble') return false;
  const ok = await hasWebCryptoEd25519();
  if (backend === 'webcrypto' && !ok) throw new Error('WebCrypto Ed25519 is not available on this platform');
  return ok;
}

/** A view typed as backed by an ArrayBuffer (what WebCrypto's typings require). */
function buf(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

/** Node's `crypto.hash` asked for a latin1 string (one code unit per digest byte). */
export type NodeHashFn = (algorithm: string, data: Uint8Array, outputEncoding: 'latin1') => string;

/**
 * Node's one-shot native `crypto.hash` (Node >= 20.12), reached through `process.getBuiltinModule` (Node >= 20.16)
 * so that bundles for browsers carry no `node:crypto` import; null elsewhere (browsers, older Node).
 */
export const nodeHash: NodeHashFn | null = (() => {
  try {
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
    const mod = proc?.getBuiltinModule?.('node:crypto') as { hash?: unknown } | undefined;
    return typeof mod?.hash === 'function' ? (mod.hash as NodeHashFn) : null;
  } catch {
    return null;
  }
})();

/**
 * SHA-256 of `data` (FIPS 180-4), synchronously: Node's native `crypto.hash` when present, else `_sha256.ts`
 * (plain JavaScript without per-call allocations, about 2x faster than noble's one-shot on the 100-300 byte inputs
 * of entries and link hashes). Returns 32 bytes, a plain Uint8Array view of its own 32 bytes (never a Buffer).
 *
 * The native hash is asked for a latin1 string (one code unit per byte): half the cost of its Buffer output on
 * these inputs, which allocates a backing store per call (measured in Node 20: ~0.7 against ~1.3 µs per call).
 */
export function sha256Sync(data: Uint8Array): Uint8Array {
  // A small typed array lives on the JS heap (no backing store): as cheap as a view into a shared slab, and it
  // keeps no slab alive.
  const out = new Uint8Array(32);
  if (nodeHash !== null) {
    const h = nodeHash('sha256', data, 'latin1');
    for (let i = 0; i < 32; i++) out[i] = h.charCodeAt(i);
  } else sha256Into(data, 0, data.length, out, 0);
  return out;
}

/** Whether {@link sha256} answers synchronously for `data` (then {@link sha256Sync} gives the same bytes). */
export function sha256IsSync(data: Uint8Array, backend: CryptoBackend = 'auto'): boolean {
  return nodeHash !== null || backend === 'noble' || subtle === undefined || data.length < WEBCRYPTO_HASH_MIN_BYTES;
}

/** {@link sha256} without a promise when the answer is synchronous (hot loops: one microtask less per entry). */
export function sha256Fast(data: Uint8Array, backend: CryptoBackend = 'auto'): Uint8Array | Promise<Uint8Array> {
  if (!sha256IsSync(data, backend)) return sha256(data, backend);
  return backend === 'noble' ? nobleSha256(data) : sha256Sync(data);
}

/**
 * SHA-256 of `data`: native and synchronous in Node; in browsers WebCrypto for large inputs (about 8x faster),
 * noble otherwise.
 */
export async function sha256(data: Uint8Array, backend: CryptoBackend = 'auto'): Promise<Uint8Array> {
  if (!sha256IsSync(data, backend)) return new Uint8Array(await subtle!.digest('SHA-256', buf(data)));
  return backend === 'noble' ? nobleSha256(data) : sha256Sync(data);
}

// --- keys -----------------------------------------------------------------------------------------------------

/** Derives the 32-byte public key of a 32-byte RFC 8032 secret key (seed). */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed.getPublicKey(secretKey);
}

/** 32 random bytes from the platform CSPRNG, a fresh RFC 8032 secret key. */
export function randomSecretKey(): Uint8Array {
  return ed.utils.randomSecretKey();
}

const signKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function webcryptoSignKey(secretKey: Uint8Array): Promise<CryptoKey> {
  let k = signKeys.get(secretKey);
  if (k === undefined) {
    const pkcs8 = new Uint8Array(PKCS8_PREFIX.length + 32);
    pkcs8.set(PKCS8_PREFIX);
    pkcs8.set(secretKey, PKCS8_PREFIX.length);
    k = subtle!.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign']);
    signKeys.set(secretKey, k);
  }
  return k;
}

/** Signs `message` with the 32-byte secret key (RFC 8032 section 5.1.6); returns the 64-byte signature. */
export async function signBytes(message: Uint8Array, secretKey: Uint8Array, backend: CryptoBackend = 'auto'): Promise<Uint8Array> {
  if (await useWebCrypto(backend)) {
    const key = await webcryptoSignKey(secretKey);
    return new Uint8Array(await subtle!.sign({ name: 'Ed25519' }, key, buf(message)));
  }
  return ed.sign(message, secretKey);
}

// --- verification ---------------------------------------------------------------------------------------------

interface KeyInfo {
  /** null when the key fails rule 1. */
  point: InstanceType<typeof ed.Point> | null;
  webcrypto?: Promise<CryptoKey | null>;
}
const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, KeyInfo>();

function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

function keyInfo(publicKey: Uint8Array): KeyInfo {
  const id = hex(publicKey);
  let info = keyCache.get(id);
  if (info === undefined) {
    let point: KeyInfo['point'] = null;
    try {
      const p = ed.Point.fromBytes(publicKey, false); // rejects y >= p and points off the curve
      if (!p.isSmallOrder()) point = p;
    } catch {
      point = null;
    }
    info = { point };
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(id, info);
  }
  return info;
}

/** Whether `publicKey` is acceptable as a feed id (rule 1: canonical, on the curve, not of small order). */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  return publicKey.length === 32 && keyInfo(publicKey).point !== null;
}

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

/**
 * Verifies an ed25519 signature under Hearth's rule (see the file header). Returns false for any invalid input of
 * the right lengths; identical results on both backends.
 * REQUIRES: `signature` 64 bytes, `publicKey` 32 bytes.
 */
export async function verifyBytes(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
  backend: CryptoBackend = 'auto',
): Promise<boolean> {
  const info = keyInfo(publicKey);
  if (info.point === null) return false; // rule 1
  const s = leToBigint(signature.subarray(32, 64));
  if (s >= L) return false; // rule 2
  if (await useWebCrypto(backend)) {
    if (info.webcrypto === undefined) {
      info.webcrypto = subtle!
        .importKey('raw', buf(publicKey.slice()), { name: 'Ed25519' }, false, ['verify'])
        .catch(() => null);
    }
    const key = await info.webcrypto;
    if (key === null) return false;
    return subtle!.verify({ name: 'Ed25519' }, key, buf(signature), buf(message));
  }
  // rule 3 with noble's arithmetic: R' = [S]B - [k]A, k = SHA-512(R || A || M) mod L, compare encodings.
  const r = signature.subarray(0, 32);
  const hashInput = new Uint8Array(64 + message.length);
  hashInput.set(r, 0);
  hashInput.set(publicKey, 32);
  hashInput.set(message, 64);
  const k = leToBigint(sha512(hashInput)) % L;
  const sB = ed.Point.BASE.multiply(s, false);
  const kA = info.point.multiply(k, false);
  return equalBytes(sB.subtract(kA).toBytes(), r);
}
