/**
 * The arena: one growable block of memory holding an index's vectors, and the distance kernels that read it.
 *
 * With the WASM kernels the arena is the instance's linear memory (each index owns one instance, so one index's
 * growth never moves another's rows); with the TypeScript fallback it is a plain `ArrayBuffer` that grows by
 * copy. Either way the kernels take byte offsets into the arena, so the index code above is the same for both.
 *
 * Invariants:
 * 1. `f32`, `i8`, `i32` and `u8` always view the arena's current buffer; `grow` refreshes them (a WASM
 *    `memory.grow` detaches the old buffer), so callers must re-read them after any call that can grow.
 * 2. Growth preserves every byte below the old size.
 * @internal
 */
import { tsKernels, type TsViews } from './_kernels_ts.js';

/** The kernel functions, by their names in `wasm/kernels.ts`. Pointers are byte offsets into the arena. */
export interface KernelFunctions {
  dot_f32(a: number, b: number, n: number): number;
  l2_f32(a: number, b: number, n: number): number;
  cosine_f32(a: number, b: number, n: number): number;
  dot_i8(a: number, b: number, n: number): number;
  l2_i8(a: number, b: number, n: number): number;
  dist_f32(metric: number, a: number, b: number, n: number): number;
  batch_f32(metric: number, q: number, base: number, strideBytes: number, ids: number, count: number, out: number): void;
  scan_f32(metric: number, q: number, base: number, strideBytes: number, start: number, count: number, out: number): void;
  batch_i8(
    metric: number, q: number, base: number, strideBytes: number, sums: number, ids: number, count: number, out: number,
    c0: number, c1: number, s2: number,
  ): void;
  search_layer(
    metric: number, q: number, vec: number, strideBytes: number,
    links: number, linkInts: number, tomb: number, visited: number, mark: number,
    ep: number, epDist: number, ef: number, C: number, W: number, out: number, stats: number,
    codes: number, codeStride: number, sums: number, qc: number, c0: number, c1: number, s2: number,
  ): number;
}

const PAGE = 65536;

/** A block of memory plus the kernels over it. */
export class Arena implements TsViews {
  readonly kind: 'wasm' | 'ts';
  readonly k: KernelFunctions;
  f32!: Float32Array;
  i8!: Int8Array;
  i32!: Int32Array;
  u8!: Uint8Array;
  private memory: WebAssembly.Memory | undefined;
  private buffer: ArrayBuffer;

  /** `module` present: a WASM arena over a fresh instance of it; absent: a TypeScript arena. */
  constructor(module: WebAssembly.Module | undefined, initialBytes: number) {
    if (module) {
      const instance = new WebAssembly.Instance(module, {});
      const ex = instance.exports as unknown as KernelFunctions & { memory: WebAssembly.Memory };
      this.kind = 'wasm';
      this.memory = ex.memory;
      this.k = {
        dot_f32: ex.dot_f32,
        l2_f32: ex.l2_f32,
        cosine_f32: ex.cosine_f32,
        dot_i8: ex.dot_i8,
        l2_i8: ex.l2_i8,
        dist_f32: ex.dist_f32,
        batch_f32: ex.batch_f32,
        scan_f32: ex.scan_f32,
        batch_i8: ex.batch_i8,
        search_layer: ex.search_layer,
      };
      this.buffer = this.memory.buffer;
    } else {
      this.kind = 'ts';
      this.buffer = new ArrayBuffer(PAGE);
      this.k = tsKernels(this);
    }
    this.refresh();
    this.ensure(initialBytes);
  }

  /** Size of the arena in bytes. */
  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /** Grows the arena (by doubling, in whole 64 KiB pages) so it holds at least `bytes` bytes. */
  ensure(bytes: number): void {
    const have = this.buffer.byteLength;
    if (bytes <= have) return;
    let want = Math.max(have, PAGE);
    while (want < bytes) want *= 2;
    want = Math.ceil(want / PAGE) * PAGE;
    if (this.memory) {
      this.memory.grow((want - have) / PAGE);
      this.buffer = this.memory.buffer;
    } else {
      const next = new ArrayBuffer(want);
      new Uint8Array(next).set(new Uint8Array(this.buffer));
      this.buffer = next;
    }
    this.refresh();
  }

  private refresh(): void {
    const b = this.buffer;
    this.f32 = new Float32Array(b);
    this.i8 = new Int8Array(b);
    this.i32 = new Int32Array(b);
    this.u8 = new Uint8Array(b);
  }
}
