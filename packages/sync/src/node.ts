/**
 * The sync node: one per replica. It owns the replica's sync side: the membership view, the entries held pending
 * (their author's admission not known yet), the invites this admin issued, and every session (one per connected
 * peer). Behaviour and rules: `docs/sync.md`; wire format: `docs/formats/sync-protocol.md`.
 *
 * Receiving (for each ENTRIES message, one at a time across all sessions):
 * 1. decode each entry (framing, size limit); an entry of another feed than its message, or that does not decode,
 *    is refused and the rest of that message dropped;
 * 2. judge it against the membership view at its HLC: accepted, pending (held in memory, not stored, until a
 *    record about its author arrives) or removed (refused, `HEARTH_NOT_MEMBER`); an entry writing membership
 *    records must come from an admin at each record's time (`HEARTH_NOT_ADMIN`; pending if the author's own
 *    standing is not known yet);
 * 3. hand the accepted prefix to `replica.ingest`, which verifies sequence, chain, signature and HLC drift and
 *    stores; each refusal is reported (`rejected` or `fork`) and told to the sending peer (NOTICE);
 * 4. if membership records were stored, recompute the view; if it changed, retry pending entries and send every
 *    peer a fresh STATE (so entries refused under the old view are offered again).
 *
 * Admission requests: an admin that issued the invite decides; a node that is not an admin (a relay) forwards the
 * request to its admin peers and routes the answer back.
 *
 * Invariants:
 * 1. Nothing reaches `replica.ingest` unless the membership view accepts its author at its HLC (and, for records,
 *    the record's author as an admin at the record's time).
 * 2. Receiving and membership changes run one at a time (`serial`), so the view used to judge a batch is the one
 *    current when it is ingested.
 * 3. Pending entries never exceed `pendingBytes`; overflow is reported and dropped (a later sync re-fetches them).
 *
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';
import { decodeEntryV1, feedIdToHex, LogError, LogErrorCode, type Keypair, type UnverifiedEntry } from '@hearth/log';
import { DEFAULT_BATCH_BYTES, DEFAULT_PENDING_BYTES, DEFAULT_WINDOW_BYTES, MAX_ENTRY_BYTES } from './constants.js';
import { SyncError, SyncErrorCode } from './errors.js';
import { makeAdmissionRequest, verifyAdmissionRequest, type Invite } from './invite.js';
import { Membership, type Role } from './membership.js';
import type { InviteStore } from './invite-store.js';
import type { AdmissionRequestMessage, NoticeMessage } from './messages.js';
import { SyncSession, type SessionHost, type SyncEvent } from './session.js';
import type { Transport } from './transport.js';
import type { SyncReplica } from './types.js';

/** Options of {@link SyncNode}. Sizes in bytes, times in ms. */
export interface SyncNodeOptions {
  /** The replica (e.g. `new DatabaseReplica(db)`). */
  replica: SyncReplica;
  /** The device keypair; its public key must be the replica's feed. */
  keypair: Keypair;
  /** The space id: its root admin's public key (32 bytes). */
  space: Uint8Array;
  /** Receive window announced to peers, bytes. Default `DEFAULT_WINDOW_BYTES` (4 MiB), at least 1 KiB. */
  windowBytes?: number;
  /** Target size of one ENTRIES message. Default 256 KiB. */
  batchBytes?: number;
  /** Largest entry accepted. Default and maximum 16 MiB. */
  maxEntryBytes?: number;
  /** Budget of entries held pending. Default 8 MiB. */
  pendingBytes?: number;
  /** Random bytes (nonces, invites). Default `crypto.getRandomValues`. Tests pass a seeded source. */
  randomBytes?: (n: number) => Uint8Array;
  /** Wall clock for invite expiry. Default `Date.now`. */
  now?: () => number;
  /** Decides an admission request for a valid invite (default: approve). */
  approveAdmission?: (request: { device: Uint8Array; role: Role; inviteId: Uint8Array }) => boolean | Promise<boolean>;
  /**
   * Keeps the invites this node issues (and whether each was used) across restarts (`invite-store.ts`). Without
   * it, invites live in memory only: a restart of the issuing admin forgets unused ones.
   */
  inviteStore?: InviteStore;
}

interface PendingEntry {
  readonly entry: UnverifiedEntry;
  readonly peer: Uint8Array | null;
}

interface IssuedInvite {
  readonly invite: Invite;
  used: boolean;
}

type Verdict = { accept: UnverifiedEntry[]; hasRecords: boolean; holdFrom: number; refused: { entry: UnverifiedEntry; error: HearthError } | null };

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/**
 * The sync side of one replica (see the file header).
 *
 * @example
 * ```ts
 * const node = new SyncNode({ replica: new DatabaseReplica(db), keypair, space });
 * node.on((e) => { if (e.type === 'rejected') console.warn(e.error.code, e.seq) });
 * const session = node.connect(transport);   // any Transport: memory, SSE, WebRTC
 * ```
 */
export class SyncNode implements SessionHost {
  readonly replica: SyncReplica;
  readonly keypair: Keypair;
  readonly space: Uint8Array;
  readonly windowBytes: number;
  readonly batchBytes: number;
  readonly maxEntryBytes: number;
  readonly pendingBytes: number;
  private view: Membership;
  private readonly sessionSet = new Set<SyncSession>();
  private readonly listeners: ((e: SyncEvent) => void)[] = [];
  private readonly pending = new Map<string, Map<number, PendingEntry>>();
  private pendingHeld = 0;
  private readonly invites = new Map<string, IssuedInvite>();
  /** Admission requests forwarded to admins: device hex -> the session the request came from. */
  private readonly forwarded = new Map<string, SyncSession>();
  private serialQueue: Promise<unknown> = Promise.resolve();
  private busy = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly random: (n: number) => Uint8Array;
  private readonly now: () => number;
  private readonly approve: SyncNodeOptions['approveAdmission'];
  private readonly unsubscribe: () => void;
  private refreshQueued = false;
  private closedFlag = false;
  private readonly inviteStore: InviteStore | null;

  /**
   * @throws TypeError for a missing replica or keypair, a space that is not 32 bytes, or a keypair whose public
   *   key is not the replica's feed; RangeError for sizes out of range.
   */
  constructor(options: SyncNodeOptions) {
    const { replica, keypair, space } = options;
    if (typeof replica !== 'object' || replica === null) throw new TypeError('"replica" expected a SyncReplica');
    if (!(keypair?.publicKey instanceof Uint8Array)) throw new TypeError('"keypair" expected a Keypair');
    if (!(space instanceof Uint8Array) || space.length !== 32) throw new TypeError('"space" expected Uint8Array of length 32');
    if (!equalBytes(keypair.publicKey, replica.feed)) throw new TypeError('"keypair" is not the replica\'s feed key');
    this.replica = replica;
    this.keypair = keypair;
    this.space = space.slice();
    this.windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? MAX_ENTRY_BYTES, MAX_ENTRY_BYTES);
    this.pendingBytes = options.pendingBytes ?? DEFAULT_PENDING_BYTES;
    if (!Number.isInteger(this.windowBytes) || this.windowBytes < 1024 || this.windowBytes > 0xffffffff) throw new RangeError('"windowBytes" expected an integer in [1024, 2^32)');
    if (!Number.isInteger(this.batchBytes) || this.batchBytes < 1) throw new RangeError('"batchBytes" expected a positive integer');
    if (!Number.isInteger(this.maxEntryBytes) || this.maxEntryBytes < 1) throw new RangeError('"maxEntryBytes" expected a positive integer');
    this.random = options.randomBytes ?? defaultRandom;
    this.now = options.now ?? Date.now;
    this.approve = options.approveAdmission;
    this.view = new Membership(this.space, replica.membershipRecords());
    this.inviteStore = options.inviteStore ?? null;
    if (this.inviteStore !== null) void this.serial(() => this.loadInvites());
    void this.serial(() => this.applyExclusions());
    this.unsubscribe = replica.onCommit((c) => {
      for (const s of this.sessionSet) s.commitHappened();
      if (c.local && c.membership) this.queueRefresh(); // a local membership record (ingested ones: see receive)
    });
  }

  /** The current membership view. */
  get membership(): Membership {
    return this.view;
  }

  /** Open sessions. */
  get sessions(): readonly SyncSession[] {
    return [...this.sessionSet];
  }

  /** Entries held pending, by count. */
  get pendingCount(): number {
    let n = 0;
    for (const m of this.pending.values()) n += m.size;
    return n;
  }

  /** Subscribes to events (see {@link SyncEvent}); returns the unsubscribe function. */
  on(listener: (event: SyncEvent) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function');
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Starts a session over a connected transport (either end may call it; the protocol is symmetric).
   * @throws SyncError `HEARTH_TRANSPORT_CLOSED` if the node is closed or the transport is.
   */
  connect(transport: Transport): SyncSession {
    if (this.closedFlag) throw new SyncError(SyncErrorCode.TRANSPORT_CLOSED, 'sync node is closed');
    if (transport.closed) throw new SyncError(SyncErrorCode.TRANSPORT_CLOSED, 'transport is closed');
    const s = new SyncSession(this, transport);
    this.sessionSet.add(s);
    return s;
  }

  /**
   * Admits a device (writes a membership record into this replica's feed). Durable when it resolves.
   * @throws SyncError `HEARTH_NOT_ADMIN` if this device is not currently an admin.
   */
  async admit(device: Uint8Array, role: Role = 'member'): Promise<void> {
    if (!(device instanceof Uint8Array) || device.length !== 32) throw new TypeError('"device" expected Uint8Array of length 32');
    if (role !== 'admin' && role !== 'member') throw new RangeError('"role" expected "admin" or "member"');
    await this.writeRecord(device, 'admit', role);
  }

  /**
   * Removes a device: its entries with an HLC after this record's are refused from now on (see `docs/sync.md`).
   * @throws SyncError `HEARTH_NOT_ADMIN` if this device is not currently an admin; RangeError for the root.
   */
  async remove(device: Uint8Array): Promise<void> {
    if (!(device instanceof Uint8Array) || device.length !== 32) throw new TypeError('"device" expected Uint8Array of length 32');
    if (equalBytes(device, this.space)) throw new RangeError('the root admin (the space id) cannot be removed');
    await this.writeRecord(device, 'remove', 'member');
  }

  private async writeRecord(device: Uint8Array, action: 'admit' | 'remove', role: Role): Promise<void> {
    await this.serial(async () => {
      if (!this.view.isAdmin(this.keypair.publicKey)) {
        throw new SyncError(SyncErrorCode.NOT_ADMIN, 'this device is not an admin of the space', { feed: feedIdToHex(this.keypair.publicKey) });
      }
      await this.replica.writeMembershipRecord(device, action, role);
      await this.refresh();
    });
  }

  /**
   * Issues an invite (usable once; kept in memory, and in the `inviteStore` if the node has one: saved in the
   * background, before any admission request is handled).
   * @throws SyncError `HEARTH_NOT_ADMIN` if this device is not currently an admin.
   */
  createInvite(options: { relayUrl?: string; role?: Role; ttlMs?: number } = {}): Invite {
    if (!this.view.isAdmin(this.keypair.publicKey)) throw new SyncError(SyncErrorCode.NOT_ADMIN, 'only an admin can invite');
    const invite: Invite = {
      space: this.space.slice(),
      relayUrl: options.relayUrl ?? '',
      inviteId: this.random(16),
      secret: this.random(32),
      role: options.role ?? 'member',
      expiresAt: this.now() + (options.ttlMs ?? 7 * 24 * 3600 * 1000),
    };
    this.invites.set(feedIdToHex(invite.inviteId), { invite, used: false });
    if (this.inviteStore !== null) void this.serial(() => this.saveInvites());
    return invite;
  }

  /** Adds the stored invites (those issued before a restart). REQUIRES: serial. */
  private async loadInvites(): Promise<void> {
    try {
      for (const x of await this.inviteStore!.load()) {
        const key = feedIdToHex(x.invite.inviteId);
        if (!this.invites.has(key) && equalBytes(x.invite.space, this.space)) this.invites.set(key, { invite: x.invite, used: x.used });
      }
    } catch (e) {
      if (!this.closedFlag) this.report({ type: 'replica-error', error: e as Error });
    }
  }

  /** Writes the unexpired invites to the store. REQUIRES: serial. */
  private async saveInvites(): Promise<void> {
    if (this.inviteStore === null || this.closedFlag) return;
    const now = this.now();
    for (const [k, x] of this.invites) if (x.invite.expiresAt < now) this.invites.delete(k);
    try {
      await this.inviteStore.save([...this.invites.values()].map((x) => ({ invite: x.invite, used: x.used })));
    } catch (e) {
      if (!this.closedFlag) this.report({ type: 'replica-error', error: e as Error });
    }
  }

  /** Sends an admission request for `invite` on `session`; the answer arrives as a `notice` event of kind `admission`. */
  async requestAdmission(session: SyncSession, invite: Invite): Promise<void> {
    if (!equalBytes(invite.space, this.space)) throw new SyncError(SyncErrorCode.INVALID_INVITE, 'the invite is for another space');
    session.requestAdmission(await makeAdmissionRequest(invite, this.keypair));
  }

  /** Resolves once no message, pump, ingest or membership update is in progress (tests, simulation). */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Whether work is in progress. */
  get busyCount(): number {
    return this.busy;
  }

  /** Closes every session and stops listening to the replica (the replica stays open). */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.unsubscribe();
    for (const s of [...this.sessionSet]) s.close('node closed');
  }

  // --- SessionHost --------------------------------------------------------------------------------------------

  randomBytes(n: number): Uint8Array {
    return this.random(n);
  }

  report(event: SyncEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  track(work: Promise<unknown>): void {
    this.busy++;
    work
      .catch(() => undefined)
      .finally(() => {
        this.busy--;
        if (this.busy === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  sessionClosed(session: SyncSession): void {
    this.sessionSet.delete(session);
  }

  receiveEntries(session: SyncSession, feed: Uint8Array, raw: readonly Uint8Array[]): Promise<void> {
    return this.serial(() => this.receive(session, feed, raw));
  }

  /**
   * An admission request arrived. An admin that issued the invite decides it. A node that is not an admin forwards
   * it to the sessions of peers it considers admins and routes their answer back (this is how a request reaches an
   * admin through a relay); admins never forward, so requests cannot loop.
   */
  admissionRequest(session: SyncSession, request: AdmissionRequestMessage): Promise<void> {
    return this.serial(async () => {
      const issued = this.invites.get(feedIdToHex(request.inviteId));
      if (issued === undefined && !this.view.isAdmin(this.keypair.publicKey)) {
        const admins = [...this.sessionSet].filter((s) => s !== session && !s.closed && s.peer !== null && this.view.isAdmin(s.peer));
        if (admins.length > 0) {
          this.forwarded.set(feedIdToHex(request.device), session);
          if (this.forwarded.size > 1024) this.forwarded.delete(this.forwarded.keys().next().value!); // unanswered ones
          for (const s of admins) s.requestAdmission(request);
          return;
        }
      }
      let role: Role = 'member';
      try {
        if (issued === undefined) throw new SyncError(SyncErrorCode.INVALID_INVITE, this.view.isAdmin(this.keypair.publicKey) ? 'unknown invite' : 'unknown invite, and no admin is connected to forward it to');
        if (issued.used) throw new SyncError(SyncErrorCode.INVALID_INVITE, 'the invite was already used');
        // The proof binds the request to the invite secret and the signature to the device key it names, so a
        // request relayed by another node admits only the key that signed it.
        await verifyAdmissionRequest(issued.invite, request, this.now());
        role = issued.invite.role;
        if (this.approve !== undefined && !(await this.approve({ device: request.device, role, inviteId: request.inviteId }))) {
          throw new SyncError(SyncErrorCode.INVALID_INVITE, 'the admission was declined');
        }
        if (!this.view.isAdmin(this.keypair.publicKey)) throw new SyncError(SyncErrorCode.NOT_ADMIN, 'this device is no longer an admin');
        issued.used = true;
        await this.saveInvites(); // used before the admission is written: a crash cannot leave it reusable
        await this.replica.writeMembershipRecord(request.device, 'admit', role);
        await this.refresh();
        this.report({ type: 'admitted', device: request.device, inviteId: request.inviteId });
        session.notice('admission', request.device, 0, 'OK', `admitted as ${role}`);
      } catch (e) {
        if (!(e instanceof HearthError)) throw e;
        session.notice('admission', request.device, 0, e.code, e.message);
      }
    });
  }

  noticeReceived(session: SyncSession, notice: NoticeMessage): void {
    this.report({ type: 'notice', notice, peer: session.peer });
    if (notice.kind !== 'admission') return;
    const key = feedIdToHex(notice.feed);
    const origin = this.forwarded.get(key);
    if (origin === undefined) return;
    this.forwarded.delete(key);
    if (!origin.closed) origin.forwardNotice(notice);
  }

  // --- receiving ------------------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serialQueue.then(fn);
    this.serialQueue = run.catch(() => undefined);
    this.track(run);
    return run;
  }

  private refuse(feed: Uint8Array, seq: number, error: HearthError, session: SyncSession | null, peer: Uint8Array | null): void {
    this.report({ type: 'rejected', feed, seq, error, peer });
    session?.notice('rejected', feed, seq, error.code, error.message);
  }

  private async receive(session: SyncSession, feed: Uint8Array, raw: readonly Uint8Array[]): Promise<void> {
    const hex = feedIdToHex(feed);
    const peer = session.peer;
    const decoded: UnverifiedEntry[] = [];
    for (const bytes of raw) {
      let e: UnverifiedEntry;
      try {
        e = decodeEntryV1(bytes, { maxEntryBytes: this.maxEntryBytes });
      } catch (err) {
        if (!(err instanceof HearthError)) throw err;
        const seq = bytes.length >= 41 ? Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(33) & 0x1fffffffffffffn) : 0;
        this.refuse(feed, seq, err, session, peer);
        break;
      }
      if (!equalBytes(e.feed, feed)) {
        this.refuse(feed, e.seq, new LogError(LogErrorCode.MALFORMED_ENTRY, 'an entry of another feed inside an ENTRIES message', { feed: hex, seq: e.seq }), session, peer);
        break;
      }
      decoded.push(e); // a view into the message's buffer (fresh per message); `hold` copies what it keeps
    }
    if (decoded.length === 0) return;
    // Keep a feed's order: if earlier entries of it are pending, later ones wait behind them.
    const held = this.pending.get(hex);
    if (held !== undefined && held.size > 0 && Math.min(...held.keys()) < decoded[0].seq) {
      this.hold(decoded, session);
      return;
    }
    await this.judgeAndIngest(feed, decoded, session);
  }

  /** Judges entries of one feed (in seq order) and ingests the accepted prefix; holds or refuses the rest. */
  private async judgeAndIngest(feed: Uint8Array, entries: UnverifiedEntry[], session: SyncSession | null): Promise<void> {
    const peer = session?.peer ?? null;
    const v = this.judge(feed, entries);
    if (v.accept.length > 0) {
      const results = await this.replica.ingest(v.accept);
      for (const r of results) {
        if (r.error === undefined) continue;
        const seq = (r.error as { seq?: number }).seq ?? r.head + 1;
        if (r.error.code === 'HEARTH_FORK') {
          this.report({ type: 'fork', feed: r.feed, seq, error: r.error, peer });
          session?.notice('fork', r.feed, seq, r.error.code, r.error.message);
        } else {
          this.refuse(r.feed, seq, r.error, session, peer);
        }
      }
      if (v.hasRecords) await this.refresh();
    }
    if (v.refused !== null) this.refuse(feed, v.refused.entry.seq, v.refused.error, session, peer);
    if (v.holdFrom >= 0) this.hold(entries.slice(v.holdFrom), session);
  }

  private judge(feed: Uint8Array, entries: readonly UnverifiedEntry[]): Verdict {
    const out: Verdict = { accept: [], hasRecords: false, holdFrom: -1, refused: null };
    const view = this.view;
    const hex = feedIdToHex(feed);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const verdict = view.entryVerdictOfHex(hex, e.hlc);
      if (verdict === 'pending') {
        out.holdFrom = i;
        return out;
      }
      if (verdict === 'removed') {
        out.refused = { entry: e, error: new SyncError(SyncErrorCode.NOT_MEMBER, "the entry's author is not a member at the entry's HLC", { feed: hex, seq: e.seq }) };
        return out;
      }
      let records;
      try {
        records = this.replica.recordsIn(e);
      } catch (err) {
        if (!(err instanceof HearthError)) throw err;
        out.refused = { entry: e, error: err };
        return out;
      }
      for (const r of records) {
        const a = view.adminAt(feed, r.at);
        if (a === 'unknown') {
          out.holdFrom = i;
          return out;
        }
        if (a === 'no') {
          out.refused = { entry: e, error: new SyncError(SyncErrorCode.NOT_ADMIN, 'a membership record by a feed that is not an admin at its time', { feed: hex, seq: e.seq }) };
          return out;
        }
      }
      if (records.length > 0) out.hasRecords = true;
      out.accept.push(e);
    }
    return out;
  }

  private hold(entries: readonly UnverifiedEntry[], session: SyncSession | null): void {
    if (entries.length === 0) return;
    const feed = entries[0].feed;
    const hex = feedIdToHex(feed);
    let map = this.pending.get(hex);
    if (map === undefined) this.pending.set(hex, (map = new Map()));
    let count = 0;
    for (const e of entries) {
      if (map.has(e.seq)) continue;
      if (this.pendingHeld + e.bytes.length > this.pendingBytes) {
        const err = new SyncError(SyncErrorCode.PENDING_OVERFLOW, `pending entries exceed ${this.pendingBytes} bytes; dropped (a later sync fetches them again)`, { feed: hex, seq: e.seq });
        this.report({ type: 'rejected', feed, seq: e.seq, error: err, peer: session?.peer ?? null });
        break;
      }
      // Own the bytes: a view would keep the whole ENTRIES message alive while the entry waits.
      const owned = e.bytes.byteLength === e.bytes.buffer.byteLength ? e : decodeEntryV1(e.bytes.slice());
      map.set(e.seq, { entry: owned, peer: session?.peer ?? null });
      this.pendingHeld += e.bytes.length;
      count++;
    }
    if (count > 0) this.report({ type: 'pending', feed, seq: entries[0].seq, count, peer: session?.peer ?? null });
  }

  private queueRefresh(): void {
    if (this.refreshQueued || this.closedFlag) return;
    this.refreshQueued = true;
    void this.serial(async () => {
      this.refreshQueued = false;
      await this.refresh();
    });
  }

  /**
   * Hands the view's removed ranges to the replica, which leaves those entries out of its views: a replica that
   * stored a removed device's entries before it learnt of the removal then holds the same documents as one that
   * refused them (`docs/sync.md`, "Removal"). REQUIRES: serial.
   */
  private async applyExclusions(): Promise<void> {
    if (this.replica.setExcludedRanges === undefined || this.closedFlag) return;
    const ranges = this.view.excludedRanges();
    try {
      const rebuilt = await this.replica.setExcludedRanges(ranges);
      if (rebuilt || ranges.length > 0) this.report({ type: 'excluded', ranges: ranges.length, rebuilt });
    } catch (e) {
      if (this.closedFlag) return;
      this.report({ type: 'replica-error', error: e as Error });
    }
  }

  /** Recomputes the membership view; if it changed, retries pending entries and tells every session. REQUIRES: serial. */
  private async refresh(): Promise<void> {
    for (;;) {
      const next = new Membership(this.space, this.replica.membershipRecords());
      if (next.fingerprint() === this.view.fingerprint()) return;
      this.view = next;
      this.report({ type: 'membership', membership: next });
      await this.applyExclusions();
      await this.retryPending();
      for (const s of this.sessionSet) s.membershipChanged();
      // retrying may have stored more records: loop until the view is stable
    }
  }

  private async retryPending(): Promise<void> {
    for (const hex of [...this.pending.keys()].sort()) {
      const map = this.pending.get(hex)!;
      const entries = [...map.values()].sort((a, b) => a.entry.seq - b.entry.seq);
      const feed = entries[0].entry.feed;
      const verdict = this.view.entryVerdict(feed, entries[0].entry.hlc);
      if (verdict === 'pending') continue;
      this.pending.delete(hex);
      for (const p of entries) this.pendingHeld -= p.entry.bytes.length;
      const v = this.judge(feed, entries.map((p) => p.entry));
      if (v.accept.length > 0) {
        const results = await this.replica.ingest(v.accept);
        for (const r of results) {
          if (r.error === undefined) continue;
          const seq = (r.error as { seq?: number }).seq ?? r.head + 1;
          this.report(r.error.code === 'HEARTH_FORK' ? { type: 'fork', feed: r.feed, seq, error: r.error, peer: null } : { type: 'rejected', feed: r.feed, seq, error: r.error, peer: null });
        }
      }
      if (v.refused !== null) this.report({ type: 'rejected', feed, seq: v.refused.entry.seq, error: v.refused.error, peer: null });
      if (v.holdFrom >= 0) this.hold(entries.slice(v.holdFrom).map((p) => p.entry), null);
    }
  }
}
