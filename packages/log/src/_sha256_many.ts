/**
 * Internal: SHA-256 (FIPS 180-4) of many short messages at once, for verification of runs of entries.
 *
 * Paths, chosen per platform and per message by measurement (`.scratch/sha_*`, figures in `docs/status.md` #7):
 * - `wasm`: the 4-lane multi-buffer kernel `wasm/sha256.ts` (WebAssembly 128-bit SIMD; one message per i32x4
 *   lane, Gueron & Krasnov 2012, Intel's multi-buffer SHA-256). Used in browsers for every message up to
 *   {@link MANY_MAX_BYTES}: about 3x the throughput of the plain-JS `_sha256.ts` on entry bodies (134 bytes in the
 *   catch-up benchmark). In Node only for messages shorter than {@link NATIVE_MIN_BYTES} (up to three blocks:
 *   the 96-byte link inputs and short bodies): Node's native `crypto.hash` (OpenSSL, with the CPU's SHA
 *   extensions) costs ~0.3 µs a call plus ~0.045 µs a block, the kernel ~0.115 µs a block and lane, so native
 *   wins from four blocks on.
 * - `native` / `js`: one call per message of `_crypto.ts`'s `sha256Sync` (Node's `crypto.hash`, or `_sha256.ts`).
 *   This is the reference and the fallback: where WebAssembly SIMD is missing, before the kernel is loaded, for
 *   messages longer than {@link MANY_MAX_BYTES} (a long message would keep one lane busy while three idle), and
 *   for runs shorter than {@link MANY_MIN_MESSAGES}.
 *
 * Loading: `verify.ts` imports this module dynamically on the first run of at least `LAZY_LOAD_MIN_ENTRIES` (16)
 * entries, and it imports the kernel's bytes (the generated module `_sha256.wasm.ts`, made by
 * `node wasm/build.mjs`) dynamically in {@link loadSha256Kernel}: bundlers put both in chunks of their own that a
 * database fetches on its first sync catch-up, not at open (issue #8's `bundle-gzip` counts what loads at open).
 * Until then, and where the kernel cannot run, verification hashes entry by entry: the answers are the same.
 *
 * Memory: the kernel works on its own linear memory. Each message is copied into it once (followed by its
 * FIPS 180-4 padding), each digest is copied out once; in {@link entryHashesMany} the first pass writes each
 * signing hash straight into the input slot of the second pass, next to the copied signature.
 *
 * Invariants:
 * 1. Not re-entrant, and it need not be: every function here is synchronous and never calls out.
 * 2. The layout of one chunk in the kernel's memory, from `base` (64-aligned, above the kernel's static data):
 *    `sha256Many`: descriptors (16 bytes each), 32-byte outputs, the messages; `entryHashesMany`: body
 *    descriptors, link descriptors, 128-byte link slots (signing hash, signature, constant padding), 32-byte
 *    outputs, the bodies. Messages start 16-aligned and are padded to whole 64-byte blocks. A chunk takes at most
 *    {@link CHUNK_BYTES} of that memory, or one message alone (up to {@link MANY_MAX_BYTES} outside tests):
 *    longer batches are cut into chunks, so the kernel's memory stays near 300 KiB.
 * 3. The typed-array views of the kernel's memory are renewed after every `memory.grow` (which detaches them).
 *
 * @packageDocumentation
 */
import { nodeHash, sha256Sync } from './_crypto.js';
import { sha256Into } from './_sha256.js';

/** Messages longer than this (bytes) are hashed one by one. */
export const MANY_MAX_BYTES = 4096;
/** Below this many messages in a call the per-message path is used (the kernel hashes four at a time). */
export const MANY_MIN_MESSAGES = 2;
/** Kernel memory one chunk may take (padded messages plus descriptors, link slots and outputs; invariant 2). */
const CHUNK_BYTES = 256 * 1024;

/**
 * In Node, messages at least this long (bytes; four padded blocks and more) go to the native hash. Measured in
 * Node 20 on an AMD EPYC with the SHA extensions, 256 messages a call, CPU time, min of 9 (`.scratch/sha_sweep.ts`):
 * kernel 0.30 / native 0.40 µs at 96 bytes, 0.41 / 0.45 at 134-183 (three blocks), 0.53 / 0.53 at 200-247 (four),
 * 0.64-0.67 / 0.58 at 250-300 (five): the kernel costs ~0.115 µs a block, native ~0.045 a block plus ~0.3 a call.
 */
export const NATIVE_MIN_BYTES = 184;

/** Which path hashes what: see the file header. */
export type Sha256ManyPath = 'wasm' | 'native' | 'js';

interface Kernel {
  readonly memory: WebAssembly.Memory;
  readonly run: (desc: number, n: number) => void;
  readonly base: number;
  u8: Uint8Array;
  u32: Uint32Array;
}

let kernel: Kernel | null = null;
/** Messages hashed by the kernel since load (tests check that the kernel path is the one exercised). */
let kernelMessages = 0;
let loading: Promise<boolean> | undefined;
/** What {@link _forceSha256ManyPath} set: 'auto' (default), or one path forced for tests. */
let forced: 'auto' | 'wasm' | 'fallback' = 'auto';

/** Decodes base64 without Node's Buffer (so it runs in a browser worker too). */
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Why the kernel is not in use after loading (no WebAssembly, no SIMD, instantiation refused), for diagnostics. */
let unavailable: string | undefined;

async function instantiate(): Promise<boolean> {
  if (typeof WebAssembly !== 'object') {
    unavailable = 'no WebAssembly';
    return false;
  }
  let mod: { SHA256_WASM_BASE64: string };
  try {
    mod = (await import('./_sha256.wasm.js')) as { SHA256_WASM_BASE64: string };
  } catch (cause) {
    loading = undefined;
    throw new Error(
      '@hearth/log: the generated SHA-256 kernel module packages/log/src/_sha256.wasm.ts is missing; ' +
        'build it from source with `node wasm/build.mjs` (npm run build / npm test do this first)',
      { cause },
    );
  }
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    // The host writes descriptors and padding words through a Uint32Array, in the platform's byte order, and the
    // kernel reads them little-endian (WebAssembly's order): on a big-endian host (s390x) they would disagree.
    unavailable = 'big-endian host';
    return false;
  }
  const bytes = fromBase64(mod.SHA256_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) {
    unavailable = 'WebAssembly SIMD unsupported';
    return false;
  }
  try {
    const { instance } = await WebAssembly.instantiate(bytes, {});
    const ex = instance.exports as { memory: WebAssembly.Memory; sha256_many: (d: number, n: number) => void; heap_base: () => number };
    const base = (ex.heap_base() + 63) & ~63;
    kernel = { memory: ex.memory, run: ex.sha256_many, base, u8: new Uint8Array(ex.memory.buffer), u32: new Uint32Array(ex.memory.buffer) };
    return true;
  } catch (e) {
    // e.g. a Content-Security-Policy without 'wasm-unsafe-eval': the per-message path serves every call.
    unavailable = `WebAssembly instantiation failed: ${e instanceof Error ? e.message : String(e)}`;
    return false;
  }
}

/**
 * Loads the multi-buffer kernel once (later calls return the same promise). Resolves true when the kernel is in
 * use, false where WebAssembly or its SIMD extension is missing or instantiation is refused (a Content Security
 * Policy without `'wasm-unsafe-eval'`): the per-message path then serves every call, with the same answers.
 * @throws Error (rejects) when the generated module `_sha256.wasm.ts` is missing: run `node wasm/build.mjs`
 *   (`npm run build` and `npm test` do). A missing build is not silently replaced by the fallback.
 */
export function loadSha256Kernel(): Promise<boolean> {
  loading ??= instantiate();
  return loading;
}

/** Why the kernel is not in use, once {@link loadSha256Kernel} resolved false; undefined otherwise. */
export function sha256KernelUnavailable(): string | undefined {
  return unavailable;
}

/** @internal Test hook: forgets the loaded kernel and the load's outcome, so that the next load runs again. */
export function _resetSha256Kernel(): void {
  kernel = null;
  loading = undefined;
  unavailable = undefined;
  forced = 'auto';
}

/** @internal How many messages the kernel has hashed in this process (tests). */
export function _sha256KernelMessages(): number {
  return kernelMessages;
}

/** Whether the kernel is loaded (then batches of {@link MANY_MIN_MESSAGES} or more use it). */
export function sha256KernelLoaded(): boolean {
  return kernel !== null;
}

/**
 * @internal Test hook: `'wasm'` sends every message to the kernel (any length, any count), `'fallback'` every
 * message to the per-message path, `'auto'` (default) chooses as {@link sha256ManyPath} says.
 * @throws Error for `'wasm'` when the kernel is not loaded.
 */
export function _forceSha256ManyPath(path: 'auto' | 'wasm' | 'fallback'): void {
  if (path === 'wasm' && kernel === null) throw new Error('the SHA-256 kernel is not loaded (await loadSha256Kernel())');
  forced = path;
}

/**
 * Which path hashes a message of `len` bytes in a call of `count` messages (see the file header). `'wasm'` only
 * when the kernel is loaded.
 */
export function sha256ManyPath(len: number, count: number): Sha256ManyPath {
  const single: Sha256ManyPath = nodeHash !== null ? 'native' : 'js';
  if (kernel === null || forced === 'fallback') return single;
  if (forced === 'wasm') return 'wasm';
  if (count < MANY_MIN_MESSAGES || len > MANY_MAX_BYTES) return single;
  if (nodeHash !== null && len >= NATIVE_MIN_BYTES) return 'native';
  return 'wasm';
}

/** Padded size of a message of `len` bytes: whole blocks holding it, the 0x80 marker and the 8-byte bit length. */
function paddedBytes(len: number): number {
  return (len + 72) & ~63;
}

/** Makes room for `bytes` bytes from the kernel's `base`, growing its memory (and renewing the views). */
function reserve(k: Kernel, bytes: number): void {
  const need = k.base + bytes;
  const have = k.memory.buffer.byteLength;
  if (need > have) {
    k.memory.grow(Math.ceil((need - have) / 65536));
    k.u8 = new Uint8Array(k.memory.buffer);
    k.u32 = new Uint32Array(k.memory.buffer);
  }
}

/**
 * Copies `msg` to `at` in the kernel's memory followed by its padding (FIPS 180-4 section 5.1.1) and writes its
 * descriptor at `d`: message address, block count, output address `out`. Returns the address after the message.
 */
function put(k: Kernel, msg: Uint8Array, at: number, d: number, out: number): number {
  const u8 = k.u8;
  const u32 = k.u32;
  const len = msg.length;
  const padded = paddedBytes(len);
  const end = at + padded;
  // Zero the last block (two when the marker and length spill over), then the message over it (at is 16-aligned).
  for (let w = (end - (len % 64 < 56 ? 64 : 128)) >>> 2, e = end >>> 2; w < e; w++) u32[w] = 0;
  u8.set(msg, at);
  u8[at + len] = 0x80;
  // bit length, 64-bit big-endian; messages here are < 2^29 bytes, so the high word is 0 (zeroed above)
  const bits = len * 8;
  u8[end - 4] = bits >>> 24;
  u8[end - 3] = bits >>> 16;
  u8[end - 2] = bits >>> 8;
  u8[end - 1] = bits;
  const di = d >>> 2;
  u32[di] = at;
  u32[di + 1] = padded >>> 6;
  u32[di + 2] = out;
  return end;
}

/** Writes the 32-byte digest of latin1 string `h` (native output) to `out[o, o + 32)`. */
function fromLatin1(h: string, out: Uint8Array, o: number): void {
  for (let i = 0; i < 32; i++) out[o + i] = h.charCodeAt(i);
}

/** Hashes `msg` on the per-message path into `out[o, o + 32)`. */
function hashOne(msg: Uint8Array, out: Uint8Array, o: number): void {
  if (nodeHash !== null) fromLatin1(nodeHash('sha256', msg, 'latin1'), out, o);
  else sha256Into(msg, 0, msg.length, out, o);
}

/**
 * SHA-256 of each of `inputs` (FIPS 180-4), digest `i` written to `out[outOffset + 32 i, outOffset + 32 i + 32)`:
 * the multi-buffer WASM kernel for the messages it wins on (see the file header), one call per message for the
 * rest. Same bytes whichever path runs (tests: `packages/log/test/sha256-many.test.ts`).
 * @throws RangeError if `out` has fewer than `outOffset + 32 * inputs.length` bytes.
 */
export function sha256Many(inputs: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
  const n = inputs.length;
  if (!Number.isInteger(outOffset) || outOffset < 0 || out.length < outOffset + 32 * n) {
    throw new RangeError(`sha256Many: "out" expected at least ${outOffset + 32 * n} bytes, got ${out.length}`);
  }
  const k = kernel;
  let i = 0;
  while (i < n) {
    // Gather the next chunk of kernel messages; hash the others as they come.
    const first = i;
    let bytes = 0;
    let end = i;
    let cost = 0; // kernel memory the chunk takes: messages plus 48 bytes of descriptor and output each
    while (end < n && (cost < CHUNK_BYTES || end === first)) {
      const len = inputs[end].length;
      if (k !== null && sha256ManyPath(len, n) === 'wasm') bytes += paddedBytes(len);
      cost = bytes + 48 * (end - first + 1);
      end++;
    }
    const count = end - first;
    if (k === null || bytes === 0) {
      for (let j = first; j < end; j++) hashOne(inputs[j], out, outOffset + 32 * j);
      i = end;
      continue;
    }
    const descAt = k.base;
    const outAt = descAt + 16 * count;
    const msgAt = outAt + 32 * count;
    reserve(k, msgAt - k.base + bytes);
    let at = msgAt;
    let m = 0;
    const slot: number[] = [];
    for (let j = first; j < end; j++) {
      const msg = inputs[j];
      if (sha256ManyPath(msg.length, n) !== 'wasm') {
        hashOne(msg, out, outOffset + 32 * j);
        continue;
      }
      at = put(k, msg, at, descAt + 16 * m, outAt + 32 * m);
      slot.push(j);
      m++;
    }
    k.run(descAt, m);
    kernelMessages += m;
    const u8 = k.u8;
    if (m === count) out.set(u8.subarray(outAt, outAt + 32 * m), outOffset + 32 * first); // all in order
    else {
      for (let s = 0; s < m; s++) {
        const o = outOffset + 32 * slot[s];
        const from = outAt + 32 * s;
        for (let b = 0; b < 32; b++) out[o + b] = u8[from + b];
      }
    }
    i = end;
  }
}

/**
 * For each entry i of a run: `signingHashes[i] = SHA-256(bodies[i])` (unless the caller already set it) and
 * `hashes[i] = SHA-256(signingHashes[i] || signatures[i])` (`docs/formats/log-entry.md`). With the kernel: two
 * kernel calls per chunk of the run, the first writing each signing hash into the second's input slot.
 *
 * Results are 32-byte Uint8Arrays that stay valid (never views of the kernel's memory). On the kernel path they
 * are views of one copy per chunk (160 bytes an entry), except the last entry's two, which own their bytes: a feed
 * head kept after the run pins 32 bytes, not the chunk, while the others live as long as their entries (which
 * already pin their received buffers). A view costs about half a 32-byte slice (measured, Node 20).
 * REQUIRES: equal lengths of the arrays; each signature 64 bytes; each preset signing hash 32 bytes.
 */
export function entryHashesMany(
  bodies: readonly Uint8Array[],
  signatures: readonly Uint8Array[],
  signingHashes: (Uint8Array | undefined)[],
  hashes: Uint8Array[],
): void {
  const n = bodies.length;
  const k = kernel;
  const useKernel = k !== null && sha256ManyPath(96, n) === 'wasm';
  if (!useKernel) {
    const link = new Uint8Array(96);
    for (let i = 0; i < n; i++) {
      let sh = signingHashes[i];
      if (sh === undefined) {
        sh = new Uint8Array(32);
        hashOne(bodies[i], sh, 0);
        signingHashes[i] = sh;
      }
      link.set(sh, 0);
      link.set(signatures[i], 32);
      const h = new Uint8Array(32);
      hashOne(link, h, 0);
      hashes[i] = h;
    }
    return;
  }
  let i = 0;
  while (i < n) {
    // A chunk: entries [first, end) whose kernel memory fits CHUNK_BYTES (at least one entry).
    const first = i;
    let bytes = 0;
    let end = i;
    let cost = 0; // kernel memory the chunk takes: bodies plus 192 bytes of descriptors, link slot, output each
    while (end < n && (cost < CHUNK_BYTES || end === first)) {
      const len = bodies[end].length;
      if (signingHashes[end] === undefined && sha256ManyPath(len, n) === 'wasm') bytes += paddedBytes(len);
      cost = bytes + 192 * (end - first + 1);
      end++;
    }
    const count = end - first;
    // layout (invariant 2): body descriptors, link descriptors, link slots (128 B), hash outputs, bodies
    const bodyDescAt = k.base;
    const linkDescAt = bodyDescAt + 16 * count;
    const slotAt = linkDescAt + 16 * count;
    const outAt = slotAt + 128 * count;
    const bodyAt = outAt + 32 * count;
    reserve(k, bodyAt - k.base + bytes);
    const u8 = k.u8;
    const u32 = k.u32;
    let at = bodyAt;
    let m = 0;
    for (let j = 0; j < count; j++) {
      const e = first + j;
      const slot = slotAt + 128 * j;
      const sh = signingHashes[e];
      if (sh !== undefined) u8.set(sh, slot);
      else {
        const body = bodies[e];
        if (sha256ManyPath(body.length, n) === 'wasm') {
          at = put(k, body, at, bodyDescAt + 16 * m, slot);
          m++;
        } else if (nodeHash !== null) {
          const h = nodeHash('sha256', body, 'latin1');
          for (let b = 0; b < 32; b++) u8[slot + b] = h.charCodeAt(b);
        } else sha256Into(body, 0, body.length, u8, slot);
      }
      u8.set(signatures[e], slot + 32);
      // the constant tail (LINK_PAD) as eight little-endian words: 0x80, zeros, then 0x0300 (768 bits) big-endian
      const pw = (slot + 96) >>> 2;
      u32[pw] = 0x80;
      u32[pw + 1] = 0;
      u32[pw + 2] = 0;
      u32[pw + 3] = 0;
      u32[pw + 4] = 0;
      u32[pw + 5] = 0;
      u32[pw + 6] = 0;
      u32[pw + 7] = 0x00030000;
      const di = (linkDescAt >>> 2) + 4 * j;
      u32[di] = slot;
      u32[di + 1] = 2;
      u32[di + 2] = outAt + 32 * j;
    }
    if (m > 0) k.run(bodyDescAt, m);
    k.run(linkDescAt, count);
    kernelMessages += m + count;
    // One copy out of the kernel's memory for the chunk (link slots and outputs); see the TSDoc for the views.
    const copy = k.u8.slice(slotAt, bodyAt).buffer;
    for (let j = 0; j < count; j++) {
      const e = first + j;
      if (e === n - 1) {
        if (signingHashes[e] === undefined) signingHashes[e] = new Uint8Array(copy.slice(128 * j, 128 * j + 32));
        hashes[e] = new Uint8Array(copy.slice(outAt - slotAt + 32 * j, outAt - slotAt + 32 * j + 32));
      } else {
        if (signingHashes[e] === undefined) signingHashes[e] = new Uint8Array(copy, 128 * j, 32);
        hashes[e] = new Uint8Array(copy, outAt - slotAt + 32 * j, 32);
      }
    }
    i = end;
  }
}

/** The per-message path of {@link sha256Many}, for A/B measurements and tests: one `sha256Sync` per message. */
export function sha256ManyReference(inputs: readonly Uint8Array[], out: Uint8Array, outOffset = 0): void {
  for (let i = 0; i < inputs.length; i++) out.set(sha256Sync(inputs[i]), outOffset + 32 * i);
}
