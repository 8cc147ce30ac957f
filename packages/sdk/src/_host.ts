/**
 * The database worker: owns one {@link Database}, serves the leader tab over comlink ({@link WorkerApi}) and the
 * other tabs over the database's BroadcastChannel (`protocol.ts`, whose numbered invariants this file keeps).
 *
 * Open sequence: take the Web Lock `dbLockName(name)` (waits while a previous leader's worker is still alive:
 * OPFS sync access handles are exclusive, and IndexedDB has no such guard), open the storage (OPFS sync access
 * handles where this worker has them, else the IndexedDB backend), load or create the device keypair (IndexedDB),
 * `Database.open`, then listen on the channel and announce `{ t: 'leader' }`.
 *
 * Runs only in a dedicated worker. Nothing here touches `window` or `document`.
 * @packageDocumentation
 */
import { expose } from 'comlink';
import { IoError, IoErrorCode, OpfsFileSystem, type FileSystem } from '@hearth/io';
import { Database, type Document } from '@hearth/db';
import { feedIdToHex } from '@hearth/log';
import { createLiveQuery, execute, explain, type Change as QueryChange, type Query, type QueryStore } from '@hearth/query';
import { loadOrCreateDeviceKeypair } from './_keypair.js';
import {
  CALLABLE,
  MARKER_COLLECTION,
  MARKER_WINDOW,
  channelName,
  checkName,
  clientLockName,
  dbLockName,
  type BcMessage,
  type LiveSpec,
  type Marker,
  type OpenParams,
  type PortRequest,
  type PortResponse,
  type Request,
  type WorkerApi,
  type WorkerInfo,
  type WriteOp,
} from './protocol.js';
import { encodeError, registerErrorTransfer, type WireError } from './wire-errors.js';
import { deepEqual } from './_equal.js';
import { WorkerSync, loadSyncEngine } from './_sync.js';

/** Options of {@link startWorker}. */
export interface WorkerHostOptions {
  /**
   * Wraps the storage before the database opens it (tests use it to inject faults and quotas). Receives the
   * backend chosen (OPFS or IndexedDB) and returns the file system to use.
   */
  wrapFileSystem?: (fs: FileSystem) => FileSystem;
}

/** Prefix of the OPFS root directory (`hearth-sdk/<name>`) and IndexedDB file-system database name. */
const STORAGE_PREFIX = 'hearth-sdk';
/** Directory of the database inside its file system. */
const DB_DIR = 'db';

type Emit = (ok: boolean, value: unknown, error?: WireError) => void;
type DbWithExtras = Database & Record<string, unknown>;

/** Opens the IndexedDB backend, loading it on demand (`_idb-fs.ts`: OPFS browsers never download it). */
async function openIdb(name: string): Promise<FileSystem> {
  const { IdbFileSystem } = await import('./_idb-fs.js');
  return IdbFileSystem.open(name);
}

function unsupported(what: string): IoError {
  return new IoError(IoErrorCode.UNSUPPORTED, what);
}

/** One worker's state. Exposed through {@link WorkerApi}. */
class Host implements WorkerApi {
  private db: DbWithExtras | null = null;
  /** Sync over this worker's Database (`_sync.ts`); null until open. */
  private sync: WorkerSync | null = null;
  private fs: FileSystem | null = null;
  private params: OpenParams | null = null;
  private info: WorkerInfo | null = null;
  private bc: BroadcastChannel | null = null;
  private releaseDbLock: (() => void) | null = null;
  /** When this worker took the database lock (ms since the epoch): orders leader announcements. */
  private since = 0;
  private closing = false;
  private closed: Promise<void> | null = null;
  /** Marked writes being committed, by `client:seq` (invariant 4: a second delivery joins the first). */
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly localSubs = new Map<number, () => void>();
  private readonly remoteSubs = new Map<string, Map<number, () => void>>();
  private readonly watchAbort = new AbortController();
  private nextSub = 1;

  constructor(private readonly options: WorkerHostOptions) {}

  async open(params: OpenParams): Promise<WorkerInfo> {
    if (this.params !== null) throw new TypeError('the worker is already open');
    checkName(params.name);
    this.params = params;
    const { name } = params;
    await new Promise<void>((granted, fail) => {
      navigator.locks
        .request(dbLockName(name), { mode: 'exclusive' }, () => {
          this.since = Date.now();
          granted();
          return new Promise<void>((release) => (this.releaseDbLock = release));
        })
        .catch(fail);
    });
    try {
      let backend: 'opfs' | 'idb';
      let fs: FileSystem;
      if (params.backend === 'idb') {
        fs = await openIdb(`${STORAGE_PREFIX}:${name}`);
        backend = 'idb';
      } else {
        try {
          fs = await OpfsFileSystem.open(`${STORAGE_PREFIX}/${name}`);
          backend = 'opfs';
        } catch (e) {
          if (params.backend === 'opfs' || !(e instanceof IoError) || e.code !== IoErrorCode.UNSUPPORTED) throw e;
          fs = await openIdb(`${STORAGE_PREFIX}:${name}`);
          backend = 'idb';
        }
      }
      this.fs = fs;
      const wrapped = this.options.wrapFileSystem ? this.options.wrapFileSystem(fs) : fs;
      const { keypair, created } = await loadOrCreateDeviceKeypair(name);
      const db = await openRetryingLocked(() => Database.open({ ...params.database, fs: wrapped, name: DB_DIR, keypair }));
      this.db = db as DbWithExtras;
      this.info = {
        name,
        backend,
        feed: feedIdToHex(db.feed),
        keypairCreated: created,
        leader: params.leader,
        replayed: db.recovery.replayed,
      };
      const bc = new BroadcastChannel(channelName(name));
      bc.onmessage = (ev: MessageEvent<BcMessage>) => this.onBroadcast(ev.data);
      this.bc = bc;
      this.sync = new WorkerSync(name, db, keypair);
      // Sync never fails the open: the database works offline; errors show in the sync status.
      await this.sync.start(params.sync).catch(() => undefined);
      this.post({ t: 'leader', leader: params.leader, since: this.since });
      return this.info;
    } catch (e) {
      await this.shutdown();
      throw e;
    }
  }

  private post(m: BcMessage): void {
    try {
      this.bc?.postMessage(m);
    } catch (e) {
      // A value that does not clone (cannot happen for Database results) must not kill the worker: report it.
      // (A closed channel throws too: the caller then retries with the next leader.)
      if (m.t === 'res' && this.bc !== null) {
        try {
          this.bc.postMessage({ t: 'res', to: m.to, id: m.id, ok: false, error: encodeError(e) } satisfies BcMessage);
        } catch {
          // the channel is closed
        }
      }
    }
  }

  private onBroadcast(m: BcMessage): void {
    const leader = this.params!.leader;
    if (this.closing) return;
    switch (m.t) {
      case 'hello':
        this.post({ t: 'leader', leader, since: this.since });
        return;
      case 'req':
        if (m.to !== leader) return;
        this.handle(m.req).then(
          (value) => this.post({ t: 'res', to: m.from, id: m.id, ok: true, value }),
          (e: unknown) => {
            // While closing, the caller retries with the next leader (invariant 5): no answer.
            if (!this.closing) this.post({ t: 'res', to: m.from, id: m.id, ok: false, error: encodeError(e) });
          },
        );
        return;
      case 'sub': {
        if (m.to !== leader) return;
        this.watchClient(m.from);
        let subs = this.remoteSubs.get(m.from);
        if (subs === undefined) this.remoteSubs.set(m.from, (subs = new Map()));
        subs.get(m.sub)?.();
        const to = m.from;
        const sub = m.sub;
        try {
          subs.set(
            sub,
            this.startLive(m.spec, (ok, value, error) => this.post({ t: 'live', to, sub, ok, value, error })),
          );
        } catch (e) {
          this.post({ t: 'live', to, sub, ok: false, error: encodeError(e) });
        }
        return;
      }
      case 'unsub': {
        if (m.to !== leader) return;
        const subs = this.remoteSubs.get(m.from);
        subs?.get(m.sub)?.();
        subs?.delete(m.sub);
        return;
      }
      default:
        return;
    }
  }

  /** Drops a follower's subscriptions when its tab is gone (its life-long Web Lock is released). */
  private watchClient(client: string): void {
    if (this.remoteSubs.has(client)) return;
    navigator.locks
      .request(clientLockName(this.params!.name, client), { signal: this.watchAbort.signal }, () => {
        const subs = this.remoteSubs.get(client);
        this.remoteSubs.delete(client);
        for (const stop of subs?.values() ?? []) stop();
      })
      .catch(() => undefined);
  }

  private requireDb(): DbWithExtras {
    if (this.db === null || this.closing) throw new IoError(IoErrorCode.CLOSED, 'database is closed');
    return this.db;
  }

  async attachPort(port: MessagePort): Promise<void> {
    port.onmessage = (ev: MessageEvent<PortRequest>) => {
      const { id, req } = ev.data;
      this.handle(req).then(
        (value) => {
          try {
            port.postMessage({ id, ok: true, value } satisfies PortResponse);
          } catch (e) {
            port.postMessage({ id, ok: false, error: encodeError(e) } satisfies PortResponse);
          }
        },
        (e: unknown) => port.postMessage({ id, ok: false, error: encodeError(e) } satisfies PortResponse),
      );
    };
    port.start();
  }

  async handle(req: Request): Promise<unknown> {
    const db = this.requireDb();
    switch (req.t) {
      case 'write':
        if (req.marker !== undefined) return this.markedWrite(db, req.ops, req.marker);
        return writeOps(db, req.ops);
      case 'call':
        return this.call(db, req.method, req.args);
      case 'info':
        return this.info;
      case 'sync':
        return this.syncOp(req.op, req.args);
      default:
        throw new TypeError(`unknown request ${JSON.stringify((req as { t?: unknown }).t)}`);
    }
  }

  /** Invariants 3 and 4 of `protocol.ts`. */
  private markedWrite(db: DbWithExtras, ops: readonly WriteOp[], marker: Marker): Promise<void> {
    const key = `${marker.client}:${marker.seq}`;
    let p = this.inflight.get(key);
    if (p !== undefined) return p;
    const slot = `${marker.client}.${marker.seq % MARKER_WINDOW}`;
    p = (async () => {
      if (db.get(MARKER_COLLECTION, slot)?.s === marker.seq) return; // committed before: answer without writing
      await db.transaction((tx) => {
        for (const op of ops) applyToTx(tx, op);
        tx.put(MARKER_COLLECTION, slot, { s: marker.seq });
      });
    })();
    this.inflight.set(key, p);
    p.then(
      () => this.inflight.delete(key),
      () => this.inflight.delete(key),
    );
    return p;
  }

  private requireSync(): WorkerSync {
    this.requireDb();
    return this.sync!;
  }

  private async syncOp(op: string, args: readonly unknown[]): Promise<unknown> {
    const sync = this.requireSync();
    if (!Array.isArray(args)) throw new TypeError('"args" expected an array');
    switch (op) {
      case 'status':
        return sync.status();
      case 'connect':
        return sync.connect((args[0] ?? {}) as { relay?: string; space?: string });
      case 'disconnect':
        return sync.disconnect();
      case 'createInvite':
        return sync.createInvite((args[0] ?? {}) as { role?: 'member' | 'admin'; ttlMs?: number; relayUrl?: string });
      case 'join':
        return sync.join(args[0] as string);
      case 'network':
        return sync.setNetwork(args[0] as boolean);
      case 'signalGrant':
        return sync.signalGrant();
      default:
        throw new TypeError(`unknown sync operation ${JSON.stringify(op)}`);
    }
  }

  /** A WebRTC connection the leader tab bridged over `port` (`bridgeTransportToPort`). */
  async syncPort(port: MessagePort, peerId: string): Promise<void> {
    const sync = this.requireSync();
    const { transportFromPort } = await loadSyncEngine(); // loaded on first use (`_sync.ts`, invariant 6)
    await sync.addPeer(String(peerId), await transportFromPort(port));
  }

  private async call(db: DbWithExtras, method: string, args: readonly unknown[]): Promise<unknown> {
    if (typeof method !== 'string' || !CALLABLE.has(method)) throw new TypeError(`"method" ${JSON.stringify(method)} cannot be called through the SDK`);
    if (!Array.isArray(args)) throw new TypeError('"args" expected an array');
    if (method === 'list') {
      const [collection, options] = args as [string, Record<string, unknown> | undefined];
      return [...db.iterate(collection, options)];
    }
    const fn = db[method];
    if (typeof fn !== 'function' && (method === 'query' || method === 'explain')) {
      // The Database has no query layer of its own yet: run `@hearth/query` on a snapshot (a QueryStore).
      const snap = db.snapshot();
      try {
        return method === 'query' ? execute(snap as unknown as QueryStore, args[0] as Query) : explain(snap as unknown as QueryStore, args[0] as Query);
      } finally {
        snap.release();
      }
    }
    if (typeof fn !== 'function') throw unsupported(`this Database has no ${method}() (its query or vector layer is not wired in)`);
    return await (fn as (...a: unknown[]) => unknown).apply(db, args);
  }

  async subscribe(spec: LiveSpec, emit: Emit): Promise<number> {
    const id = this.nextSub++;
    const send: Emit = (ok, value, error) => {
      // A closed port (the page went away) rejects: nothing to tell anyone.
      Promise.resolve(emit(ok, value, error)).catch(() => undefined);
    };
    this.localSubs.set(id, this.startLive(spec, send));
    return id;
  }

  async unsubscribe(id: number): Promise<void> {
    this.localSubs.get(id)?.();
    this.localSubs.delete(id);
  }

  /**
   * Starts a live subscription: sends the current value, then a new one after each commit that changes it.
   * Documents: re-read on a commit that touches the document. Queries: the Database's own `live(query, cb)` when
   * it has one; else its `query()` re-run after each commit that touches the query's collection (sent only when
   * the result differs); else `@hearth/query`'s `createLiveQuery` on snapshots, fed each commit's changes.
   * Returns the stop function. @throws QueryError for a malformed query (synchronously).
   */
  private startLive(spec: LiveSpec, send: Emit): () => void {
    const db = this.requireDb();
    if (spec.kind === 'doc') {
      const { collection, id } = spec;
      send(true, db.get(collection, id));
      return db.onCommit((ev) => {
        for (const c of ev.changes) {
          if (c.collection === collection && c.id === id) {
            send(true, c.after);
            return;
          }
        }
      });
    }
    if (spec.kind === 'sync') {
      const sync = this.sync!;
      return sync.subscribe((s) => send(true, s));
    }
    if (spec.kind !== 'query') throw new TypeError(`unknown live kind ${JSON.stringify((spec as { kind?: unknown }).kind)}`);
    const query = spec.query;
    if (typeof db.live === 'function') {
      const h = (db.live as (q: unknown, cb: (v: unknown) => void) => unknown).call(db, query, (v: unknown) => send(true, v));
      return () => stopHandle(h);
    }
    if (typeof db.query === 'function') return this.rerunLive(db, query, send);
    // No query layer in the Database yet: maintain the query with `@hearth/query`'s live queries on snapshots,
    // fed the commit events' changes (the Database's `Change` is the engine's shape).
    const snap = db.snapshot();
    let lq: ReturnType<typeof createLiveQuery>;
    try {
      lq = createLiveQuery(snap as unknown as QueryStore, query as Query);
    } finally {
      snap.release();
    }
    send(true, lq.result);
    return db.onCommit((ev) => {
      const s = db.snapshot();
      try {
        if (lq.apply(ev.changes as readonly QueryChange[], s as unknown as QueryStore) !== null) send(true, lq.result);
      } catch (e) {
        send(false, undefined, encodeError(e));
      } finally {
        s.release();
      }
    });
  }

  /** A live query by re-running the Database's `query()` after each commit that touches its collection. */
  private rerunLive(db: DbWithExtras, query: unknown, send: Emit): () => void {
    const run = db.query as (q: unknown) => unknown;
    const coll = typeof query === 'object' && query !== null ? (query as { collection?: unknown; traverse?: unknown }) : {};
    const narrow = typeof coll.collection === 'string' && (coll.traverse === undefined || (Array.isArray(coll.traverse) && coll.traverse.length === 0));
    let last: unknown = undefined;
    let first = true;
    let stopped = false;
    let running = false;
    let again = false;
    const rerun = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        do {
          again = false;
          let r: unknown;
          try {
            r = await run.call(db, query);
          } catch (e) {
            if (!stopped) send(false, undefined, encodeError(e));
            return;
          }
          if (stopped) return;
          if (first || !deepEqual(r, last)) {
            first = false;
            last = r;
            send(true, r);
          }
        } while (again && !stopped);
      } finally {
        running = false;
      }
    };
    void rerun();
    const off = db.onCommit((ev) => {
      if (!narrow || ev.changes.some((c) => c.collection === coll.collection)) void rerun();
    });
    return () => {
      stopped = true;
      off();
    };
  }

  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.params !== null) this.post({ t: 'bye', leader: this.params.leader });
    this.watchAbort.abort();
    for (const stop of this.localSubs.values()) stop();
    this.localSubs.clear();
    for (const subs of this.remoteSubs.values()) for (const stop of subs.values()) stop();
    this.remoteSubs.clear();
    try {
      await this.sync?.stop().catch(() => undefined);
      this.sync = null;
      await this.db?.close(); // commits queued writes; their answers still go out on the channel
    } finally {
      this.bc?.close();
      this.bc = null;
      this.db = null;
      const fs = this.fs as (FileSystem & { close?: () => Promise<void> | void }) | null;
      this.fs = null;
      try {
        await fs?.close?.();
      } finally {
        this.releaseDbLock?.();
        this.releaseDbLock = null;
      }
    }
  }
}

/**
 * How long open retries files still locked by a worker that is gone (ms). The db Web Lock is released when the old
 * worker's context is destroyed; the browser may close that worker's OPFS sync access handles a moment later.
 */
const LOCKED_RETRY_MS = 5_000;

async function openRetryingLocked<T>(open: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      return await open();
    } catch (e) {
      if (!(e instanceof IoError) || e.code !== IoErrorCode.LOCKED || Date.now() - t0 > LOCKED_RETRY_MS) throw e;
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

function stopHandle(h: unknown): void {
  if (typeof h === 'function') return void (h as () => void)();
  if (typeof h === 'object' && h !== null) {
    for (const m of ['close', 'unsubscribe', 'stop', 'dispose', 'release']) {
      const f = (h as Record<string, unknown>)[m];
      if (typeof f === 'function') return void (f as () => void).call(h);
    }
  }
}

function applyToTx(tx: { put(c: string, id: string, d: Document): void; patch(c: string, id: string, d: Document): void; delete(c: string, id: string): void }, op: WriteOp): void {
  if (op.kind === 'put') tx.put(op.collection, op.id, op.doc);
  else if (op.kind === 'patch') tx.patch(op.collection, op.id, op.doc);
  else if (op.kind === 'delete') tx.delete(op.collection, op.id);
  else throw new TypeError(`unknown write kind ${JSON.stringify((op as { kind?: unknown }).kind)}`);
}

/** Unmarked writes: one op through the group-commit fast path, several as one transaction (one entry). */
function writeOps(db: Database, ops: readonly WriteOp[]): Promise<void> {
  if (!Array.isArray(ops) || ops.length === 0) return Promise.reject(new TypeError('"ops" expected a non-empty array'));
  if (ops.length === 1) {
    const op = ops[0];
    if (op.kind === 'put') return db.put(op.collection, op.id, op.doc);
    if (op.kind === 'patch') return db.patch(op.collection, op.id, op.doc);
    if (op.kind === 'delete') return db.delete(op.collection, op.id);
  }
  return db.transaction((tx) => {
    for (const op of ops) applyToTx(tx, op);
  });
}

/**
 * Starts serving in this dedicated worker (what `worker.ts` does on load). Call once per worker.
 * @example
 * ```ts
 * // my-worker.ts: a worker with a wrapped file system (tests, instrumentation)
 * import { startWorker } from '@hearth/sdk/worker';
 * startWorker({ wrapFileSystem: (fs) => new CountingFileSystem(fs) });
 * ```
 */
export function startWorker(options: WorkerHostOptions = {}): void {
  registerErrorTransfer();
  const host = new Host(options);
  expose(host as unknown as WorkerApi);
}

