/**
 * One sync session: the protocol state machine for one connection to one peer. Created by `SyncNode.connect`;
 * the node (the {@link SessionHost}) owns the replica, the membership view and ingest. Protocol:
 * `docs/formats/sync-protocol.md`; behaviour: `docs/sync.md`.
 *
 * Life of a session: both ends send HELLO; each answers the other's HELLO with AUTH (a signature over both nonces);
 * once the peer's AUTH verifies, each sends STATE (its state vector: what it has, so what it lacks), and serves
 * entries only if it considers the peer a current member. Feeds are served admins' first (they carry membership
 * records), then in ascending feed id. From then on each
 * side streams, feed by feed, the entries the other lacks in seq order, as ENTRIES messages of
 * at most `batchBytes` (a larger entry travels alone), never more than the peer's window unacknowledged; the
 * receiver acknowledges each ENTRIES message with a cumulative ACK once it has processed it. New commits are
 * streamed as they happen (live). A new STATE from the peer (sent when its membership view changed) restarts the
 * comparison from it.
 *
 * Invariants:
 * 1. Bytes of ENTRIES sent and not acknowledged never exceed the peer's window, except for a single message sent
 *    while nothing was unacknowledged (an entry larger than the window).
 * 2. `peerHave[feed]` is a lower bound of what the peer holds or has been sent on this connection since the last
 *    STATE from it; entries are sent from `peerHave + 1` on, consecutively, so a feed's entries leave in order.
 * 3. Only entries whose author is accepted by the membership view at their HLC are sent, and only to a peer that
 *    proved its key (AUTH) and is a current member.
 * 4. Messages are handled one at a time in arrival order; a protocol violation closes the connection, never
 *    touches the replica.
 *
 * @packageDocumentation
 */
import { HearthError } from '@hearth/io';
import { decodeEntryV1, feedIdToHex, logConstants, signEd25519, verifyEd25519, type Keypair, type StateVectorEntry } from '@hearth/log';
import { AUTH_CONTEXT, ENTRIES_HEADER_BYTES, PROTOCOL_MAX_VERSION, PROTOCOL_MIN_VERSION } from './constants.js';
import { yieldNow } from '@hearth/lsm';
import { SyncError, SyncErrorCode } from './errors.js';
import { Deframer, Framer } from './frame.js';
import type { Membership } from './membership.js';
import {
  decodeMessageV1,
  encodeMessageV1,
  type AdmissionRequestMessage,
  type HelloMessage,
  type NoticeKind,
  type NoticeMessage,
  type SyncMessage,
} from './messages.js';
import type { Transport, TransportCloseInfo } from './transport.js';
import type { SyncReplica } from './types.js';

/** What a session needs from its node. */
export interface SessionHost {
  readonly replica: SyncReplica;
  readonly keypair: Keypair;
  readonly space: Uint8Array;
  readonly membership: Membership;
  readonly windowBytes: number;
  readonly batchBytes: number;
  readonly maxEntryBytes: number;
  randomBytes(n: number): Uint8Array;
  /** Judges, holds or ingests entries of one feed received from `session` (serialized by the host). */
  receiveEntries(session: SyncSession, feed: Uint8Array, entries: readonly Uint8Array[]): Promise<void>;
  /** Handles an admission request that arrived on `session`. */
  admissionRequest(session: SyncSession, request: AdmissionRequestMessage): Promise<void>;
  /** A NOTICE arrived on `session` (reported; admission answers may be routed back to a requester). */
  noticeReceived(session: SyncSession, notice: NoticeMessage): void;
  /** Reports something to the application. */
  report(event: SyncEvent): void;
  /** Tracks async work (for `idle()`). */
  track(work: Promise<unknown>): void;
  /** The session closed. */
  sessionClosed(session: SyncSession): void;
}

/** Events a node reports to the application (`SyncNode.on`). `peer` is the peer's feed id when known. */
export type SyncEvent =
  /** An entry was refused (typed error); nothing of it was stored. */
  | { readonly type: 'rejected'; readonly feed: Uint8Array; readonly seq: number; readonly error: HearthError; readonly peer: Uint8Array | null }
  /** Fork evidence: two entries at one (feed, seq). `error` is the store's `ForkError` when ingest found it. */
  | { readonly type: 'fork'; readonly feed: Uint8Array; readonly seq: number; readonly error: HearthError | null; readonly peer: Uint8Array | null }
  /** Entries held back because their author's admission is not known yet (not stored). */
  | { readonly type: 'pending'; readonly feed: Uint8Array; readonly seq: number; readonly count: number; readonly peer: Uint8Array | null }
  /** A session failed (protocol violation, auth failure, replica error) and was closed. */
  | { readonly type: 'session-error'; readonly error: Error; readonly peer: Uint8Array | null }
  /** The peer sent a NOTICE (its refusals of our entries, admission answers, ...). */
  | { readonly type: 'notice'; readonly notice: NoticeMessage; readonly peer: Uint8Array | null }
  /** The membership view changed. */
  | { readonly type: 'membership'; readonly membership: Membership }
  /** This node admitted a device through an invite. */
  | { readonly type: 'admitted'; readonly device: Uint8Array; readonly inviteId: Uint8Array }
  /**
   * The replica now leaves out of its views the entries the membership view refuses as removed (`ranges` of
   * them); `rebuilt` when that changed entries it held, so its views were rebuilt (re-run live queries).
   */
  | { readonly type: 'excluded'; readonly ranges: number; readonly rebuilt: boolean }
  /** The replica failed to apply the membership view's excluded ranges (it retries on the next change). */
  | { readonly type: 'replica-error'; readonly error: Error };

/** Counters of one session. */
export interface SessionStats {
  entriesSent: number;
  entriesReceived: number;
  bytesSent: number;
  bytesAcked: number;
  bytesReceived: number;
  messagesSent: number;
  messagesReceived: number;
  /** Frames the transport delivered twice (ignored). */
  duplicateFrames: number;
}

interface PeerHave {
  seq: number;
  /** The peer's hash at `seq` when it came from its STATE (checked against ours), else null. */
  hash: Uint8Array | null;
}

const ZERO32 = new Uint8Array(32);
const utf8 = new TextEncoder();

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function authMessage(space: Uint8Array, signer: Uint8Array, verifierNonce: Uint8Array, signerNonce: Uint8Array): Uint8Array {
  const ctx = utf8.encode(AUTH_CONTEXT);
  const out = new Uint8Array(ctx.length + 128);
  out.set(ctx, 0);
  out.set(space, ctx.length);
  out.set(signer, ctx.length + 32);
  out.set(verifierNonce, ctx.length + 64);
  out.set(signerNonce, ctx.length + 96);
  return out;
}

/** Reads the seq of an encoded entry without decoding it (0 if too short). */
/** Offset of the HLC in an encoded entry (`docs/formats/log-entry.md`). */
const ENTRY_HLC_OFFSET = logConstants.ENTRY_OFFSET.HLC;

function rawSeq(bytes: Uint8Array): number {
  if (bytes.length < 41) return 0;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(33);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? 0 : Number(v);
}

/** One connection's protocol state machine (see the file header). */
export class SyncSession {
  private readonly framer: Framer;
  private readonly deframer = new Deframer();
  private readonly nonce: Uint8Array;
  private chain: Promise<void> = Promise.resolve();
  private peerHello: HelloMessage | null = null;
  private authed = false;
  private authSent = false;
  private readonly afterAuth: SyncMessage[] = [];
  private serving = false;
  private gotState = false;
  private stateEpoch = 0;
  private readonly peerHave = new Map<string, PeerHave>();
  /** Feeds not served to this peer for the rest of the session (fork found, entry over the peer's limit). */
  private readonly stopped = new Set<string>();
  /** Feeds whose next entry the membership view did not accept, with the view's fingerprint then. */
  private readonly heldBack = new Map<string, string>();
  /** Our entries at forked seqs, waiting for window to be sent as evidence. */
  private readonly evidence: { feed: Uint8Array; entry: Uint8Array }[] = [];
  private pumping = false;
  private pumpAgain = false;
  private closedFlag = false;
  private readonly closeListeners: ((info: TransportCloseInfo) => void)[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  /** Cumulative ENTRIES bytes: sent / acknowledged by the peer / received / processed by us. */
  private sent = 0;
  private acked = 0;
  private received = 0;
  private processed = 0;
  readonly stats: SessionStats = {
    entriesSent: 0,
    entriesReceived: 0,
    bytesSent: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    duplicateFrames: 0,
  };

  constructor(
    private readonly host: SessionHost,
    readonly transport: Transport,
  ) {
    this.framer = new Framer(transport.maxMessageBytes);
    this.nonce = host.randomBytes(32);
    this.unsubscribe.push(transport.onMessage((m) => this.onFrame(m)));
    this.unsubscribe.push(transport.onClose((info) => this.onTransportClose(info)));
    this.send({
      type: 'hello',
      minVersion: PROTOCOL_MIN_VERSION,
      maxVersion: PROTOCOL_MAX_VERSION,
      space: host.space,
      feed: host.keypair.publicKey,
      nonce: this.nonce,
      window: host.windowBytes,
      maxEntryBytes: host.maxEntryBytes,
    });
  }

  /** The peer's feed id once its AUTH verified, else null. */
  get peer(): Uint8Array | null {
    return this.authed ? this.peerHello!.feed : null;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.closedFlag || this.transport.closed;
  }

  /** Whether this side serves entries to the peer (it authenticated and is a current member). */
  get servingPeer(): boolean {
    return this.serving;
  }

  /** Registers a close listener (runs once). */
  onClose(listener: (info: TransportCloseInfo) => void): void {
    this.closeListeners.push(listener);
  }

  /** Closes the connection. */
  close(reason = 'closed'): void {
    if (this.closedFlag) return;
    this.transport.close(reason);
  }

  /** Sends an admission request (queued until this side has sent AUTH: the peer accepts it only after). */
  requestAdmission(request: AdmissionRequestMessage): void {
    if (this.authSent) this.send(request);
    else this.afterAuth.push(request); // the peer accepts it only after our AUTH
  }

  /** Forwards a NOTICE as received (admission answers routed back by a relaying node). */
  forwardNotice(notice: NoticeMessage): void {
    this.send(notice);
  }

  /** Sends a NOTICE to the peer (ignored if closed). */
  notice(kind: NoticeKind, feed: Uint8Array | null, seq: number, code: string, message: string): void {
    this.send({ type: 'notice', kind, feed: feed ?? ZERO32, seq, code, message: message.length > 2000 ? message.slice(0, 2000) + '…' : message });
  }

  /** A commit happened on the replica: stream it if the peer lacks it. */
  commitHappened(): void {
    this.schedulePump();
  }

  /** The node's membership view changed: re-decide whether to serve the peer, re-send STATE, resume held feeds. */
  membershipChanged(): void {
    if (!this.authed || this.closedFlag) return;
    const was = this.serving;
    this.serving = this.host.membership.isMember(this.peerHello!.feed);
    // A fresh STATE makes the peer offer again what we refused or held under the old view.
    this.sendState();
    if (this.serving) {
      this.schedulePump();
    } else if (was) {
      this.notice('not-member', null, 0, SyncErrorCode.NOT_MEMBER, 'you are no longer a member of this space');
    }
  }

  // --- sending --------------------------------------------------------------------------------------------------

  private send(msg: SyncMessage): void {
    if (this.closedFlag || this.transport.closed) return;
    const bytes = encodeMessageV1(msg);
    for (const f of this.framer.frames(bytes)) this.transport.send(f);
    this.stats.messagesSent++;
  }

  private sendState(): void {
    this.send({ type: 'state', items: this.host.replica.stateVector() });
  }

  private schedulePump(): void {
    if (this.closedFlag || !this.serving || !this.gotState) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    const run = (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.pump();
        } while (this.pumpAgain && !this.closedFlag);
      } catch (e) {
        this.fail(e);
      } finally {
        this.pumping = false;
      }
    })();
    this.host.track(run);
  }

  /** Sends what the peer lacks, feed by feed, while the window allows (invariants 1-3). */
  private async pump(): Promise<void> {
    const peerWindow = this.peerHello!.window;
    const peerMaxEntry = this.peerHello!.maxEntryBytes;
    let progress = true;
    while (progress) {
      progress = false;
      if (!this.sendEvidence()) return; // wait for an ACK
      const membership = this.host.membership;
      const fingerprint = membership.fingerprint();
      // Admins' feeds first: membership records then reach the peer before the entries they admit or cut off,
      // which spares it pending holds and narrows the window of the removal limit (docs/sync.md).
      const all: StateVectorEntry[] = this.host.replica.stateVector();
      const sv = [...all.filter((x) => membership.isAdmin(x.feed)), ...all.filter((x) => !membership.isAdmin(x.feed))];
      for (const item of sv) {
        if (this.closed || !this.serving) return;
        const hex = feedIdToHex(item.feed);
        if (this.stopped.has(hex) || this.heldBack.get(hex) === fingerprint) continue;
        const have = this.peerHave.get(hex) ?? { seq: 0, hash: null };
        if (item.seq < have.seq) continue;
        if (item.seq === have.seq) {
          if (have.hash !== null && !equalBytes(have.hash, item.hash)) await this.forkFound(item.feed, have.seq);
          continue;
        }
        const unacked = this.sent - this.acked;
        if (unacked > 0 && unacked >= peerWindow) return; // wait for an ACK
        const budget = unacked === 0 ? this.host.batchBytes : Math.min(this.host.batchBytes, peerWindow - unacked);
        const epoch = this.stateEpoch;
        const raw = await this.host.replica.readEntries(item.feed, have.seq + 1, budget);
        if (this.closed) return;
        if (epoch !== this.stateEpoch) {
          progress = true; // the peer's STATE moved under us: start over from it
          break;
        }
        if (raw.length === 0) continue;
        const batch: Uint8Array[] = [];
        let size = ENTRIES_HEADER_BYTES;
        for (const bytes of raw) {
          // Our own stored entries (checked by the store): only the first one's prev and each one's HLC matter here.
          if (batch.length === 0 && have.hash !== null && have.seq > 0 && !equalBytes(decodeEntryV1(bytes).prev, have.hash)) {
            await this.forkFound(item.feed, have.seq);
            break;
          }
          const hlc = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(ENTRY_HLC_OFFSET);
          if (membership.entryVerdictOfHex(hex, hlc) !== 'accept') {
            if (batch.length === 0) this.heldBack.set(hex, fingerprint);
            break;
          }
          if (bytes.length > peerMaxEntry) {
            if (batch.length === 0) {
              this.stopped.add(hex);
              this.host.report({
                type: 'rejected',
                feed: item.feed,
                seq: rawSeq(bytes),
                error: new SyncError(SyncErrorCode.MESSAGE_TOO_LARGE, `entry of ${bytes.length} bytes exceeds the peer's limit of ${peerMaxEntry}; feed not served to it`, { feed: hex, seq: rawSeq(bytes) }),
                peer: this.peer,
              });
            }
            break;
          }
          const grown = size + 4 + bytes.length;
          if (batch.length > 0 && (grown > budget || (unacked > 0 && unacked + grown > peerWindow))) break;
          if (batch.length === 0 && unacked > 0 && unacked + grown > peerWindow) break;
          batch.push(bytes);
          size = grown;
        }
        if (batch.length === 0) continue;
        this.send({ type: 'entries', feed: item.feed, entries: batch });
        this.sent += size;
        this.stats.entriesSent += batch.length;
        this.stats.bytesSent += size;
        this.peerHave.set(hex, { seq: have.seq + batch.length, hash: null });
        progress = true;
        // A later turn of the event loop before the next message: the transport can put this one on the wire (Node's
        // HTTP response flushes a corked socket only then) and the host can take other work (ACKs, other peers).
        // Reads are synchronous on most file systems, so without it a whole window went out in one turn: measured,
        // a relay's first ENTRIES reached the client 40-110 ms after it was sent, for windows of 1-4 MiB.
        await yieldNow();
        if (this.closed) return;
      }
      if (this.evidence.length > 0) progress = true;
    }
  }

  /**
   * The peer's entry at (feed, seq) differs from ours: report, tell the peer, stop serving the feed, and queue our
   * entry at seq as evidence (sent by the pump when the window allows and it fits the peer's limit).
   */
  private async forkFound(feed: Uint8Array, seq: number): Promise<void> {
    const hex = feedIdToHex(feed);
    if (this.stopped.has(hex)) return;
    this.stopped.add(hex);
    this.host.report({ type: 'fork', feed, seq, error: null, peer: this.peer });
    this.notice('fork', feed, seq, 'HEARTH_FORK', `our entry at seq ${seq} differs from yours: fork evidence follows`);
    const mine = await this.host.replica.readEntries(feed, seq, 1);
    if (mine.length > 0 && mine[0].length <= this.peerHello!.maxEntryBytes) this.evidence.push({ feed, entry: mine[0] });
  }

  /** Sends queued fork evidence while the window allows; false if some must wait for an ACK. */
  private sendEvidence(): boolean {
    while (this.evidence.length > 0) {
      const { feed, entry } = this.evidence[0];
      const size = ENTRIES_HEADER_BYTES + 4 + entry.length;
      const unacked = this.sent - this.acked;
      if (unacked > 0 && unacked + size > this.peerHello!.window) return false;
      this.evidence.shift();
      this.send({ type: 'entries', feed, entries: [entry] });
      this.sent += size;
      this.stats.bytesSent += size;
    }
    return true;
  }

  // --- receiving ------------------------------------------------------------------------------------------------

  private onFrame(frame: Uint8Array): void {
    if (this.closedFlag) return;
    let bytes: Uint8Array | null;
    let msg: SyncMessage;
    try {
      bytes = this.deframer.push(frame);
      this.stats.duplicateFrames = this.deframer.duplicates;
      if (bytes === null) return;
      msg = decodeMessageV1(bytes);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.stats.messagesReceived++;
    if (msg.type === 'entries') {
      // Flow control is checked on arrival (invariant 1 seen from the receiving side).
      const size = bytes.length;
      const unprocessed = this.received - this.processed;
      if (unprocessed > 0 && unprocessed + size > this.host.windowBytes) {
        this.fail(new SyncError(SyncErrorCode.PROTOCOL, `peer exceeded the window: ${unprocessed + size} bytes unacknowledged, window ${this.host.windowBytes}`));
        return;
      }
      this.received += size;
      this.stats.bytesReceived += size;
    }
    const run = this.chain.then(() => (this.closed ? undefined : this.handle(msg, bytes!.length)));
    this.chain = run.catch((e) => this.fail(e));
    this.host.track(this.chain);
  }

  private async handle(msg: SyncMessage, size: number): Promise<void> {
    switch (msg.type) {
      case 'hello':
        return this.onHello(msg);
      case 'auth': {
        if (this.peerHello === null || this.authed) throw new SyncError(SyncErrorCode.PROTOCOL, 'AUTH out of order');
        const ok = await verifyEd25519(msg.signature, authMessage(this.host.space, this.peerHello.feed, this.nonce, this.peerHello.nonce), this.peerHello.feed);
        if (!ok) throw new SyncError(SyncErrorCode.AUTH, "the peer's AUTH signature does not verify against the key it named");
        if (equalBytes(this.peerHello.feed, this.host.keypair.publicKey)) throw new SyncError(SyncErrorCode.PROTOCOL, 'the peer uses this replica\'s own key');
        this.authed = true;
        // STATE goes to every authenticated peer, member or not: it asks for what we lack (entries are judged by
        // their authors, not by who relays them). Serving the peer is what membership gates.
        this.serving = this.host.membership.isMember(this.peerHello.feed);
        this.sendState();
        if (!this.serving) this.notice('not-member', null, 0, SyncErrorCode.NOT_MEMBER, 'you are not a member of this space: request admission with an invite');
        return;
      }
      case 'state': {
        if (!this.authed) throw new SyncError(SyncErrorCode.PROTOCOL, 'STATE before AUTH');
        this.peerHave.clear();
        for (const it of msg.items) this.peerHave.set(feedIdToHex(it.feed), { seq: it.seq, hash: it.hash });
        this.gotState = true;
        this.stateEpoch++;
        this.heldBack.clear();
        this.schedulePump();
        return;
      }
      case 'entries': {
        if (!this.authed) throw new SyncError(SyncErrorCode.PROTOCOL, 'ENTRIES before AUTH');
        // The peer holds what it sends us: never echo it back (invariant 2).
        const hex = feedIdToHex(msg.feed);
        const last = rawSeq(msg.entries[msg.entries.length - 1]);
        const have = this.peerHave.get(hex);
        if (last > 0 && (have === undefined || last > have.seq)) this.peerHave.set(hex, { seq: last, hash: null });
        this.stats.entriesReceived += msg.entries.length;
        await this.host.receiveEntries(this, msg.feed, msg.entries);
        this.processed += size;
        this.send({ type: 'ack', bytes: this.processed });
        return;
      }
      case 'ack': {
        if (!this.authed) throw new SyncError(SyncErrorCode.PROTOCOL, 'ACK before AUTH');
        if (msg.bytes < this.acked || msg.bytes > this.sent) {
          throw new SyncError(SyncErrorCode.PROTOCOL, `ACK of ${msg.bytes} bytes outside [${this.acked}, ${this.sent}]`);
        }
        this.acked = msg.bytes;
        this.stats.bytesAcked = msg.bytes;
        this.schedulePump();
        return;
      }
      case 'notice':
        this.host.noticeReceived(this, msg);
        return;
      case 'admission-request':
        if (!this.authed) throw new SyncError(SyncErrorCode.PROTOCOL, 'ADMISSION_REQUEST before AUTH');
        return this.host.admissionRequest(this, msg);
    }
  }

  private async onHello(msg: HelloMessage): Promise<void> {
    if (this.peerHello !== null) throw new SyncError(SyncErrorCode.PROTOCOL, 'a second HELLO');
    const version = Math.min(PROTOCOL_MAX_VERSION, msg.maxVersion);
    if (version < Math.max(PROTOCOL_MIN_VERSION, msg.minVersion)) {
      throw new SyncError(SyncErrorCode.VERSION, `no common protocol version: we speak ${PROTOCOL_MIN_VERSION}..${PROTOCOL_MAX_VERSION}, the peer ${msg.minVersion}..${msg.maxVersion}`);
    }
    if (!equalBytes(msg.space, this.host.space)) {
      throw new SyncError(SyncErrorCode.SPACE_MISMATCH, `the peer is in space ${feedIdToHex(msg.space).slice(0, 16)}…, we are in ${feedIdToHex(this.host.space).slice(0, 16)}…`);
    }
    if (msg.window < 1024) throw new SyncError(SyncErrorCode.PROTOCOL, `peer window of ${msg.window} bytes is below 1 KiB`);
    this.peerHello = msg;
    const signature = await signEd25519(authMessage(this.host.space, this.host.keypair.publicKey, msg.nonce, this.nonce), this.host.keypair.secretKey);
    this.send({ type: 'auth', signature });
    this.authSent = true;
    for (const m of this.afterAuth.splice(0)) this.send(m);
  }

  // --- closing --------------------------------------------------------------------------------------------------

  /** Reports a failure, tells the peer why (best effort) and closes. */
  private fail(e: unknown): void {
    if (this.closedFlag) return;
    const error = e instanceof Error ? e : new Error(String(e));
    this.host.report({ type: 'session-error', error, peer: this.peer });
    try {
      this.notice('closing', null, 0, error instanceof HearthError ? error.code : 'ERROR', error.message);
    } catch {
      /* the close below is what matters */
    }
    this.transport.close(error instanceof HearthError ? error.code : 'error');
  }

  private onTransportClose(info: TransportCloseInfo): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const u of this.unsubscribe) u();
    this.host.sessionClosed(this);
    for (const l of this.closeListeners.splice(0)) l(info);
  }
}
