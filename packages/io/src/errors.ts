/**
 * Hearth's error classes and their stable codes.
 *
 * Every error Hearth raises for a condition a caller can meet at run time (a missing file, a full disk, a corrupt
 * block, a forged entry) is a {@link HearthError} with a stable `code`. Codes never change once released; messages
 * may. Programmer mistakes (wrong argument types, out-of-range values) are plain `TypeError` / `RangeError`.
 *
 * Higher packages subclass {@link HearthError} with codes of their own; the full list is in `docs/errors.md`.
 *
 * @packageDocumentation
 */

/** Codes raised by the `io` layer. Do not change released values. */
export const IoErrorCode = {
  /** A file or directory does not exist. */
  NOT_FOUND: 'HEARTH_NOT_FOUND',
  /** A file or directory already exists where the call required it not to. */
  EXISTS: 'HEARTH_EXISTS',
  /** The storage quota or the disk is full. Nothing acknowledged before this error is lost. */
  QUOTA_EXCEEDED: 'HEARTH_QUOTA_EXCEEDED',
  /** The file handle or file system has been closed. */
  CLOSED: 'HEARTH_CLOSED',
  /** Another holder has the file open exclusively (OPFS sync access handles are exclusive). */
  LOCKED: 'HEARTH_LOCKED',
  /** Any other I/O failure reported by the platform. */
  IO: 'HEARTH_IO',
  /**
   * The platform lacks a feature the backend needs (e.g. OPFS sync access handles outside a dedicated worker).
   */
  UNSUPPORTED: 'HEARTH_UNSUPPORTED',
  /** Stored bytes fail a checksum or a structural check. */
  CORRUPTION: 'HEARTH_CORRUPTION',
  /** The fault-injecting file system simulated a crash (tests only). */
  INJECTED_CRASH: 'HEARTH_INJECTED_CRASH',
} as const;

export type IoErrorCodeValue = (typeof IoErrorCode)[keyof typeof IoErrorCode];

/**
 * Base class of every Hearth run-time error.
 *
 * @example
 * ```ts
 * try { await fs.open('missing') } catch (e) { if (e instanceof HearthError && e.code === 'HEARTH_NOT_FOUND') ... }
 * ```
 */
export class HearthError extends Error {
  /** Stable machine-readable code, e.g. `HEARTH_CORRUPTION`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A file-system operation failed. `path` names the file or directory involved, when there is one. */
export class IoError extends HearthError {
  readonly path: string | undefined;
  constructor(code: IoErrorCodeValue, message: string, options?: { path?: string; cause?: unknown }) {
    super(code, options?.path !== undefined ? `${message} (path: ${options.path})` : message, options);
    this.path = options?.path;
  }
}

/**
 * Stored bytes failed a checksum or structural check.
 *
 * `path` is the file, `offset` the byte offset of the damaged structure when known. The message says what was
 * dropped or refused and how to recover (views can be rebuilt from the log).
 */
export class CorruptionError extends HearthError {
  readonly path: string | undefined;
  readonly offset: number | undefined;
  constructor(message: string, options?: { path?: string; offset?: number; cause?: unknown }) {
    const where =
      options?.path !== undefined
        ? ` (path: ${options.path}${options.offset !== undefined ? `, offset: ${options.offset}` : ''})`
        : '';
    super(IoErrorCode.CORRUPTION, message + where, options);
    this.path = options?.path;
    this.offset = options?.offset;
  }
}

/** Raised by the fault-injecting file system when it simulates a crash. Tests only. */
export class InjectedCrashError extends HearthError {
  constructor(message: string) {
    super(IoErrorCode.INJECTED_CRASH, message);
  }
}
