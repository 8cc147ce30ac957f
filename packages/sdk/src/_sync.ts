/**
 * Sync in the database worker: one {@link SyncNode} over the worker's Database ({@link DatabaseReplica}), kept
 * connected to a relay over the SSE transport (challenge auth with the device keypair, which never leaves the
 * worker), plus sync transports handed in over `MessagePort`s (WebRTC connections the leader tab hosts). Guide:
 * `docs/sdk.md`, "Sync"; protocol: `docs/sync.md`; relay: `docs/relay.md`.
 *
 * Invariants:
 * 1. Only the worker that has the database open (the leader tab's, invariant 1 of `protocol.ts`) creates a
 *    `WorkerSync`; it is stopped before the database closes, so no session outlives the Database it reads.
 * 2. The space and relay URL of a database, and the invites its admin issued (one-time secrets), are kept in
 *    IndexedDB ({@link SYNC_DB}), never in the database itself (its documents replicate). A new leader's worker
 *    reads them on open and starts sync again; an invite link issued before a reload still works after it.
 * 3. At most one relay connection is open or being opened at a time (`attempt` runs only when `relayTransport`
 *    is null and no attempt is in flight); after any close or failure the next attempt waits an exponential
 *    backoff (500 ms doubling to 30 s, with jitter), cut short by the worker's `online` event.
 * 4. The relay's key is admitted (role `member`) by this device as soon as it is an admin of the space and its
 *    view does not count the relay as a member (`docs/relay.md`: "The relay is an admitted replica").
 * 5. A join keeps the invite's space only once an admin answered `OK`; a refused or failed join stores nothing.
 * 6. The sync engine (`@hearth/sync`'s node, relay transport, invites, and the {@link SyncImpl} that drives them:
 *    `_sync-engine.ts`, `_sync-impl.ts`) is loaded by dynamic import the first time it is needed: `start` (when
 *    settings name a space or relay), `connect`, `join` and a bridged WebRTC port load it and create the
 *    `SyncImpl`; until then `WorkerSync` answers alone (status "none"/"disabled", no invites, no grant). A
 *    database that never syncs never loads it.
 * @packageDocumentation
 */
import { openDB } from 'idb';
import type { Database } from '@hearth/db';
import { feedIdToHex, type Keypair } from '@hearth/log';
import type { Transport } from '@hearth/sync';
import type { SyncParams, SyncStatus } from './protocol.js';
import type { SyncImpl } from './_sync-impl.js';

/** The sync engine (`_sync-engine.ts`): loaded on first use, so a database that never syncs does not load it. */
type SyncEngine = typeof import('./_sync-engine.js');
let engineLoading: Promise<SyncEngine> | null = null;

/** Loads the sync engine once (invariant 6). */
export function loadSyncEngine(): Promise<SyncEngine> {
  engineLoading ??= import('./_sync-engine.js').then(
    (m) => m,
    (e: unknown) => {
      engineLoading = null; // a failed load (e.g. the chunk could not be fetched) is retried by the next call
      throw e;
    },
  );
  return engineLoading;
}

/** IndexedDB database holding each Hearth database's sync settings (invariant 2). Do not change. */
export const SYNC_DB = 'hearth-sdk-sync';
/** Its object store; key = the Hearth database name, value = {@link SyncRecordV1}. */
export const SYNC_STORE = 'spaces';
/**
 * Its object store of issued invites (version 2 of the IndexedDB database); key = the Hearth database name,
 * value = an invites file V1 (`docs/formats/invites.md`: checksummed bytes), so a reload keeps invite links working.
 */
export const INVITES_STORE = 'invites';

/** Stored sync settings. */
export interface SyncRecordV1 {
  readonly v: 1;
  /** Space id, 64 hex digits. */
  readonly space: string;
  /** Relay base URL, or '' for none. */
  readonly relay: string;
}

const hex = (b: Uint8Array): string => feedIdToHex(b);
/** Space id bytes of 64 lowercase hex digits. @throws RangeError otherwise. */
export function fromHex(h: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(h)) throw new RangeError(`"space" expected 64 lowercase hex digits, got ${JSON.stringify(h)}`);
  return Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
}

/** Opens {@link SYNC_DB} (creating its stores). The caller closes it. */
export async function openSyncDb() {
  return openDB(SYNC_DB, 2, {
    upgrade(d) {
      if (!d.objectStoreNames.contains(SYNC_STORE)) d.createObjectStore(SYNC_STORE);
      if (!d.objectStoreNames.contains(INVITES_STORE)) d.createObjectStore(INVITES_STORE);
    },
  });
}

/** Reads the stored settings of database `name` (null: none). */
export async function loadSyncRecord(name: string): Promise<SyncRecordV1 | null> {
  const db = await openSyncDb();
  try {
    const r = (await db.get(SYNC_STORE, name)) as Partial<SyncRecordV1> | undefined;
    if (r === undefined) return null;
    if (r === null || typeof r !== 'object' || r.v !== 1 || typeof r.space !== 'string' || !/^[0-9a-f]{64}$/.test(r.space) || typeof r.relay !== 'string') return null;
    return r as SyncRecordV1;
  } finally {
    db.close();
  }
}

/** Stores the settings of database `name`. */
export async function saveSyncRecord(name: string, rec: SyncRecordV1): Promise<void> {
  const db = await openSyncDb();
  try {
    await db.put(SYNC_STORE, rec, name);
  } finally {
    db.close();
  }
}

/**
 * The worker's sync (one per open database; invariant 1): answers alone until sync is first used, then creates the
 * engine's {@link SyncImpl} and forwards to it (invariant 6). Owns the status listeners: `changed()` coalesces the
 * notifications of a task into one status per listener.
 */
export class WorkerSync {
  private impl: SyncImpl | null = null;
  private creating: Promise<SyncImpl> | null = null;
  private lastError: string | null = null;
  private networkUp = true;
  private stopped = false;
  private readonly listeners = new Set<(s: SyncStatus) => void>();
  private notifyQueued = false;
  private readonly offCommit: () => void;

  constructor(
    private readonly name: string,
    private readonly db: Database,
    private readonly keypair: Keypair,
  ) {
    this.offCommit = db.onCommit(() => this.changed(), { remoteChanges: false });
  }

  /**
   * Loads the engine and creates the `SyncImpl` once (invariant 6). A failure (e.g. the chunk could not be
   * fetched) shows in the status and is rethrown; the next call tries again.
   */
  private engine(): Promise<SyncImpl> {
    if (this.impl !== null) return Promise.resolve(this.impl);
    this.creating ??= loadSyncEngine().then(
      (m) => {
        if (this.impl === null) this.impl = new m.SyncImpl(this.name, this.db, this.keypair, () => this.changed(), this.networkUp);
        return this.impl;
      },
      (e: unknown) => {
        this.creating = null;
        this.lastError = `loading the sync engine: ${(e as Error)?.message ?? e}`;
        this.changed();
        throw e;
      },
    );
    return this.creating;
  }

  /** Starts with the stored settings (a new leader's worker; invariant 2), overridden by `params`. */
  async start(params: SyncParams | undefined): Promise<void> {
    const rec = await loadSyncRecord(this.name);
    if ((params?.relay ?? rec?.relay ?? '') === '' && (params?.space ?? rec?.space ?? null) === null) return;
    await (await this.engine()).start(params, rec);
  }

  /**
   * Connects to `relay` for `space` (default: the stored space, else a new space whose root is this device).
   * @throws RangeError for a malformed space or URL; SyncError `HEARTH_INVALID_INVITE` when this database already
   *   syncs another space.
   */
  async connect(options: { relay?: string; space?: string }): Promise<SyncStatus> {
    return (await this.engine()).connect(options);
  }

  /** Closes the relay connection and peer connections; the settings stay (a later `connect` resumes). */
  async disconnect(): Promise<SyncStatus> {
    return this.impl === null ? this.status() : this.impl.disconnect();
  }

  /**
   * The leader tab reports the browser's network state (its window sees `online`/`offline`, including DevTools
   * emulation, which a worker's open streams ignore): offline closes the relay connection and waits; online
   * reconnects at once.
   */
  setNetwork(online: boolean): SyncStatus {
    if (typeof online !== 'boolean') throw new TypeError('"online" expected a boolean');
    this.networkUp = online;
    return this.impl === null ? this.status() : this.impl.setNetwork(online);
  }

  /**
   * Creates an invite link for the current space (this device must be an admin; usable once, kept in IndexedDB).
   * @throws SyncError `HEARTH_NOT_ADMIN`; TypeError when sync was never started.
   */
  createInvite(options: { role?: 'member' | 'admin'; ttlMs?: number; relayUrl?: string } = {}): string {
    if (this.impl === null) throw new TypeError('sync is not started: call db.sync.connect({ relay }) first');
    return this.impl.createInvite(options);
  }

  /**
   * Joins the invite's space through its relay (see `SyncImpl.join`); resolves once admitted. Invariant 5.
   * @throws SyncError `HEARTH_INVALID_INVITE` (malformed, expired, used, refused, no admin online, or this database
   *   syncs another space), RelayError from the relay.
   */
  async join(text: string): Promise<SyncStatus> {
    if (typeof text !== 'string') throw new TypeError('"invite" expected a string');
    return (await this.engine()).join(text);
  }

  /** A member access token for the relay's signalling routes, or null (no relay, not a member, not started). */
  async signalGrant(): Promise<{ relay: string; space: string; token: string; deviceId: string } | null> {
    return this.impl === null ? null : this.impl.signalGrant();
  }

  /** A sync transport the page bridged over a port (a WebRTC connection of the leader tab). */
  async addPeer(id: string, transport: Transport): Promise<void> {
    (await this.engine()).addPeer(id, transport);
  }

  /** The current status (what `db.sync.status()` returns). */
  status(): SyncStatus {
    if (this.impl !== null) return this.impl.status();
    return {
      deviceId: hex(this.keypair.publicKey),
      space: null,
      role: 'none',
      relayUrl: null,
      relay: 'disabled',
      error: this.lastError,
      peers: [],
      feeds: this.db.stateVector().map((e) => ({ feed: hex(e.feed), seq: e.seq })),
      pending: 0,
      unackedBytes: 0,
    };
  }

  /** Calls `cb` with the status now and after every change (coalesced per task); returns the stop function. */
  subscribe(cb: (s: SyncStatus) => void): () => void {
    this.listeners.add(cb);
    cb(this.status());
    return () => this.listeners.delete(cb);
  }

  private changed(): void {
    if (this.notifyQueued || this.listeners.size === 0) return;
    this.notifyQueued = true;
    setTimeout(() => {
      this.notifyQueued = false;
      if (this.stopped) return;
      const s = this.status();
      for (const cb of [...this.listeners]) cb(s);
      // Acknowledgements raise no event: while bytes are in flight, look again shortly.
      if (s.unackedBytes > 0) setTimeout(() => this.changed(), 500);
    }, 20);
  }

  /** Stops everything (before the database closes; invariant 1). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.offCommit();
    const creating = this.creating;
    if (creating !== null) await creating.catch(() => undefined);
    await this.impl?.stop();
    this.listeners.clear();
  }
}
