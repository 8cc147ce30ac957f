/**
 * The messages between the SDK on the main thread and the database worker, and between tabs.
 *
 * Two transports carry the same {@link Request} objects:
 * - the leader tab talks to its own worker with comlink (`WorkerApi`, structured clone over the worker's port);
 * - other tabs talk to the leader's worker over a `BroadcastChannel` named {@link channelName} ({@link BcMessage}).
 *   The worker listens on that channel itself, so a follower's call never passes through the leader's main thread.
 *
 * Invariants (the multi-tab protocol; see `docs/sdk.md`, "Several tabs"):
 * 1. At most one worker per origin and database has the database open: it holds the Web Lock {@link dbLockName}
 *    from before `Database.open` until after `close` (or until it dies, when the browser releases the lock).
 * 2. A tab starts a worker only while it holds the Web Lock {@link leaderLockName} (held for the tab's life).
 * 3. Every write a follower sends carries a marker `{ client, seq }`: `client` is random per page load, `seq`
 *    increases by one per marked write. The worker commits the marker document
 *    `MARKER_COLLECTION/<client>.<seq % MARKER_WINDOW>` = `{ s: seq }` in the **same log entry** as the write, so
 *    the marker is durable if and only if the write is.
 * 4. A client has at most {@link MARKER_WINDOW} marked writes without an outcome. Hence when a write `seq` is
 *    retried (its outcome unknown), no other write of that client with the same slot can be in flight or commit
 *    later, and `marker(slot).s === seq` holds exactly when `seq` was committed: the retry is then answered
 *    without writing again. Two deliveries of one marked write to one worker are joined in memory
 *    (in-flight map), so the check-then-write is never raced.
 * 5. A follower re-sends every request without an outcome, and every live subscription, each time the leader
 *    changes (a new `leader` announcement). Reads are idempotent; writes are deduplicated by invariant 4.
 *
 * @packageDocumentation
 */
import type { Document } from '@hearth/db';
import type { WireError } from './wire-errors.js';

/** Collection holding the write markers of followers (invariant 3). Do not change: stored in logs. */
export const MARKER_COLLECTION = '__hearth_sdk_markers';
/** Marked writes one client may have without an outcome (invariant 4). Do not change: slots are stored. */
export const MARKER_WINDOW = 64;

/** The `BroadcastChannel` of database `name`. */
export const channelName = (name: string): string => `hearth-sdk:${name}`;
/** The Web Lock a tab holds while it is the leader of database `name`. */
export const leaderLockName = (name: string): string => `hearth-sdk:${name}:leader`;
/** The Web Lock a worker holds while it has database `name` open. */
export const dbLockName = (name: string): string => `hearth-sdk:${name}:db`;
/** The Web Lock a tab holds for its life (its release tells the leader the tab is gone). */
export const clientLockName = (name: string, client: string): string => `hearth-sdk:${name}:client:${client}`;

/** One write. */
export type WriteOp =
  | { readonly kind: 'put'; readonly collection: string; readonly id: string; readonly doc: Document }
  | { readonly kind: 'patch'; readonly collection: string; readonly id: string; readonly doc: Document }
  | { readonly kind: 'delete'; readonly collection: string; readonly id: string };

/** A write marker (invariant 3). */
export interface Marker {
  readonly client: string;
  readonly seq: number;
}

/** What a live subscription watches. */
export type LiveSpec =
  | { readonly kind: 'doc'; readonly collection: string; readonly id: string }
  | { readonly kind: 'query'; readonly query: unknown }
  /** The sync status ({@link SyncStatus}), re-sent after every change. */
  | { readonly kind: 'sync' };

/** A call to the worker. */
export type Request =
  /** Writes, committed as one log entry when `ops.length > 1` (a transaction). */
  | { readonly t: 'write'; readonly ops: readonly WriteOp[]; readonly marker?: Marker }
  /** A read or pass-through call of a {@link CALLABLE} method of the Database. */
  | { readonly t: 'call'; readonly method: string; readonly args: readonly unknown[] }
  /** Where the database lives and who leads (answered by the leader's worker). */
  | { readonly t: 'info' }
  /** A sync operation of the leader's worker (`_sync.ts`): {@link SyncOp} with its arguments. */
  | { readonly t: 'sync'; readonly op: SyncOp; readonly args: readonly unknown[] };

/** Sync operations a client may ask of the leader's worker. */
export type SyncOp = 'status' | 'connect' | 'disconnect' | 'createInvite' | 'join' | 'signalGrant' | 'network';

/** Sync settings passed to `openDatabase` (`sync`) and kept by the worker (IndexedDB, `_sync.ts`). */
export interface SyncParams {
  /** Relay base URL, e.g. `https://hearth.local:8787`. */
  readonly relay?: string;
  /** Space id (64 hex digits). Default: the stored one, else a new space whose root admin is this device. */
  readonly space?: string;
}

/** What `db.sync.status()` reports (structured-cloneable; ids are lowercase hex). */
export interface SyncStatus {
  /** This device's feed id (its public key). */
  readonly deviceId: string;
  /** The space synced, or null before one was created or joined. */
  readonly space: string | null;
  /** This device in the space: `pending` while joining or before its admission arrived; `none` without a space. */
  readonly role: 'admin' | 'member' | 'pending' | 'none';
  /** The relay URL in use, or null. */
  readonly relayUrl: string | null;
  /**
   * The relay connection: `connected`, `connecting` (an attempt in flight), `offline` (lost or the browser is
   * offline; retrying with backoff), `error` (the last attempt failed for another reason; retrying), `disabled`
   * (no relay configured).
   */
  readonly relay: 'connected' | 'connecting' | 'offline' | 'error' | 'disabled';
  /** The last error, as `CODE: message`, or null. */
  readonly error: string | null;
  /** Direct (WebRTC) peers: peer id = device key hex. */
  readonly peers: readonly { readonly id: string; readonly via: 'webrtc'; readonly state: string }[];
  /** Every feed this replica holds, with its durable sequence number. */
  readonly feeds: readonly { readonly feed: string; readonly seq: number }[];
  /** Entries received and held pending (their author's admission is not known yet). */
  readonly pending: number;
  /** Bytes sent on open sessions and not yet acknowledged by the peer (0 when everything sent is stored there). */
  readonly unackedBytes: number;
}

/**
 * Database methods a client may call by name (reads, and the query/vector entry points that the Database gains
 * from `@hearth/query` and `@hearth/vector`). A method the Database lacks is refused with `HEARTH_UNSUPPORTED`.
 */
export const CALLABLE: ReadonlySet<string> = new Set([
  'get',
  'getMany',
  'list',
  'query',
  'explain',
  'createIndex',
  'dropIndex',
  'indexes',
  'nearest',
  'explainNearest',
  'createVectorIndex',
  'dropVectorIndex',
  'vectorIndexes',
  'count',
  'stats',
  'stateVector',
  'stateHash',
  'flush',
]);

/** What {@link Request} `info` returns, and what `db.info()` extends. */
export interface WorkerInfo {
  /** The database name. */
  readonly name: string;
  /** The storage backend the worker opened: OPFS sync access handles, or the IndexedDB fallback. */
  readonly backend: 'opfs' | 'idb';
  /** This replica's feed id (the device public key), lowercase hex. */
  readonly feed: string;
  /** Whether the keypair was created by this open (first open on this device). */
  readonly keypairCreated: boolean;
  /** The client id of the leader tab. */
  readonly leader: string;
  /** Entries replayed on open (recovery). */
  readonly replayed: number;
}

/** Messages on the database's BroadcastChannel. */
export type BcMessage =
  /** A tab asks the leader to announce itself. */
  | { readonly t: 'hello'; readonly from: string }
  /** The leader's worker is ready to serve (sent on open, and in answer to `hello`). */
  | { readonly t: 'leader'; readonly leader: string; readonly since: number }
  /** The leader's worker is closing (graceful hand-over): followers wait for the next `leader`. */
  | { readonly t: 'bye'; readonly leader: string }
  | { readonly t: 'req'; readonly to: string; readonly from: string; readonly id: number; readonly req: Request }
  | {
      readonly t: 'res';
      readonly to: string;
      readonly id: number;
      readonly ok: boolean;
      readonly value?: unknown;
      readonly error?: WireError;
    }
  | { readonly t: 'sub'; readonly to: string; readonly from: string; readonly sub: number; readonly spec: LiveSpec }
  | { readonly t: 'unsub'; readonly to: string; readonly from: string; readonly sub: number }
  | { readonly t: 'live'; readonly to: string; readonly sub: number; readonly ok: boolean; readonly value?: unknown; readonly error?: WireError };

/** Options the page passes to the worker's `open`. Structured-cloneable. */
export interface OpenParams {
  readonly name: string;
  /** The leader tab's client id (the worker answers followers' requests addressed to it). */
  readonly leader: string;
  readonly backend: 'auto' | 'opfs' | 'idb';
  /** Database options (sizes in bytes). */
  readonly database?: { readonly maxDocumentBytes?: number; readonly maxCommitBytes?: number };
  /** Sync settings (`openDatabase(name, { sync })`); the worker also starts sync from its stored settings. */
  readonly sync?: SyncParams;
}

/**
 * A request on the leader tab's request port (a `MessageChannel` the page hands to its worker): comlink carries
 * the control calls and live callbacks, this port the hot path (one structured-clone message each way, no proxy
 * bookkeeping per call; measured: a comlink call cost about three times a plain round trip).
 */
export interface PortRequest {
  readonly id: number;
  readonly req: Request;
}

/** The answer to a {@link PortRequest}. */
export interface PortResponse {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: WireError;
}

/** The comlink surface of the worker (see `_host.ts`). */
export interface WorkerApi {
  open(params: OpenParams): Promise<WorkerInfo>;
  /** Serves {@link PortRequest}s arriving on `port` (transferred). */
  attachPort(port: MessagePort): Promise<void>;
  handle(req: Request): Promise<unknown>;
  subscribe(spec: LiveSpec, emit: (ok: boolean, value: unknown, error?: WireError) => void): Promise<number>;
  unsubscribe(id: number): Promise<void>;
  /** Hands the worker a sync transport bridged over `port` (a WebRTC connection the leader tab hosts). */
  syncPort(port: MessagePort, peerId: string): Promise<void>;
  close(): Promise<void>;
}

/** Checks a database name (used in Web Lock, channel and storage names). @throws TypeError / RangeError */
export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`"name" expected a string, got ${typeof name}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new RangeError(`"name" expected 1 to 64 of [A-Za-z0-9._-] starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
}
