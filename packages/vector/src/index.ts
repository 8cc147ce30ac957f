/**
 * `@hearth/vector`: vector indexes for nearest-neighbour search. HNSW (approximate), flat (exact), and
 * `AutoIndex` (flat when small, HNSW when large), all behind {@link VectorIndex}; optional int8 scalar
 * quantisation; filtered search; persistence to a checksummed file (docs/formats/hnsw.md); distance kernels in
 * WebAssembly SIMD with a TypeScript fallback. Guide: docs/vector.md.
 * @packageDocumentation
 */
export type {
  Metric, VectorId, VectorLike, SearchOptions, SearchHit, SearchPlan, MemoryReport, QuantizationOptions, IndexOptions,
  VectorIndex,
} from './types.js';
export { HnswIndex } from './hnsw.js';
export type { HnswOptions } from './hnsw.js';
export { FlatIndex } from './flat.js';
export type { FlatOptions } from './flat.js';
export { AutoIndex } from './auto.js';
export type { AutoOptions } from './auto.js';
export { openIndex } from './open.js';
export { loadKernels, TS_KERNELS } from './kernels.js';
export type { Kernels, KernelKind } from './kernels.js';
export { encodeIndexV1, decodeIndexV1 } from './format.js';
export type { IndexFileV1, HnswState, FlatState } from './format.js';
