/** Internal path helpers shared by the backends. Not exported from the package. */
import { IoError, IoErrorCode } from './errors.js';

/**
 * Checks a path: `/`-separated, relative, no empty, `.` or `..` segments, no backslash or NUL character.
 * `""` is the root directory (allowed only where `allowRoot`).
 * @throws TypeError for a non-string; RangeError for a malformed path.
 */
export function checkPath(path: string, label = 'path', allowRoot = false): string {
  if (typeof path !== 'string') throw new TypeError(`"${label}" expected string, got ${typeof path}`);
  if (path === '') {
    if (allowRoot) return '';
    throw new RangeError(`"${label}" must not be empty`);
  }
  const parts = path.split('/');
  for (const p of parts) {
    // Backslash and NUL are refused everywhere so that a path valid on one backend is valid on all (OPFS refuses
    // backslash in names, POSIX refuses NUL).
    if (p === '' || p === '.' || p === '..' || p.includes('\\') || p.includes('\0')) {
      throw new RangeError(`"${label}" is malformed: ${JSON.stringify(path)}`);
    }
  }
  return path;
}

/** The parent directory of a checked path (`""` for a top-level entry). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The last segment of a checked path. */
export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** Checks `offset`/`length`-style arguments at the edge of a `FileHandle`. */
export function checkOffset(value: number, label: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`"${label}" expected a non-negative safe integer, got ${value}`);
  }
}

export function notFound(path: string): IoError {
  return new IoError(IoErrorCode.NOT_FOUND, 'no such file or directory', { path });
}

export function closedError(path: string): IoError {
  return new IoError(IoErrorCode.CLOSED, 'file handle is closed', { path });
}

/** Checks that `data` is a `Uint8Array` (the only byte type the interface accepts). */
export function checkBytes(data: unknown, label = 'data'): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`"${label}" expected Uint8Array, got ${data === null ? 'null' : typeof data}`);
  }
}

export function isDirError(path: string): IoError {
  return new IoError(IoErrorCode.IO, 'is a directory', { path });
}
