/**
 * Opening a saved index file (docs/formats/hnsw.md) as the index it holds.
 * @packageDocumentation
 */
import type { FileSystem } from '@hearth/io';
import { FlatIndex } from './flat.js';
import { decodeIndexSource, handleSource, streamVectors } from './format.js';
import { HnswIndex } from './hnsw.js';
import { loadKernels, type Kernels } from './kernels.js';
import type { ExternalRows } from './_save.js';

/**
 * Reads, checks and loads the index saved at `path` (no rebuild: the graph is restored as saved).
 *
 * An index with a trained int8 quantiser is opened **without loading its f32 rows**: every section but `VECS` is
 * read and checked, `VECS` is streamed once (1 MiB at a time) to check its checksum and values and to compute the
 * int8 codes, and the file stays open: searches read the f32 rows of the candidates they rescore from it
 * (docs/vector.md, "int8 quantisation"). Call the index's `close()` to release the file. Other indexes are read
 * whole and the file is closed.
 *
 * @param options.kernels kernels for the loaded index (default: the best available, as {@link loadKernels}).
 * @throws CorruptionError (`HEARTH_CORRUPTION`) when any checksum or structural check fails: the caller should
 *   rebuild the index from its source. IoError `HEARTH_NOT_FOUND` when the file is missing.
 */
export async function openIndex(fs: FileSystem, path: string, options: { kernels?: Kernels } = {}): Promise<FlatIndex | HnswIndex> {
  const kernels = options.kernels ?? (await loadKernels('auto'));
  const handle = await fs.open(path);
  let keep = false;
  try {
    const src = handleSource(handle);
    const { file, vecs } = decodeIndexSource(src, path, true);
    let rows: ExternalRows | undefined;
    if (vecs !== undefined) {
      const st = file.kind === 'hnsw' ? file.hnsw : file.flat;
      rows = {
        file: { fs, path, handle, offset: vecs.offset, rows: st.count },
        load: (onRows) => streamVectors(src, vecs, st.dim, path, onRows),
      };
    }
    const index = file.kind === 'hnsw' ? HnswIndex.fromState(file.hnsw, kernels, rows) : FlatIndex.fromState(file.flat, kernels, rows);
    keep = rows !== undefined;
    return index;
  } finally {
    if (!keep) await handle.close();
  }
}
