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
   * The database worker could not be started (its script failed to load or threw on start) when this tab was
   * elected leader. The calls of this tab then reject with it; another tab may take the lead.
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
