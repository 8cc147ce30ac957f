/**
 * Saving an index whose f32 rows live in a {@link RowSource} (int8 codes mode): write the file atomically, then
 * read the rows from it (and free the in-memory tail).
 *
 * Invariants:
 * 1. The file is written to `path + '.tmp'`, synced and renamed over `path` (a crash leaves the old file or the
 *    new one), exactly as {@link writeFileAtomic}.
 * 2. The rows are re-pointed to the new file only when no other attach or detach happened since the snapshot was
 *    taken (`RowSource.epoch`); otherwise they stay where they are (correct, merely not freed until the next save).
 * 3. Saving over the file the rows are read from first moves those rows into memory and closes the handle (OPFS
 *    and IndexedDB refuse to replace an open file), then attaches to the new file.
 * @internal
 */
import type { FileHandle, FileSystem } from '@hearth/io';
import type { VectorStore } from './_store.js';
import { RowSource } from './_rows.js';
import { sectionOffset, TAG, writeFileAtomic } from './format.js';

/**
 * Writes `bytes` (an encoded index whose `VECS` holds, in order, the rows named by `snapshot`) to `path`, and, with
 * `rows`, serves the rows from the new file afterwards.
 * @throws IoError from the file system (the index is unchanged: its rows stay where they were).
 */
export async function saveAttached(
  fs: FileSystem, path: string, bytes: Uint8Array, rows: RowSource | undefined, snapshot: Int32Array | undefined, count: number,
): Promise<void> {
  if (rows === undefined || snapshot === undefined) {
    await writeFileAtomic(fs, path, bytes);
    return;
  }
  let epoch = rows.epoch;
  const offset = sectionOffset(bytes, TAG.VECS);
  const slash = path.lastIndexOf('/');
  if (slash > 0) await fs.mkdir(path.slice(0, slash));
  const tmp = path + '.tmp';
  const h = await fs.open(tmp, { create: true, truncate: true });
  try {
    h.write(0, bytes);
    await h.sync();
  } finally {
    await h.close();
  }
  if (rows.file !== undefined && rows.file.fs === fs && rows.file.path === path) {
    const same = rows.epoch === epoch;
    const map = await rows.detach();
    if (same && map !== undefined) {
      RowSource.translate(snapshot, map);
      epoch = rows.epoch;
    }
  }
  await fs.rename(tmp, path);
  if (rows.epoch !== epoch) return; // invariant 2
  const handle = await fs.open(path);
  if (rows.epoch !== epoch) {
    await handle.close();
    return;
  }
  await rows.attach({ fs, path, handle, offset, rows: count }, snapshot);
}

/**
 * The f32 rows of a trained int8 index opened from its file: the file (kept open; the index reads rescored rows
 * from it) and a function streaming its `VECS` rows once, checked (`streamVectors` in format.ts). @internal
 */
export interface ExternalRows {
  file: { fs: FileSystem; path: string; handle: FileHandle; offset: number; rows: number };
  load(onRows: (rows: Float32Array, row0: number, n: number) => void): void;
}

/** Codes mode from a file: computes every row's codes from the streamed rows and serves the rows from the file. */
export function loadExternal(s: VectorStore, count: number, rows: ExternalRows): void {
  s.setRows(count);
  rows.load((f, row0, n) => s.encodeFrom(f, 0, row0, n));
  const snap = new Int32Array(count);
  for (let r = 0; r < count; r++) snap[r] = r;
  s.rowsSrc.src = snap.length > 0 ? snap : new Int32Array(16);
  s.rowsSrc.slots = count;
  s.rowsSrc.file = rows.file;
}


/** Codes mode from rows in memory (`count` × dim floats, as stored): the rows go to the in-memory tail. */
export function loadRows(s: VectorStore, count: number, vectors: Float32Array): void {
  s.setRows(count);
  for (let r = 0; r < count; r++) s.rowsSrc.setSlot(r, vectors, r * s.dim);
  s.encodeFrom(vectors, 0, 0, count);
}
