/**
 * `@hearth/sdk`: Hearth in the browser. `openDatabase(name)` on the main thread starts (or joins) the database
 * worker and talks to it with comlink; tabs of one origin elect a leader with Web Locks and share its worker.
 * Typed collections, transactions, live values (callbacks, async iterators, stores), errors that keep their
 * class and code across the worker boundary. Guide: `docs/sdk.md`.
 *
 * Entry points: this one (main thread), `@hearth/sdk/worker` (the worker's entry, started by the SDK itself) and
 * `@hearth/sdk/host` (`startWorker(options)` for custom worker entries).
 * @packageDocumentation
 */
export { openDatabase, HearthDatabase, CollectionHandle } from './database.js';
export type {
  OpenOptions,
  DatabaseInfo,
  Patch,
  CollectionQuery,
  TransactionHandle,
  TransactionCollection,
} from './database.js';
export { Live } from './live.js';
export type { LiveSource } from './live.js';
export { SdkError, SdkErrorCode } from './errors.js';
export type { SdkErrorCodeValue } from './errors.js';
export { encodeError, decodeError, registerErrorTransfer } from './wire-errors.js';
export type { WireError } from './wire-errors.js';
export { MARKER_COLLECTION, MARKER_WINDOW } from './protocol.js';
export type { WorkerInfo, LiveSpec, SyncStatus, SyncParams } from './protocol.js';
export { SyncHandle } from './sync.js';
export type { InviteOptions } from './sync.js';
