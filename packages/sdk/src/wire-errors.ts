/**
 * Errors across the worker boundary (and between tabs): an error keeps its class, `code`, `message`, `stack` and
 * its own data fields (`path`, `offset`, `collection`, `id`...), so `e instanceof DbError && e.code ===
 * 'HEARTH_INVALID_KEY'` works on the main thread exactly as in the worker.
 *
 * Structured clone keeps only `name` and `message` of a few built-in errors, and comlink's own `throw` handler
 * turns every error into a plain `Error`. {@link registerErrorTransfer} replaces comlink's handler with one that
 * encodes errors as a {@link WireError} and rebuilds them from a registry of Hearth's error classes (by `name`).
 * An unknown `HearthError` subclass comes back as a `HearthError` with the same `name` and `code`.
 *
 * @packageDocumentation
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { HearthError, IoError, CorruptionError, InjectedCrashError } from '@hearth/io';
import { DbError } from '@hearth/db';
import { LogError, ForkError, FeedFrozenError } from '@hearth/log';
import { QueryError } from '@hearth/query';
import { ClockDriftError } from '@hearth/crdt';
import { SyncError, RelayError } from '@hearth/sync';
import { SdkError } from './errors.js';

/** An error as data (structured-cloneable). */
export interface WireError {
  /**
   * The class (`DbError`, `TypeError`...): the registry key of the error's class when it is one of Hearth's or a
   * built-in one (found by prototype, so it survives minifiers that rename classes), else the error's `name`.
   */
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** The `code` of a HearthError. */
  readonly code?: string;
  /** Own enumerable data fields of the error, with structured-cloneable values only. */
  readonly fields?: Record<string, unknown>;
  readonly cause?: WireError;
}

type ErrorClass = abstract new (...args: never[]) => Error;

const HEARTH_CLASSES: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ['HearthError', HearthError],
  ['IoError', IoError],
  ['CorruptionError', CorruptionError],
  ['InjectedCrashError', InjectedCrashError],
  ['DbError', DbError],
  ['LogError', LogError],
  ['ForkError', ForkError],
  ['FeedFrozenError', FeedFrozenError],
  ['QueryError', QueryError],
  ['ClockDriftError', ClockDriftError],
  ['SdkError', SdkError],
  ['SyncError', SyncError],
  ['RelayError', RelayError],
]);

const BUILTIN_CLASSES: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>([
  ['Error', Error],
  ['TypeError', TypeError],
  ['RangeError', RangeError],
  ['SyntaxError', SyntaxError],
  ['ReferenceError', ReferenceError],
  ['EvalError', EvalError],
  ['URIError', URIError],
]);

function cloneable(v: unknown, depth = 0): boolean {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean' || t === 'bigint') return true;
  if (t !== 'object' || depth > 4) return false;
  if (ArrayBuffer.isView(v)) return true;
  if (Array.isArray(v)) return v.every((x) => cloneable(x, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.values(v as object).every((x) => cloneable(x, depth + 1));
}

/** `String(v)`, or a type description for values without a string form (null-prototype objects, symbols...). */
function safeString(v: unknown): string {
  try {
    return String(v);
  } catch {
    return `[${typeof v}]`;
  }
}

/** The registry key of `e`'s class: its exact class if registered, else the nearest registered ancestor. */
function classKey(e: Error): string | undefined {
  const proto = Object.getPrototypeOf(e) as object | null;
  for (const [k, cls] of HEARTH_CLASSES) if (cls.prototype === proto) return k;
  for (const [k, cls] of BUILTIN_CLASSES) if (cls.prototype === proto) return k;
  return undefined; // an unknown class: rebuilt by `name` (a HearthError when it has a `code`)
}

/** Encodes any thrown value as a {@link WireError} (a non-Error is wrapped as an `Error` with its string form). */
export function encodeError(e: unknown, depth = 0): WireError {
  if (!(e instanceof Error)) return { name: 'Error', message: typeof e === 'string' ? e : `non-Error thrown: ${safeString(e)}` };
  const fields: Record<string, unknown> = {};
  for (const k of Object.keys(e)) {
    if (k === 'code' || k === 'name' || k === 'message' || k === 'stack' || k === 'cause') continue;
    const v = (e as unknown as Record<string, unknown>)[k];
    if (cloneable(v)) fields[k] = v;
  }
  const code = e instanceof HearthError ? e.code : typeof (e as unknown as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : undefined;
  const out: { -readonly [K in keyof WireError]: WireError[K] } = { name: classKey(e) ?? e.name, message: e.message };
  if (typeof e.stack === 'string') out.stack = e.stack;
  if (code !== undefined) out.code = code;
  if (Object.keys(fields).length > 0) out.fields = fields;
  if (e.cause !== undefined && depth < 4) out.cause = encodeError(e.cause, depth + 1);
  return out;
}

/**
 * Rebuilds an error from {@link encodeError}'s output: an instance of the registered class of that `name` (its
 * constructor is not run, so every class rebuilds the same way), a `HearthError` for an unknown name with a
 * `code`, else a plain `Error`.
 */
export function decodeError(w: WireError): Error {
  const cls = HEARTH_CLASSES.get(w.name) ?? BUILTIN_CLASSES.get(w.name) ?? (w.code !== undefined ? HearthError : Error);
  const e = Object.create(cls.prototype) as Error & Record<string, unknown>;
  const hidden = (k: string, v: unknown): void => {
    Object.defineProperty(e, k, { value: v, writable: true, configurable: true, enumerable: false });
  };
  hidden('message', w.message);
  hidden('stack', w.stack ?? `${w.name}: ${w.message}`);
  if (w.cause !== undefined) hidden('cause', decodeError(w.cause));
  // HearthError sets `code` and `name` as own enumerable fields in its constructor: do the same.
  if (w.code !== undefined) e.code = w.code;
  // Own `name` = the class's real name, also where a minifier renamed the class (`new.target.name` would be `Q`).
  if (cls.prototype instanceof HearthError || cls === HearthError || w.name !== cls.name) e.name = w.name;
  for (const [k, v] of Object.entries(w.fields ?? {})) e[k] = v;
  return e;
}

let registered = false;

/**
 * Makes comlink carry thrown errors with {@link encodeError}/{@link decodeError} (in the realm that throws and in
 * the one that receives: both the SDK and the worker call this). Idempotent.
 */
export function registerErrorTransfer(): void {
  if (registered) return;
  registered = true;
  const original = transferHandlers.get('throw') as TransferHandler<unknown, unknown>;
  const handler: TransferHandler<{ value: unknown }, { hearthError: WireError } | { original: unknown }> = {
    canHandle: (v): v is { value: unknown } => original.canHandle(v),
    serialize(v) {
      if (v.value instanceof Error) return [{ hearthError: encodeError(v.value) }, []];
      const [s, t] = original.serialize(v);
      return [{ original: s }, t];
    },
    deserialize(s) {
      if ('hearthError' in s) throw decodeError(s.hearthError);
      return original.deserialize(s.original) as { value: unknown };
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}
