/**
 * The sync engine's half of the worker's sync (`_sync.ts` is the other): the {@link SyncNode} over the worker's
 * Database, the relay connection loop, invites, joins and WebRTC peers. It lives in the lazily loaded sync chunk
 * (`_sync-engine.ts` re-exports it), so a worker whose database never syncs neither downloads nor parses it.
 * `WorkerSync` (`_sync.ts`) creates one {@link SyncImpl} the first time a database syncs and forwards to it; the
 * status listeners and their coalescing stay there (`changed` is its callback). The invariants are `_sync.ts`'s.
 * @packageDocumentation
 */
import type { Database } from '@hearth/db';
import { feedIdToHex, type Keypair } from '@hearth/log';
import {
  DatabaseReplica,
  SyncError,
  SyncErrorCode,
  SyncNode,
  authenticateRelay,
  decodeInvitesFileV1,
  encodeInvitesFileV1,
  inviteFromText,
  inviteLink,
  openRelayTransport,
  type InviteStore,
  type SyncEvent,
  type SyncSession,
  type Transport,
} from '@hearth/sync';
import type { SyncParams, SyncStatus } from './protocol.js';
import { INVITES_STORE, SYNC_DB, fromHex, loadSyncRecord, openSyncDb, saveSyncRecord } from './_sync.js';

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** How long `join` waits for an admin's answer (ms). The relay's admission connections live 2 minutes. */
const JOIN_TIMEOUT_MS = 110_000;

const hex = (b: Uint8Array): string => feedIdToHex(b);

/** The invites database `name`'s admin issued, in IndexedDB (`INVITES_STORE`). */
function idbInviteStore(name: string): InviteStore {
  return {
    async load() {
      const db = await openSyncDb();
      try {
        const bytes = (await db.get(INVITES_STORE, name)) as Uint8Array | undefined;
        return bytes === undefined ? [] : decodeInvitesFileV1(new Uint8Array(bytes), `indexedDB ${SYNC_DB}/${INVITES_STORE}/${name}`);
      } finally {
        db.close();
      }
    },
    async save(invites) {
      const db = await openSyncDb();
      try {
        await db.put(INVITES_STORE, encodeInvitesFileV1(invites), name);
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

/** The worker's sync state once the engine is loaded (one per open database; `_sync.ts` invariant 1). */
export class SyncImpl {
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

  /**
   * @param changed called after every change of the status (`WorkerSync` coalesces and notifies).
   * @param networkUp the network state the leader tab reported so far.
   */
  constructor(
    private readonly name: string,
    private readonly db: Database,
    private readonly keypair: Keypair,
    private readonly changed: () => void,
    private networkUp: boolean,
  ) {
    addEventListener('online', this.onOnline);
    addEventListener('offline', this.onOffline);
  }

  /** Starts with the stored settings `rec` (a new leader's worker; invariant 2), overridden by `params`. */
  async start(params: SyncParams | undefined, rec: Awaited<ReturnType<typeof loadSyncRecord>>): Promise<void> {
    const relay = params?.relay ?? rec?.relay ?? '';
    const space = params?.space ?? rec?.space ?? null;
    if (relay === '' && space === null) return;
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
      const { transport, grant } = await openRelayTransport({ url: relay, space: node.space, keypair: this.keypair });
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
    return inviteLink(node.createInvite({ relayUrl, role: options.role ?? 'member', ttlMs: options.ttlMs ?? 24 * 3600_000 }));
  }

  /**
   * Joins the invite's space through its relay: an admission-only connection carries the admission request; an
   * admin connected to the relay answers. Resolves once admitted (then syncs as a member); invariant 5.
   * @throws SyncError `HEARTH_INVALID_INVITE` (malformed, expired, used, refused, no admin online, or this database
   *   syncs another space), RelayError from the relay.
   */
  async join(text: string): Promise<SyncStatus> {
    if (typeof text !== 'string') throw new TypeError('"invite" expected a string');
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
    const grant = await authenticateRelay({ url: this.relay, space: node.space, keypair: this.keypair });
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
    this.dropRelay('closing');
    const node = this.node;
    this.closeNode();
    await node?.idle();
  }
}
