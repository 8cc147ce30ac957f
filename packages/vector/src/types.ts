/**
 * The public contract of `@hearth/vector`: one interface, {@link VectorIndex}, implemented by the exact
 * {@link FlatIndex}, the approximate {@link HnswIndex}, and {@link AutoIndex}, which picks between them by size.
 *
 * Ids: each vector is stored under a caller id, either a non-negative safe integer (the database's document
 * ordinal) or a string key. The index maps ids to its own internal slots, which it may renumber (compaction), so
 * callers never see slots. Distances are "smaller is nearer" in every metric:
 * - `l2`: squared Euclidean distance;
 * - `ip`: 1 - a·b (hnswlib's inner-product space: may be negative);
 * - `cosine`: 1 - cos(a, b), in [0, 2]; vectors are normalised on insert, so `get` returns the unit vector.
 *
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';

/** Distance metric. */
export type Metric = 'l2' | 'ip' | 'cosine';

/** A caller id: a non-negative safe integer (ordinal) or a string key. */
export type VectorId = number | string;

/** A vector as input: any array-like of finite numbers of the index's dimension. */
export type VectorLike = ArrayLike<number>;

/** Options for {@link VectorIndex.search}. */
export interface SearchOptions {
  /** Number of neighbours wanted (≥ 1). */
  k: number;
  /**
   * ef_search: size of the dynamic candidate list for HNSW (ignored by the flat index). Raised to `k` if smaller.
   * Default: the index's `efSearch`.
   */
  ef?: number;
  /**
   * Only items for which this returns true are returned (the rest still route the graph search). Called with the
   * caller id; it must be pure for the duration of the search.
   */
  filter?: (id: VectorId) => boolean;
  /**
   * How a filtered HNSW search runs: `auto` (default) estimates the filter's selectivity and picks the cheaper of
   * `graph` (filter inside the graph search, which keeps expanding until ef matching items are found) and `flat`
   * (evaluate the filter on every item, then an exact scan of the matches). A caller that already knows the
   * selectivity (a query planner) can force one. Ignored without a filter and by the flat index.
   */
  filterStrategy?: 'auto' | 'graph' | 'flat';
}

/** One result. */
export interface SearchHit {
  id: VectorId;
  /** Distance under the index's metric (see the package doc); exact f32 distance even when quantised. */
  distance: number;
}

/** How a search ran (see {@link VectorIndex.explain}). */
export interface SearchPlan {
  /** The index structure that answered. */
  index: 'flat' | 'hnsw';
  /**
   * - `flat`: exact scan over every live vector;
   * - `filter-then-flat`: the filter was evaluated on every live item, then an exact scan over the matches;
   * - `hnsw`: graph search;
   * - `hnsw-filtered`: graph search that kept expanding until enough items passing the filter were found.
   */
  strategy: 'flat' | 'filter-then-flat' | 'hnsw' | 'hnsw-filtered';
  /** Live vectors in the index. */
  size: number;
  /** ef_search used (HNSW only). */
  ef?: number;
  /** Estimated fraction of live items passing the filter (sampled), when there is a filter. */
  selectivity?: number;
  /** Whether int8 codes were searched (and the top candidates rescored with f32). */
  quantized: boolean;
  /** Distance computations made (f32 and int8; rescored rows included). */
  distances: number;
  /**
   * With int8: candidates rescored with their f32 rows (each row read from the index file, or from memory when
   * written since the last save).
   */
  rescored?: number;
  /** Graph nodes whose neighbour lists were expanded (HNSW only). */
  expanded?: number;
  /** Why the strategy was chosen, in words. */
  reason: string;
}

/** Memory held by an index, in bytes. */
export interface MemoryReport {
  /**
   * f32 rows held in memory: without int8 (or before it is trained), every row (padded stride × slots); with int8
   * trained, only the rows written since the last save, plus the slot → row map (4 bytes a slot) and a 256-row
   * read scratch.
   */
  vectors: number;
  /** int8 codes and their code sums (0 without quantisation). */
  codes: number;
  /** Graph adjacency and per-node arrays (0 for flat). */
  graph: number;
  /** Id mapping (estimated). */
  ids: number;
  /** Sum of the above: what the index holds in memory. */
  total: number;
  /** f32 rows not in memory, read on demand from the index file (int8 after a save or open; else 0). Not in `total`. */
  onStorage: number;
}

/** Quantisation option. */
export interface QuantizationOptions {
  /** `int8`: global scalar quantisation (see docs/vector.md). */
  type: 'int8';
  /** Vectors seen before the range is trained (searches use f32 until then). Default 1000. */
  trainSize?: number;
  /**
   * The search keeps ef = max(ef_search, k × rescore) candidates on int8 distances and rescores the best
   * k × rescore of them with their f32 rows (read from the index file). Default 4.
   */
  rescore?: number;
}

/** Options shared by every index. */
export interface IndexOptions {
  /** Dimension of every vector (1..65536). */
  dim: number;
  /** Distance metric. Default `cosine`. */
  metric?: Metric;
  /** Enable int8 quantisation. */
  quantization?: QuantizationOptions;
  /** Initial capacity in vectors (grows by doubling). Default 1024. */
  capacity?: number;
}

/** The interface every vector index implements. */
export interface VectorIndex {
  readonly dim: number;
  readonly metric: Metric;
  /** Number of live vectors. */
  readonly size: number;
  /**
   * Inserts `vector` under `id`.
   * @throws RangeError if `id` is already present, or the vector has the wrong length or a non-finite value.
   */
  add(id: VectorId, vector: VectorLike): void;
  /**
   * Replaces the vector of an existing `id`.
   * @throws RangeError if `id` is absent, or the vector is invalid.
   */
  update(id: VectorId, vector: VectorLike): void;
  /** Inserts or replaces. */
  set(id: VectorId, vector: VectorLike): void;
  /** Removes `id`; returns whether it was present. A removed id is never returned by a search. */
  remove(id: VectorId): boolean;
  has(id: VectorId): boolean;
  /** A copy of the stored vector (normalised for cosine), or undefined. */
  get(id: VectorId): Float32Array | undefined;
  /** Live ids, in slot order. */
  ids(): VectorId[];
  /**
   * The k nearest live vectors to `query`, nearest first (ties by slot order).
   * @throws RangeError on a bad query or options.
   * @throws IoError when an int8 index cannot read a rescored row from its index file (docs/vector.md).
   */
  search(query: VectorLike, options: SearchOptions): SearchHit[];
  /** Like {@link search}, and says how the search ran. */
  explain(query: VectorLike, options: SearchOptions): { hits: SearchHit[]; plan: SearchPlan };
  memory(): MemoryReport;
  /**
   * Writes the index to `path` on `fs` (spec: docs/formats/hnsw.md): to `path + '.tmp'`, synced, then renamed
   * over `path`, so a crash leaves the old file or the new one.
   * @throws IoError from the file system.
   */
  save(fs: FileSystem, path: string): Promise<void>;
  /**
   * Releases the file an int8 index reads its f32 rows from (after `save`, or when opened with `openIndex`); a
   * no-op otherwise. The index must not be used afterwards. Idempotent.
   */
  close(): Promise<void>;
}
