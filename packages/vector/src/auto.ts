/**
 * `AutoIndex`: the index a collection's vector field gets. It keeps an exact {@link FlatIndex} while the index is
 * small, where a scan is as fast as a graph search and exact, and switches to an {@link HnswIndex} (built from the
 * flat index's vectors, in slot order) once the size passes `threshold`. It does not switch back when the size
 * falls again (a rebuild each way would thrash around the threshold). `explain()` reports which index answered.
 *
 * The switch is synchronous: the `add` that crosses the threshold builds the graph over every vector (at the
 * default 10,000 vectors of 100 dims, about 2–3 s of CPU with the WASM kernels), so a caller that cares about that
 * one call's latency should build an {@link HnswIndex} itself ahead of time.
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';
import { assertInt } from './_assert.js';
import { FlatIndex } from './flat.js';
import { HnswIndex, type HnswOptions } from './hnsw.js';
import { loadKernels } from './kernels.js';
import { openIndex } from './open.js';
import type { MemoryReport, Metric, SearchHit, SearchOptions, SearchPlan, VectorId, VectorIndex, VectorLike } from './types.js';

/** Options for {@link AutoIndex}: HNSW's, plus the switch-over size. */
export interface AutoOptions extends HnswOptions {
  /** Live vectors above which the HNSW graph is built. Default 10,000. */
  threshold?: number;
}

/** Flat below `threshold` vectors, HNSW above. */
export class AutoIndex implements VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  readonly threshold: number;
  private inner: FlatIndex | HnswIndex;
  private readonly options: AutoOptions;

  constructor(options: AutoOptions, inner?: FlatIndex | HnswIndex) {
    if (options === null || typeof options !== 'object') throw new TypeError('"options" expected an object');
    this.threshold = options.threshold ?? 10_000;
    assertInt(this.threshold, 'threshold', 0, 2 ** 31 - 1);
    this.options = { ...options };
    this.inner = inner ?? new FlatIndex(options);
    this.dim = this.inner.dim;
    this.metric = this.inner.metric;
  }

  /** With the best available kernels. */
  static async create(options: AutoOptions): Promise<AutoIndex> {
    return new AutoIndex({ ...options, kernels: options.kernels ?? (await loadKernels('auto')) });
  }

  /**
   * Opens an index saved by {@link AutoIndex.save} (either kind).
   * @throws CorruptionError if the file is damaged (rebuild from the source); IoError `HEARTH_NOT_FOUND`.
   */
  static async open(fs: FileSystem, path: string, options: AutoOptions): Promise<AutoIndex> {
    const kernels = options.kernels ?? (await loadKernels('auto'));
    const inner = await openIndex(fs, path, { kernels });
    if (inner.dim !== options.dim) throw new RangeError(`"dim" ${options.dim} differs from the saved index's ${inner.dim}`);
    return new AutoIndex({ ...options, kernels, metric: inner.metric }, inner);
  }

  /** Which index currently answers. */
  get kind(): 'flat' | 'hnsw' {
    return this.inner instanceof HnswIndex ? 'hnsw' : 'flat';
  }

  get size(): number {
    return this.inner.size;
  }

  private promote(): void {
    if (!(this.inner instanceof FlatIndex) || this.inner.size <= this.threshold) return;
    const flat = this.inner;
    const h = new HnswIndex({ ...this.options, metric: this.metric, capacity: flat.size * 2 });
    for (const id of flat.ids()) h.add(id, flat.get(id)!);
    this.inner = h;
    // The flat index may hold an open file (int8 rows): release it; save and close wait for it.
    this.closing = flat.close().catch(() => undefined);
  }
  private closing: Promise<void> = Promise.resolve();

  add(id: VectorId, vector: VectorLike): void {
    this.inner.add(id, vector);
    this.promote();
  }
  update(id: VectorId, vector: VectorLike): void {
    this.inner.update(id, vector);
  }
  set(id: VectorId, vector: VectorLike): void {
    this.inner.set(id, vector);
    this.promote();
  }
  remove(id: VectorId): boolean {
    return this.inner.remove(id);
  }
  has(id: VectorId): boolean {
    return this.inner.has(id);
  }
  get(id: VectorId): Float32Array | undefined {
    return this.inner.get(id);
  }
  ids(): VectorId[] {
    return this.inner.ids();
  }
  search(query: VectorLike, options: SearchOptions): SearchHit[] {
    return this.inner.search(query, options);
  }
  /** Like search; `plan.index` says whether the flat or the HNSW index answered, and `plan.reason` why. */
  explain(query: VectorLike, options: SearchOptions): { hits: SearchHit[]; plan: SearchPlan } {
    const r = this.inner.explain(query, options);
    const why = this.kind === 'flat' ? `size ${this.size} <= threshold ${this.threshold}: flat index` : `size passed threshold ${this.threshold}: HNSW index`;
    r.plan.reason = `${why}; ${r.plan.reason}`;
    return r;
  }
  memory(): MemoryReport {
    return this.inner.memory();
  }
  async save(fs: FileSystem, path: string): Promise<void> {
    await this.closing;
    await this.inner.save(fs, path);
  }
  /** Releases the file the index reads f32 rows from (int8), if any; the index must not be used afterwards. */
  async close(): Promise<void> {
    await this.closing;
    await this.inner.close();
  }
}
