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
 * 6. The sync engine (`@hearth/sync`'s node, relay transport, invites: `_sync-engine.ts`) is loaded by dynamic
 *    import before the first node exists: `start` (when settings name a space or relay), `connect` and `join`
 *    await {@link loadSyncEngine} before `use` or a node is made; everything else that needs it (`attempt`,
 *    `createInvite`, `signalGrant`) runs only while a node exists. A database that never syncs never loads it.
 * @packageDocumentation
 */
import { openDB } from 'idb';
import type { Database } from '@hearth/db';
import { feedIdToHex, type Keypair } from '@hearth/log';
import { SyncError, SyncErrorCode, type SyncEvent, type SyncNode, type SyncSession, type Transport } from '@hearth/sync';
import type { SyncParams, SyncStatus } from './protocol.js';

/** The sync engine (`_sync-engine.ts`): loaded on first use, so a database that never syncs does not load it. */
type SyncEngine = typeof import('./_sync-engine.js');
let engine: SyncEngine | null = null;
let engineLoading: Promise<SyncEngine> | null = null;

/** Loads the sync engine once (invariant 6). */
export function loadSyncEngine(): Promise<SyncEngine> {
  engineLoading ??= import('./_sync-engine.js').then(
    (m) => (engine = m),
    (e: unknown) => {
      engineLoading = null; // a failed load (e.g. the chunk could not be fetched) is retried by the next call
      throw e;
    },
  );
  return engineLoading;
}

/** The loaded engine; callers run only after {@link loadSyncEngine} resolved (invariant 6). */
function loaded(): SyncEngine {
  if (engine === null) throw new Error('internal: the sync engine is used before it was loaded');
  return engine;
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

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** How long `join` waits for an admin's answer (ms). The relay's admission connections live 2 minutes. */
const JOIN_TIMEOUT_MS = 110_000;

const hex = (b: Uint8Array): string => feedIdToHex(b);
function fromHex(h: string): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(h)) throw new RangeError(`"space" expected 64 lowercase hex digits, got ${JSON.stringify(h)}`);
  return Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
}

async function openSyncDb() {
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

async function saveSyncRecord(name: string, rec: SyncRecordV1): Promise<void> {
  const db = await openSyncDb();
  try {
    await db.put(SYNC_STORE, rec, name);
  } finally {
    db.close();
  }
}

/** The invites database `name`'s admin issued, in IndexedDB (`INVITES_STORE`). REQUIRES: the engine is loaded. */
function idbInviteStore(name: string): import('@hearth/sync').InviteStore {
  return {
    async load() {
      const db = await openSyncDb();
      try {
        const bytes = (await db.get(INVITES_STORE, name)) as Uint8Array | undefined;
        return bytes === undefined ? [] : loaded().decodeInvitesFileV1(new Uint8Array(bytes), `indexedDB ${SYNC_DB}/${INVITES_STORE}/${name}`);
      } finally {
        db.close();
      }
    },
    async save(invites) {
      const db = await openSyncDb();
      try {
        await db.put(INVITES_STORE, loaded().encodeInvitesFileV1(invites), name);
      } finally {
        db.close();
      }
    },
  };
}

/** A peer connection handed in by the page (WebRTC through the leader tab). */
interface PortPeer {
  readonly id: string;
  readonly transport: Transport;
}

/** The worker's sync state (one per open database; invariant 1). */
export class WorkerSync {
  private node: SyncNode | null = null;
  private offNode: (() => void) | null = null;
  private space: string | null = null;
  private relay = '';
  private relayState: SyncStatus['relay'] = 'disabled';
  private lastError: string | null = null;
  private relayTransport: Transport | null = null;
  private attempting = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private stopped = false;
  private joining = false;
  private readonly peers = new Map<Transport, PortPeer>();
  private readonly listeners = new Set<(s: SyncStatus) => void>();
  private notifyQueued = false;
  private readonly offCommit: () => void;

  constructor(
    private readonly name: string,
    private readonly db: Database,
    private readonly keypair: Keypair,
  ) {
    this.offCommit = db.onCommit(() => this.changed());
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  /**
   * Loads the sync engine (invariant 6). A failure (e.g. the chunk could not be fetched) shows in the status and
   * is rethrown; the next call tries again.
   */
  private async engine(): Promise<SyncEngine> {
    try {
      return await loadSyncEngine();
    } catch (e) {
      this.lastError = `loading the sync engine: ${(e as Error)?.message ?? e}`;
      this.changed();
      throw e;
    }
  }

  /** Starts with the stored settings (a new leader's worker; invariant 2), overridden by `params`. */
  async start(params: SyncParams | undefined): Promise<void> {
    const rec = await loadSyncRecord(this.name);
    const relay = params?.relay ?? rec?.relay ?? '';
    const space = params?.space ?? rec?.space ?? null;
    if (relay === '' && space === null) return;
    await this.engine(); // invariant 6
    if (space === null && params?.relay !== undefined) {
      await this.connect({ relay }); // a new space of this device's own
      return;
    }
    if (space !== null && (rec === null || rec.space === space || params?.space !== undefined)) {
      this.use(space, relay);
      if (rec?.space !== space || rec.relay !== relay) await saveSyncRecord(this.name, { v: 1, space, relay });
    }
  }

  /**
   * Connects to `relay` for `space` (default: the stored space, else a new space whose root is this device).
   * @throws RangeError for a malformed space or URL; SyncError `HEARTH_INVALID_INVITE` when this database already
   *   syncs another space.
   */
  async connect(options: { relay?: string; space?: string }): Promise<SyncStatus> {
    const relay = options.relay ?? this.relay;
    if (typeof relay !== 'string') throw new TypeError('"relay" expected a string');
    if (relay !== '') new URL(relay); // throws TypeError for a malformed URL
    const rec = await loadSyncRecord(this.name);
    await this.engine(); // invariant 6
    const space = options.space ?? this.space ?? rec?.space ?? hex(this.keypair.publicKey);
    fromHex(space);
    if (this.space !== null && this.space !== space) {
      throw new SyncError(SyncErrorCode.INVALID_INVITE, `this database already syncs space ${this.space}; one database belongs to one space`);
    }
    await saveSyncRecord(this.name, { v: 1, space, relay });
    this.use(space, relay);
    return this.status();
  }

  /** Closes the relay connection and peer connections; the settings stay (a later `connect` resumes). */
  async disconnect(): Promise<SyncStatus> {
    this.relay = '';
    this.dropRelay('disconnected');
    this.relayState = 'disabled';
    if (this.space !== null) await saveSyncRecord(this.name, { v: 1, space: this.space, relay: '' });
    this.changed();
    return this.status();
  }

  /** Starts (or restarts) the node for `space` and the relay loop for `relay`. */
  private use(space: string, relay: string): void {
    if (this.node === null || this.space !== space) {
      this.closeNode();
      this.space = space;
      const { SyncNode, DatabaseReplica } = loaded();
      const node = new SyncNode({ replica: new DatabaseReplica(this.db), keypair: this.keypair, space: fromHex(space), inviteStore: idbInviteStore(this.name) });
      this.node = node;
      this.offNode = node.on((e) => this.onEvent(e));
    }
    if (relay !== this.relay || this.relayTransport === null) {
      this.relay = relay;
      this.dropRelay('relay changed');
      this.failures = 0;
      if (relay !== '') {
        this.relayState = 'connecting';
        void this.attempt();
      } else this.relayState = 'disabled';
    }
    this.changed();
  }

  private onEvent(e: SyncEvent): void {
    if (e.type === 'membership') void this.admitRelayIfNeeded();
    if (e.type === 'session-error' || e.type === 'rejected') this.lastError = `${e.type}: ${(e.error as Error)?.message ?? ''}`;
    this.changed();
  }

  private relayKey: Uint8Array | null = null;

  /** Invariant 4. */
  private async admitRelayIfNeeded(): Promise<void> {
    const node = this.node;
    const key = this.relayKey;
    if (node === null || key === null) return;
    if (!node.membership.isAdmin(this.keypair.publicKey) || node.membership.isMember(key)) return;
    try {
      await node.admit(key);
    } catch (e) {
      this.lastError = `admitting the relay: ${(e as Error).message}`;
    }
    this.changed();
  }

  /** One connection attempt (invariant 3). */
  private async attempt(): Promise<void> {
    if (this.stopped || this.attempting || this.relayTransport !== null || this.relay === '' || this.node === null || this.joining) return;
    if (!this.networkUp) {
      this.relayState = 'offline';
      this.changed();
      return; // waits for `online` (invariant 3)
    }
    this.attempting = true;
    const node = this.node;
    const relay = this.relay;
    this.relayState = 'connecting';
    this.changed();
    try {
      const { transport, grant } = await loaded().openRelayTransport({ url: relay, space: node.space, keypair: this.keypair });
      if (this.stopped || this.node !== node || this.relay !== relay) {
        transport.close('stopped');
        return;
      }
      this.relayKey = grant.relayKey;
      this.relayTransport = transport;
      this.failures = 0;
      this.relayState = 'connected';
      this.lastError = null;
      transport.onClose((info) => {
        if (this.relayTransport !== transport) return;
        this.relayTransport = null;
        if (this.relay === '' || this.stopped) return;
        this.relayState = 'offline';
        this.lastError = `relay connection closed: ${info.reason}`;
        this.changed();
        this.retry();
      });
      node.connect(transport);
      await this.admitRelayIfNeeded();
    } catch (e) {
      this.relayState = typeof navigator !== 'undefined' && navigator.onLine === false ? 'offline' : 'error';
      this.lastError = `${(e as { code?: string }).code ?? 'error'}: ${(e as Error)?.message ?? e}`;
      this.retry();
    } finally {
      this.attempting = false;
      this.changed();
    }
  }

  private retry(): void {
    if (this.stopped || this.timer !== null || this.relay === '') return;
    const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.min(this.failures++, 16)) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, delay);
  }

  /** What the leader tab's window says of the network (`navigator.onLine`); false pauses the relay connection. */
  private networkUp = true;

  /**
   * The leader tab reports the browser's network state (its window sees `online`/`offline`, including DevTools
   * emulation, which a worker's open streams ignore): offline closes the relay connection and waits; online
   * reconnects at once.
   */
  setNetwork(online: boolean): SyncStatus {
    if (typeof online !== 'boolean') throw new TypeError('"online" expected a boolean');
    if (online === this.networkUp) return this.status();
    this.networkUp = online;
    if (online) this.onOnline();
    else this.onOffline();
    return this.status();
  }

  private readonly onOnline = (): void => {
    this.networkUp = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.failures = 0;
    void this.attempt();
  };

  private readonly onOffline = (): void => {
    this.networkUp = false;
    if (this.relay === '' || this.joining) return;
    this.dropRelay('the browser is offline');
    for (const p of this.peers.values()) p.transport.close('the browser is offline');
    this.relayState = 'offline';
    this.lastError = null;
    this.changed();
  };

  private dropRelay(reason: string): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const t = this.relayTransport;
    this.relayTransport = null;
    t?.close(reason);
  }

  /**
   * Creates an invite link for the current space (this device must be an admin; kept in this worker's memory,
   * usable once; it does not survive a leader change).
   * @throws SyncError `HEARTH_NOT_ADMIN`; TypeError when sync was never started.
   */
  createInvite(options: { role?: 'member' | 'admin'; ttlMs?: number; relayUrl?: string } = {}): string {
    const node = this.node;
    if (node === null) throw new TypeError('sync is not started: call db.sync.connect({ relay }) first');
    const relayUrl = options.relayUrl ?? this.relay;
    return loaded().inviteLink(node.createInvite({ relayUrl, role: options.role ?? 'member', ttlMs: options.ttlMs ?? 24 * 3600_000 }));
  }

  /**
   * Joins the invite's space through its relay: an admission-only connection carries the admission request; an
   * admin connected to the relay answers. Resolves once admitted (then syncs as a member); invariant 5.
   * @throws SyncError `HEARTH_INVALID_INVITE` (malformed, expired, used, refused, no admin online, or this database
   *   syncs another space), RelayError from the relay.
   */
  async join(text: string): Promise<SyncStatus> {
    if (typeof text !== 'string') throw new TypeError('"invite" expected a string');
    const { inviteFromText, SyncNode, DatabaseReplica, openRelayTransport } = await this.engine(); // invariant 6
    const invite = inviteFromText(text);
    const space = hex(invite.space);
    if (this.space !== null && this.space !== space) {
      throw new SyncError(SyncErrorCode.INVALID_INVITE, `this database already syncs space ${this.space}; one database belongs to one space`);
    }
    const relay = invite.relayUrl;
    if (relay === '') throw new SyncError(SyncErrorCode.INVALID_INVITE, 'the invite names no relay');
    if (this.node !== null && this.space === space && this.node.membership.isMember(this.keypair.publicKey) && this.relay === relay) return this.status();
    this.joining = true;
    this.dropRelay('joining');
    this.closeNode();
    this.space = space;
    const node = new SyncNode({ replica: new DatabaseReplica(this.db), keypair: this.keypair, space: invite.space });
    this.node = node;
    this.offNode = node.on((e) => this.onEvent(e));
    this.relay = relay;
    this.relayState = 'connecting';
    this.changed();
    let transport: Transport | null = null;
    try {
      const opened = await openRelayTransport({ url: relay, space: invite.space, keypair: this.keypair, purpose: 'admission' });
      transport = opened.transport;
      this.relayState = 'connected';
      this.changed();
      const answer = new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new SyncError(SyncErrorCode.INVALID_INVITE, 'no admin answered the admission request in time (is an admin device online?)')), JOIN_TIMEOUT_MS);
        const off = node.on((e) => {
          if (e.type === 'notice' && e.notice.kind === 'admission') {
            clearTimeout(timer);
            off();
            resolve(e.notice.code);
          }
        });
        transport!.onClose((i) => {
          clearTimeout(timer);
          off();
          reject(new SyncError(SyncErrorCode.TRANSPORT_CLOSED, `the relay closed the admission connection: ${i.reason}`));
        });
      });
      const session: SyncSession = node.connect(transport);
      await node.requestAdmission(session, invite);
      const code = await answer;
      if (code !== 'OK') throw new SyncError(SyncErrorCode.INVALID_INVITE, `admission refused: ${code}`);
      await saveSyncRecord(this.name, { v: 1, space, relay });
      // The admission record reaches us (and the relay) through sync; then a member connection replaces this one.
      const t0 = Date.now();
      while (!node.membership.isMember(this.keypair.publicKey) && !transport.closed && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 50));
    } catch (e) {
      transport?.close('join failed');
      this.closeNode();
      this.space = null;
      this.relay = '';
      this.relayState = 'disabled';
      this.lastError = `join: ${(e as Error).message}`;
      this.joining = false;
      this.changed();
      throw e;
    }
    this.joining = false;
    transport.close('admitted');
    this.failures = 0;
    void this.attempt();
    return this.status();
  }

  /**
   * A member access token for the relay's signalling routes (the leader tab's `RelaySignaller` uses it; the
   * keypair stays here), or null when there is no relay or this device is not a member yet.
   */
  async signalGrant(): Promise<{ relay: string; space: string; token: string; deviceId: string } | null> {
    const node = this.node;
    if (node === null || this.relay === '' || this.space === null || !node.membership.isMember(this.keypair.publicKey)) return null;
    const grant = await loaded().authenticateRelay({ url: this.relay, space: node.space, keypair: this.keypair });
    return { relay: this.relay, space: this.space, token: grant.token, deviceId: hex(this.keypair.publicKey) };
  }

  /** A sync transport the page bridged over a port (a WebRTC connection of the leader tab). */
  addPeer(id: string, transport: Transport): void {
    if (this.node === null || !this.networkUp) {
      transport.close(this.node === null ? 'sync is not started' : 'the browser is offline');
      return;
    }
    this.peers.set(transport, { id, transport });
    transport.onClose(() => {
      this.peers.delete(transport);
      this.changed();
    });
    this.node.connect(transport);
    this.changed();
  }

  /** The current status (what `db.sync.status()` returns). */
  status(): SyncStatus {
    const node = this.node;
    const me = this.keypair.publicKey;
    const role: SyncStatus['role'] =
      node === null ? 'none' : this.joining ? 'pending' : node.membership.isAdmin(me) ? 'admin' : node.membership.isMember(me) ? 'member' : 'pending';
    const sessions = node?.sessions ?? [];
    const peers: SyncStatus['peers'][number][] = [];
    for (const p of this.peers.values()) peers.push({ id: p.id, via: 'webrtc', state: p.transport.closed ? 'closed' : 'connected' });
    let unacked = 0;
    for (const s of sessions) {
      const st = s.stats;
      unacked += Math.max(0, st.bytesSent - st.bytesAcked);
    }
    return {
      deviceId: hex(me),
      space: this.space,
      role,
      relayUrl: this.relay === '' ? null : this.relay,
      relay: this.relayState,
      error: this.lastError,
      peers,
      feeds: this.db.stateVector().map((e) => ({ feed: hex(e.feed), seq: e.seq })),
      pending: node?.pendingCount ?? 0,
      unackedBytes: unacked,
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

  private closeNode(): void {
    this.offNode?.();
    this.offNode = null;
    for (const p of this.peers.values()) p.transport.close('sync restarted');
    this.peers.clear();
    this.node?.close();
    this.node = null;
  }

  /** Stops everything (before the database closes; invariant 1). */
  async stop(): Promise<void> {
    this.stopped = true;
    removeEventListener('online', this.onOnline);
    removeEventListener('offline', this.onOffline);
    this.offCommit();
    this.dropRelay('closing');
    const node = this.node;
    this.closeNode();
    await node?.idle();
    this.listeners.clear();
  }
}
