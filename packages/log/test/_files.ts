/** Whole-file helpers of the feed store's tests: read a file, and write one (created or truncated, synced). */
import type { FileSystem } from '@hearth/io';

/** The whole content of the file at `path`. */
export async function fileBytes(fs: FileSystem, path: string): Promise<Uint8Array> {
  const fh = await fs.open(path);
  try {
    return fh.read(0, fh.size());
  } finally {
    await fh.close();
  }
}

/** Replaces the file at `path` with `bytes` (created or truncated), synced. */
export async function writeFile(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const fh = await fs.open(path, { create: true, truncate: true });
  try {
    fh.write(0, bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
