/**
 * Errors of the SSE binding of the sync protocol and of the relay's HTTP API. Every HTTP error of the relay has a
 * JSON body `{ "error": { "code": "HEARTH_...", "message": "..." } }`; the client turns it back into a
 * {@link RelayError} with the same code. Codes: `docs/errors.md`.
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';

/** Codes of {@link RelayError}. Do not change released values. */
export const RelayErrorCode = {
  /** 401: no token, an unknown or expired token, or a challenge answer that does not verify (signature, nonce, clock). */
  UNAUTHORIZED: 'HEARTH_RELAY_UNAUTHORIZED',
  /** 403: the key is not a current member of the space in the relay's membership view. */
  NOT_MEMBER: 'HEARTH_NOT_MEMBER',
  /** 400: a malformed request (path parameter, JSON body, message batch, query AST shape). */
  BAD_REQUEST: 'HEARTH_RELAY_BAD_REQUEST',
  /** 413: a body over the relay's limit, or more messages in one POST than it accepts. */
  TOO_LARGE: 'HEARTH_RELAY_TOO_LARGE',
  /** 429: too many open connections for one key, or too many spaces on the relay. */
  LIMIT: 'HEARTH_RELAY_LIMIT',
  /** 404: an unknown space, connection or route. */
  NOT_FOUND: 'HEARTH_RELAY_NOT_FOUND',
  /** 503: the relay is shutting down (or the feature is not available on it). */
  UNAVAILABLE: 'HEARTH_RELAY_UNAVAILABLE',
  /** 500: a failure inside the relay (I/O, a bug); the message says what.  */
  INTERNAL: 'HEARTH_RELAY_INTERNAL',
  /** Client side: the relay could not be reached, or answered outside this protocol (status without a JSON error). */
  HTTP: 'HEARTH_RELAY_HTTP',
} as const;

export type RelayErrorCodeValue = (typeof RelayErrorCode)[keyof typeof RelayErrorCode];

/** HTTP status of each code (the relay answers with it; the client maps back by the body's code). */
export const RELAY_ERROR_STATUS: Readonly<Record<RelayErrorCodeValue, number>> = {
  HEARTH_RELAY_UNAUTHORIZED: 401,
  HEARTH_NOT_MEMBER: 403,
  HEARTH_RELAY_BAD_REQUEST: 400,
  HEARTH_RELAY_TOO_LARGE: 413,
  HEARTH_RELAY_LIMIT: 429,
  HEARTH_RELAY_NOT_FOUND: 404,
  HEARTH_RELAY_UNAVAILABLE: 503,
  HEARTH_RELAY_INTERNAL: 500,
  HEARTH_RELAY_HTTP: 502,
};

/** An error of the relay's HTTP API (server: what it answers; client: what it got). */
export class RelayError extends HearthError {
  /** HTTP status (the relay's answer, or 0 when no answer arrived). */
  readonly status: number;
  constructor(code: RelayErrorCodeValue | string, message: string, options?: { status?: number; cause?: unknown }) {
    super(code, message, options);
    this.status = options?.status ?? RELAY_ERROR_STATUS[code as RelayErrorCodeValue] ?? 500;
  }
  /** The JSON body the relay sends for this error. */
  toJSON(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
