/**
 * Whole-file helpers over a {@link FileSystem}, for the small files Hearth's packages keep beside their logs and
 * tables (catalogs, keypair, excluded ranges, invites, vector index files): each is read whole and replaced whole.
 *
 * Atomic replacement is the usual recipe (write a temporary file, sync it, rename it over the target): after a
 * crash the target holds either the old or the new bytes, never a mix, because `rename` atomically replaces an
 * existing target on every backend (`FileSystemSupports.atomicRename`) and the new bytes were durable before the
 * rename. The temporary file is `path + '.tmp'`; a crash may leave it behind, and the next write replaces it.
 * @packageDocumentation
 */
import { IoError, IoErrorCode } from './errors.js';
import type { FileHandle, FileSystem } from './types.js';

/**
 * Replaces the file at `path` with `bytes` atomically (see the module comment): writes `path + '.tmp'` (created or
 * truncated), syncs it, closes it, renames it over `path`. The parent directory must exist.
 * @param bytes the whole new content.
 * @throws IoError from the file system (`HEARTH_QUOTA_EXCEEDED` for a full disk or quota, `HEARTH_IO`, ...);
 *   then `path` still holds its previous content (or does not exist).
 */
export async function writeFileAtomic(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const tmp = path + '.tmp';
  const fh = await fs.open(tmp, { create: true, truncate: true });
  try {
    fh.write(0, bytes);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path);
}

/**
 * The whole content of the file at `path`, or undefined if there is no such file.
 * @returns a new array of the file's size (bytes).
 * @throws IoError from the file system.
 */
export async function readFileIfExists(fs: FileSystem, path: string): Promise<Uint8Array | undefined> {
  const fh = await openIfExists(fs, path);
  if (fh === undefined) return undefined;
  try {
    return fh.read(0, fh.size());
  } finally {
    await fh.close();
  }
}

/**
 * The file at `path` opened (without creating it), or undefined if there is no such file: one `open`, no `exists`
 * first (on OPFS each is a round trip to the browser process). The caller closes the handle.
 * @throws IoError from the file system other than `HEARTH_NOT_FOUND` (e.g. the path is a directory).
 */
export async function openIfExists(fs: FileSystem, path: string): Promise<FileHandle | undefined> {
  try {
    return await fs.open(path);
  } catch (e) {
    if (e instanceof IoError && e.code === IoErrorCode.NOT_FOUND) return undefined;
    throw e;
  }
}
