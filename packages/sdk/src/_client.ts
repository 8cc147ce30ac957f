/**
 * The main-thread side of the SDK: leader election between tabs, the connection to the database worker (own or
 * another tab's), request retry across leader changes, and live subscriptions. Keeps the invariants of
 * `protocol.ts`; this file adds:
 *
 * 1. A tab holds `clientLockName(name, client)` from before its first message until `close()` (or its end), so
 *    the leader's worker learns of its end by acquiring that lock (and drops its subscriptions).
 * 2. A request stays in `pending` until it has an outcome; the first outcome wins and later ones (a duplicate
 *    answer after a re-send) are dropped. A request is (re)sent to the current target each time the target
 *    changes: the own worker once this tab leads, else the announced leader.
 * 3. A write gets a marker if and only if this tab is not the leader when it is made: only then can its outcome
 *    be lost with another tab (a leader's own calls die with it). Marked writes wait for a free slot of the
 *    `MARKER_WINDOW` before they are sent (invariant 4 of `protocol.ts`).
 * 4. Announcements carry the time the worker took the database lock (`since`); a tab follows the latest, so a
 *    late announcement of a dead leader never wins over its successor's.
 * @packageDocumentation
 */
import { proxy, transfer, wrap, type Remote } from 'comlink';
import { DbError, DbErrorCode } from '@hearth/db';
import { IoError, IoErrorCode } from '@hearth/io';
import {
  MARKER_WINDOW,
  channelName,
  clientLockName,
  leaderLockName,
  type BcMessage,
  type LiveSpec,
  type Marker,
  type OpenParams,
  type PortRequest,
  type PortResponse,
  type Request,
  type SyncStatus,
  type WorkerApi,
  type WorkerInfo,
} from './protocol.js';
import { decodeError, registerErrorTransfer, type WireError } from './wire-errors.js';
import { SdkError, SdkErrorCode } from './errors.js';

/** Delivers a live value (`ok`) or a live error to a subscription. */
export type Deliver = (ok: boolean, value: unknown, error?: Error) => void;

interface Pending {
  readonly req: Request;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** Settles (never rejects) with the request. */
  readonly done: Promise<unknown>;
  /** Where it was last sent (`null`: not yet). */
  sentTo: string | null;
}

interface Sub {
  readonly spec: LiveSpec;
  readonly deliver: Deliver;
  /** The worker's id of this subscription when served by the own worker. */
  local: Promise<number> | null;
}

/** Options of the connection (see `OpenOptions` in `database.ts`). */
export interface ConnectionOptions {
  backend: 'auto' | 'opfs' | 'idb';
  worker?: () => Worker;
  database?: OpenParams['database'];
  sync?: OpenParams['sync'];
  webrtc?: boolean;
}

function closedError(): IoError {
  return new IoError(IoErrorCode.CLOSED, 'database is closed');
}

/** Maps a failure to post a value (a function, a class instance...) to the database's own error for it. */
function mapPostError(e: unknown, req: Request): unknown {
  if (e instanceof DOMException && e.name === 'DataCloneError') {
    const op = req.t === 'write' ? req.ops[0] : undefined;
    return new DbError(DbErrorCode.UNSUPPORTED_VALUE, `a value cannot be sent to the database worker: ${e.message}`, op ? { collection: op.collection, id: op.id } : undefined);
  }
  return e;
}

/** One tab's connection to database `name`. */
export class Connection {
  /** Random per page load. */
  readonly clientId: string = crypto.randomUUID();
  private readonly bc: BroadcastChannel;
  private leader: string | null = null;
  private leaderSince = -Infinity;
  private api: Remote<WorkerApi> | null = null;
  /** The request port to the own worker (see `PortRequest`). */
  private port: MessagePort | null = null;
  private worker: Worker | null = null;
  private ownInfo: WorkerInfo | null = null;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<number, Sub>();
  private nextId = 1;
  private markerSeq = 0;
  private markersOut = 0;
  private readonly markerWaiters: (() => void)[] = [];
  private closed = false;
  /** Set when this tab was elected and could not open the database (see `fail`). */
  private broken: unknown = null;
  private closing: Promise<void> | null = null;
  private readonly lockAbort = new AbortController();
  private releaseClient: (() => void) | null = null;
  private releaseLeader: (() => void) | null = null;
  private readyResolve!: () => void;
  private readyReject!: (e: unknown) => void;
  /** Resolves once a leader (this tab or another) serves requests; rejects if this tab failed to lead. */
  readonly ready: Promise<void>;

  constructor(
    readonly name: string,
    private readonly options: ConnectionOptions,
  ) {
    registerErrorTransfer();
    this.ready = new Promise<void>((res, rej) => {
      this.readyResolve = res;
      this.readyReject = rej;
    });
    this.ready.catch(() => undefined);
    this.bc = new BroadcastChannel(channelName(name));
    this.bc.onmessage = (ev: MessageEvent<BcMessage>) => this.onBroadcast(ev.data);
  }

  /** Takes the client lock, enters the leader election and asks who leads. */
  async start(): Promise<void> {
    await new Promise<void>((granted, fail) => {
      navigator.locks
        .request(clientLockName(this.name, this.clientId), () => {
          granted();
          return new Promise<void>((r) => (this.releaseClient = r));
        })
        .catch(fail);
    });
    navigator.locks
      .request(leaderLockName(this.name), { signal: this.lockAbort.signal }, async () => {
        if (this.closed) return;
        try {
          await this.lead();
        } catch (e) {
          this.fail(e);
          return; // releases the lock: another tab may try
        }
        await new Promise<void>((r) => (this.releaseLeader = r));
      })
      .catch((e: unknown) => {
        if (!(e instanceof DOMException && e.name === 'AbortError')) this.readyReject(e);
      });
    this.bc.postMessage({ t: 'hello', from: this.clientId } satisfies BcMessage);
    await this.ready;
  }

  /** Whether this tab's worker serves the database. */
  get isLeader(): boolean {
    return this.api !== null;
  }

  /** The announced leader's client id (this tab's own when it leads). */
  get leaderId(): string | null {
    return this.leader;
  }

  private async lead(): Promise<void> {
    const worker = this.options.worker ? this.options.worker() : new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.worker = worker;
    // Until open resolves, an error event means the script failed to load or threw on start. Afterwards an
    // uncaught error inside the worker does not end it (and a dedicated worker dies only with its tab).
    let onError!: (ev: ErrorEvent) => void;
    const died = new Promise<never>((_, reject) => {
      onError = (ev) => reject(new SdkError(SdkErrorCode.WORKER_FAILED, `the database worker failed to start: ${ev.message || 'it did not load or threw on start'}`));
    });
    died.catch(() => undefined);
    worker.addEventListener('error', onError);
    const api = wrap<WorkerApi>(worker);
    const params: OpenParams = { name: this.name, leader: this.clientId, backend: this.options.backend, database: this.options.database, sync: this.options.sync };
    const channel = new MessageChannel();
    try {
      this.ownInfo = await Promise.race([api.open(params), died]);
      await Promise.race([api.attachPort(transfer(channel.port2, [channel.port2])), died]);
    } catch (e) {
      worker.terminate();
      this.worker = null;
      throw e;
    } finally {
      worker.removeEventListener('error', onError);
    }
    channel.port1.onmessage = (ev: MessageEvent<PortResponse>) => {
      const m = ev.data;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(decodeError(m.error as WireError));
    };
    this.port = channel.port1;
    this.api = api;
    this.watchNetwork(api);
    this.hostWebRtc(api);
    this.setLeader(this.clientId, Infinity);
  }

  /**
   * The leader tab tells its worker what the window knows of the network (`online`/`offline` events): the
   * worker's sync pauses while offline (`_sync.ts`).
   */
  private watchNetwork(api: Remote<WorkerApi>): void {
    if (typeof window === 'undefined' || typeof navigator === 'undefined') return;
    const tell = (): void => {
      if (this.api === api) api.handle({ t: 'sync', op: 'network', args: [navigator.onLine] }).catch(() => undefined);
    };
    window.addEventListener('online', tell);
    window.addEventListener('offline', tell);
    this.unwatchNetwork = () => {
      window.removeEventListener('online', tell);
      window.removeEventListener('offline', tell);
    };
    if (!navigator.onLine) tell();
  }

  private unwatchNetwork: (() => void) | null = null;
  private stopWebRtc: (() => void) | null = null;

  /**
   * The leader tab hosts WebRTC connections for its worker's sync (`_webrtc.ts`, loaded on demand): it follows
   * the worker's sync status and hands every open connection to the worker over a MessagePort.
   */
  private hostWebRtc(api: Remote<WorkerApi>): void {
    if (this.options.webrtc === false || typeof RTCPeerConnection !== 'function' || typeof window === 'undefined') return;
    let stopped = false;
    let rtc: { update(s: SyncStatus): void; close(): void } | null = null;
    let last: SyncStatus | null = null;
    const sub = api.subscribe(
      { kind: 'sync' },
      proxy((ok: boolean, value: unknown) => {
        if (!ok || stopped) return;
        last = value as SyncStatus;
        if (rtc !== null) rtc.update(last);
        else if (last.space !== null && last.relay === 'connected') load();
      }),
    );
    let loading = false;
    const load = (): void => {
      if (loading) return;
      loading = true;
      import('./_webrtc.js')
        .then(({ LeaderWebRtc }) => {
          if (stopped) return;
          rtc = new LeaderWebRtc({
            signalGrant: () => api.handle({ t: 'sync', op: 'signalGrant', args: [] }) as Promise<{ relay: string; space: string; token: string; deviceId: string } | null>,
            toWorker: (port, peerId) => void api.syncPort(transfer(port, [port]), peerId).catch(() => port.close()),
          });
          if (last !== null) rtc.update(last);
        })
        .catch(() => undefined); // no WebRTC in this build: sync goes through the relay only
    };
    this.stopWebRtc = () => {
      stopped = true;
      rtc?.close();
      sub.then((id) => api.unsubscribe(id)).catch(() => undefined);
    };
  }

  /**
   * This tab was elected but could not open the database (the worker failed to start, `Database.open` refused):
   * every call in flight and every later call rejects with that error, live values report it.
   */
  private fail(e: unknown): void {
    this.broken = e;
    this.readyReject(e);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(e);
    }
    for (const s of this.subs.values()) s.deliver(false, undefined, e as Error);
  }

  private setLeader(leader: string, since: number): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.leaderSince = since;
    this.readyResolve();
    for (const id of this.pending.keys()) this.dispatch(id);
    for (const [id, s] of this.subs) this.sendSub(id, s);
  }

  private onBroadcast(m: BcMessage): void {
    if (this.closed || typeof m !== 'object' || m === null) return;
    switch (m.t) {
      case 'leader':
        if (this.api !== null || m.leader === this.clientId) return; // this tab leads
        if (m.leader !== this.leader && m.since >= this.leaderSince) this.setLeader(m.leader, m.since);
        return;
      case 'bye':
        if (m.leader === this.leader && this.api === null) this.leader = null;
        return;
      case 'res': {
        if (m.to !== this.clientId) return;
        const p = this.pending.get(m.id);
        if (p === undefined) return; // settled already (a duplicate answer after a re-send)
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(decodeError(m.error as WireError));
        return;
      }
      case 'live': {
        if (m.to !== this.clientId) return;
        const s = this.subs.get(m.sub);
        if (s === undefined || s.local !== null) return;
        if (m.ok) s.deliver(true, m.value);
        else s.deliver(false, undefined, decodeError(m.error as WireError));
        return;
      }
      default:
        return;
    }
  }

  /** Sends request `id` to the current target (or leaves it queued until there is one). */
  private dispatch(id: number): void {
    const p = this.pending.get(id);
    if (p === undefined || this.leader === null) return;
    if (this.port !== null) {
      if (p.sentTo === this.clientId) return;
      p.sentTo = this.clientId;
      try {
        this.port.postMessage({ id, req: p.req } satisfies PortRequest);
      } catch (e) {
        this.pending.delete(id);
        p.reject(mapPostError(e, p.req));
      }
      return;
    }
    p.sentTo = this.leader;
    try {
      this.bc.postMessage({ t: 'req', to: this.leader, from: this.clientId, id, req: p.req } satisfies BcMessage);
    } catch (e) {
      this.pending.delete(id);
      p.reject(mapPostError(e, p.req));
    }
  }

  /**
   * Sends a request and resolves with its outcome, retrying across leader changes (see the file header).
   * @throws IoError `HEARTH_CLOSED` after `close()`.
   */
  async request(req: Request): Promise<unknown> {
    if (this.closed || this.closing !== null) throw closedError();
    if (this.broken !== null) throw this.broken;
    if (req.t === 'write' && this.api === null) {
      await this.takeMarkerSlot();
      const marker: Marker = { client: this.clientId, seq: ++this.markerSeq };
      try {
        return await this.send({ ...req, marker });
      } finally {
        this.freeMarkerSlot();
      }
    }
    return this.send(req);
  }

  private send(req: Request): Promise<unknown> {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const id = this.nextId++;
    this.pending.set(id, { req, resolve, reject, done: promise.catch(() => undefined), sentTo: null });
    this.dispatch(id);
    return promise;
  }

  private takeMarkerSlot(): Promise<void> {
    if (this.markersOut < MARKER_WINDOW) {
      this.markersOut++;
      return Promise.resolve();
    }
    return new Promise((r) => this.markerWaiters.push(r));
  }

  private freeMarkerSlot(): void {
    const next = this.markerWaiters.shift();
    if (next) next(); // hands the slot over
    else this.markersOut--;
  }

  /** Starts a live subscription; returns its stop function. `deliver` gets the first value, then every change. */
  subscribe(spec: LiveSpec, deliver: Deliver): () => void {
    if (this.closed || this.closing !== null) throw closedError();
    const id = this.nextId++;
    const s: Sub = { spec, deliver, local: null };
    this.subs.set(id, s);
    this.sendSub(id, s);
    return () => {
      if (!this.subs.delete(id)) return;
      if (s.local !== null) {
        const api = this.api;
        s.local.then((wid) => api?.unsubscribe(wid)).catch(() => undefined);
      } else if (this.leader !== null && !this.closed) {
        this.bc.postMessage({ t: 'unsub', to: this.leader, from: this.clientId, sub: id } satisfies BcMessage);
      }
    };
  }

  private sendSub(id: number, s: Sub): void {
    if (this.leader === null) return;
    if (this.api !== null) {
      if (s.local !== null) return;
      s.local = this.api.subscribe(
        s.spec,
        proxy((ok: boolean, value: unknown, error?: WireError) => {
          if (this.subs.get(id) !== s) return;
          if (ok) s.deliver(true, value);
          else s.deliver(false, undefined, decodeError(error!));
        }),
      );
      s.local.catch((e: unknown) => {
        if (this.subs.get(id) === s) s.deliver(false, undefined, e as Error);
      });
      return;
    }
    this.bc.postMessage({ t: 'sub', to: this.leader, from: this.clientId, sub: id, spec: s.spec } satisfies BcMessage);
  }

  /** What the serving worker reports. */
  async workerInfo(): Promise<WorkerInfo> {
    if (this.ownInfo !== null) return this.ownInfo;
    return (await this.request({ t: 'info' })) as WorkerInfo;
  }

  /**
   * Waits for every call in flight (writes commit, possibly through a new leader), then leaves: stops live
   * subscriptions, closes the own worker's database (when leading; the next tab in line takes over) and releases
   * this tab's locks. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    await Promise.all([...this.pending.values()].map((p) => p.done));
    for (const id of [...this.subs.keys()]) this.subs.delete(id);
    try {
      if (this.api !== null) await this.api.close();
    } finally {
      this.closed = true;
      this.unwatchNetwork?.();
      this.stopWebRtc?.();
      this.worker?.terminate();
      this.port?.close();
      this.port = null;
      this.api = null;
      this.worker = null;
      this.lockAbort.abort();
      this.releaseLeader?.();
      this.releaseClient?.();
      this.bc.close();
    }
  }
}
