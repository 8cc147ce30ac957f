/**
 * A bump allocator of small byte arrays for the write path. Internal.
 *
 * A write makes small arrays per document (the document key, the new document state; field values are packed by
 * the value encoder into buffers of its own, `_encode.ts`). Allocated one by one, each small `Uint8Array` costs a
 * JS object plus its own backing store, and the backing stores dominated the garbage of a bulk commit. Here they
 * are views into shared 64 KiB slabs: one JS object per array, one backing store per slab. A slab is freed by the
 * GC when no view into it remains.
 *
 * Invariants:
 * 1. Every byte of a slab is handed out at most once, and slabs start zero-filled: a view from `alloc` is all zero
 *    and no other view overlaps it.
 * 2. Callers treat the views as immutable once returned to their own callers (they may be retained anywhere: ops,
 *    change events, caches), which is the contract of the encoders that use this module.
 */
const SLAB_BYTES = 64 * 1024;
/** Arrays larger than this get their own buffer (a slab is not wasted on them). */
const MAX_SLAB_ALLOC = 4 * 1024;

let slab = new Uint8Array(SLAB_BYTES);
let used = 0;

/** A zero-filled array of `n` bytes (a view into a shared slab when small). */
export function alloc(n: number): Uint8Array {
  if (n > MAX_SLAB_ALLOC) return new Uint8Array(n);
  if (used + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    used = 0;
  }
  // A view made by the constructor: several times cheaper than `subarray` (no species lookup) and than a fresh
  // small array (~200 ns each in V8, measured).
  const out = new Uint8Array(slab.buffer, used, n);
  used += n;
  return out;
}
