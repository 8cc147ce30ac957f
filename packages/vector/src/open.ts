/**
 * Opening a saved index file (docs/formats/hnsw.md) as the index it holds.
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';
import { FlatIndex } from './flat.js';
import { decodeIndexV1, readFileBytes } from './format.js';
import { HnswIndex } from './hnsw.js';
import { loadKernels, type Kernels } from './kernels.js';

/**
 * Reads, checks and loads the index saved at `path` (no rebuild: the graph is restored as saved).
 *
 * @param options.kernels kernels for the loaded index (default: the best available, as {@link loadKernels}).
 * @throws CorruptionError (`HEARTH_CORRUPTION`) when any checksum or structural check fails: the caller should
 *   rebuild the index from its source. IoError `HEARTH_NOT_FOUND` when the file is missing.
 */
export async function openIndex(fs: FileSystem, path: string, options: { kernels?: Kernels } = {}): Promise<FlatIndex | HnswIndex> {
  const kernels = options.kernels ?? (await loadKernels('auto'));
  const bytes = await readFileBytes(fs, path);
  const file = decodeIndexV1(bytes, path);
  return file.kind === 'hnsw' ? HnswIndex.fromState(file.hnsw, kernels) : FlatIndex.fromState(file.flat, kernels);
}
