/**
 * {@link WebRtcConnector}: makes {@link WebRtcTransport}s to other peers of a space, signalled through a
 * {@link Signaller}. Runs on a page's main thread (where `RTCPeerConnection` exists); in the SDK the leader tab
 * hosts it and bridges each transport to the database worker (`port.ts`).
 *
 * Protocol over the signaller (per connection): the initiator picks a random connection id (16 bytes, hex) and
 * sends simple-peer's offer under it; the responder, on an offer for a connection it does not know, creates a
 * peer and answers under the same id. With `trickle: false` (default) that is one signal each way: the offer and
 * answer carry every ICE candidate, so the exchange survives a signalling channel that reorders (two POSTs in
 * flight). With `trickle: true`, candidates follow as separate signals; signals that arrive before their offer are
 * held (bounded) until it does.
 *
 * Invariants:
 * 1. A connection is identified by (remote peer id, connection id); signals are only ever given to that
 *    connection's peer. A retry is a new connection id, so stale signals of an old attempt cannot reach it.
 * 2. `connect()` settles once: with the open transport, or with SyncError `HEARTH_TRANSPORT_CLOSED` (ICE failure,
 *    signalling failure, timeout, connector closed). An incoming connection is handed to `onConnection` once, when
 *    its channel is open; one that fails before is reported to `onError` and dropped.
 * 3. Established transports are independent of the signaller: closing the connector or the signaller (the relay
 *    going away) does not close them.
 * 4. No STUN/TURN servers by default (`iceServers: []`): peers on one machine or one LAN connect with host
 *    candidates; pass `rtc` to use others.
 * @packageDocumentation
 */
import SimplePeer from 'simple-peer/simplepeer.min.js';
import type { SimplePeerOptions } from 'simple-peer/simplepeer.min.js';
import { SyncError, SyncErrorCode } from '../errors.js';
import { checkSignalId, type SignalData, type SignalEnvelope, type Signaller } from './signaller.js';
import { WebRtcTransport, type PeerLike, type WebRtcTransportOptions } from './transport.js';

/** A simple-peer instance as the connector uses it. */
export type ConnectorPeer = PeerLike & { signal(data: SignalData): void };

/** Options of {@link WebRtcConnector}. */
export interface WebRtcConnectorOptions {
  /** How to reach the other peers (see `signaller.ts`). */
  signaller: Signaller;
  /**
   * Receives each incoming connection once its data channel is open (typically `node.connect(transport)`, or a
   * bridge to the worker). Without it, incoming offers are not answered.
   */
  onConnection?: (transport: WebRtcTransport, peerId: string) => void;
  /** Decides whether to answer an offer from `peerId`. Default: answer every offer. */
  accept?: (peerId: string) => boolean;
  /** Failures of incoming connections and malformed signals (outgoing ones reject `connect`). */
  onError?: (error: SyncError, peerId: string) => void;
  /** Give up on a connection not open after this long, ms. Default 20,000. */
  connectTimeoutMs?: number;
  /** `RTCConfiguration`. Default `{ iceServers: [] }` (host candidates only). */
  rtc?: RTCConfiguration;
  /** Trickle ICE (see the file header). Default false. */
  trickle?: boolean;
  /** Options of each {@link WebRtcTransport}. */
  transport?: WebRtcTransportOptions;
  /** Makes a peer (tests substitute fakes). Default `new SimplePeer(options)` (simple-peer 9). */
  createPeer?: (options: SimplePeerOptions) => ConnectorPeer;
}

interface Pending {
  readonly remote: string;
  readonly connection: string;
  readonly peer: ConnectorPeer;
  readonly transport: WebRtcTransport;
}

/** Most signals held for connections whose offer has not arrived, in total. */
const MAX_EARLY_SIGNALS = 256;

function randomId(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function closed(message: string, cause?: unknown): SyncError {
  return new SyncError(SyncErrorCode.TRANSPORT_CLOSED, message, cause === undefined ? undefined : { cause });
}

/** Makes and answers WebRTC connections over a signaller (see the file header). */
export class WebRtcConnector {
  private readonly signaller: Signaller;
  private readonly options: WebRtcConnectorOptions;
  private readonly connections = new Map<string, Pending>();
  private readonly early = new Map<string, SignalData[]>();
  private earlyCount = 0;
  private readonly offSignal: () => void;
  private isClosed = false;
  private readonly timeoutMs: number;

  /** @throws TypeError for a missing signaller; RangeError for a non-positive `connectTimeoutMs`. */
  constructor(options: WebRtcConnectorOptions) {
    if (!options || typeof options.signaller?.onSignal !== 'function') throw new TypeError('"signaller" expected a Signaller');
    this.options = options;
    this.signaller = options.signaller;
    this.timeoutMs = options.connectTimeoutMs ?? 20_000;
    if (!(this.timeoutMs > 0)) throw new RangeError(`"connectTimeoutMs" expected > 0, got ${this.timeoutMs}`);
    this.offSignal = this.signaller.onSignal((s) => this.onSignal(s));
  }

  /** This peer's id (the signaller's). */
  get peerId(): string {
    return this.signaller.peerId;
  }

  /** Connections being set up or open, by remote peer id (for diagnostics). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /**
   * Opens a connection to `peerId`: sends an offer through the signaller and resolves with the transport once its
   * data channel is open.
   * @throws TypeError for a malformed peer id.
   * @throws (rejects with) SyncError `HEARTH_TRANSPORT_CLOSED` if the connection fails (ICE, signalling), is not
   *   open within `connectTimeoutMs`, or the connector is closed.
   */
  connect(peerId: string): Promise<WebRtcTransport> {
    checkSignalId(peerId, 'peerId');
    if (this.isClosed) return Promise.reject(closed('WebRTC connector is closed'));
    const p = this.start(peerId, randomId(), true);
    return p.open;
  }

  /** Stops answering and cancels connections not yet open. Open transports stay open (invariant 3). Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.offSignal();
    this.early.clear();
    for (const c of [...this.connections.values()]) if (!c.peer.connected) c.transport.close('connector closed');
    this.connections.clear();
  }

  private start(remote: string, connection: string, initiator: boolean): { open: Promise<WebRtcTransport> } {
    const make = this.options.createPeer ?? ((o: SimplePeerOptions) => new SimplePeer(o) as unknown as ConnectorPeer);
    const peer = make({
      initiator,
      trickle: this.options.trickle ?? false,
      config: this.options.rtc ?? { iceServers: [] },
      channelConfig: { ordered: true },
    });
    const transport = new WebRtcTransport(peer, this.options.transport);
    const key = `${remote}\n${connection}`;
    const entry: Pending = { remote, connection, peer, transport };
    this.connections.set(key, entry);
    transport.onClose(() => {
      if (this.connections.get(key) === entry) this.connections.delete(key);
    });

    peer.on('signal', (data) => {
      if (transport.closed) return;
      this.signaller.send(remote, connection, data as SignalData).catch((e: unknown) => {
        transport.close(`signalling failed: ${(e as Error)?.message ?? String(e)}`);
      });
    });

    const open = new Promise<WebRtcTransport>((resolve, reject) => {
      const timer = setTimeout(() => transport.close(`not connected within ${this.timeoutMs} ms`), this.timeoutMs);
      const offClose = transport.onClose((info) => {
        clearTimeout(timer);
        reject(closed(`WebRTC connection to ${remote} failed: ${info.reason}`));
      });
      peer.on('connect', () => {
        clearTimeout(timer);
        offClose();
        resolve(transport);
      });
    });

    return { open };
  }

  /** Gives a new answering connection the signals that overtook its offer (after the offer: invariant 1). */
  private replayEarly(key: string, c: Pending): void {
    const held = this.early.get(key);
    if (!held) return;
    this.early.delete(key);
    this.earlyCount -= held.length;
    for (const d of held) this.give(c, d);
  }

  private give(c: Pending, data: SignalData): void {
    if (c.transport.closed) return;
    try {
      c.peer.signal(data);
    } catch (e) {
      c.transport.close(`bad signal: ${(e as Error).message}`);
    }
  }

  private onSignal(s: SignalEnvelope): void {
    if (this.isClosed) return;
    const key = `${s.from}\n${s.connection}`;
    const known = this.connections.get(key);
    if (known) {
      this.give(known, s.data);
      return;
    }
    if (s.data.type === 'offer') {
      const { onConnection, accept } = this.options;
      if (!onConnection || (accept && !accept(s.from))) return;
      const { open } = this.start(s.from, s.connection, false);
      const c = this.connections.get(key)!;
      this.give(c, s.data);
      this.replayEarly(key, c);
      open.then(
        (t) => onConnection(t, s.from),
        (e: SyncError) => this.options.onError?.(e, s.from),
      );
      return;
    }
    if (s.data.type === 'answer') {
      // an answer to a connection we no longer have (timed out, closed): nothing to do, the peer's attempt fails
      return;
    }
    // trickled candidate before its offer (reordering signaller): hold it, bounded
    if (this.earlyCount >= MAX_EARLY_SIGNALS) {
      this.options.onError?.(closed(`too many early WebRTC signals; dropped one from ${s.from}`), s.from);
      return;
    }
    const list = this.early.get(key) ?? [];
    list.push(s.data);
    this.early.set(key, list);
    this.earlyCount++;
    setTimeout(() => {
      const l = this.early.get(key);
      if (l === list) {
        this.early.delete(key);
        this.earlyCount -= l.length;
      }
    }, this.timeoutMs);
  }
}
