/**
 * Error codes raised by `@hearth/sdk` itself. Listed in `docs/errors.md`; codes never change once released.
 * Errors of the database (`DbError`, `IoError`, `LogError`, `QueryError`...) cross the worker boundary with their
 * class and code (see `wire-errors.ts`).
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes raised by the SDK. Do not change released values. */
export const SdkErrorCode = {
  /**
   * The database worker could not be started or died while this tab led (a failed script load, a crash). Calls in
   * flight at that moment have an unknown outcome (writes may or may not be committed).
   */
  WORKER_FAILED: 'HEARTH_WORKER_FAILED',
} as const;

export type SdkErrorCodeValue = (typeof SdkErrorCode)[keyof typeof SdkErrorCode];

/** An SDK-level failure (see {@link SdkErrorCode}). */
export class SdkError extends HearthError {
  constructor(code: SdkErrorCodeValue, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
