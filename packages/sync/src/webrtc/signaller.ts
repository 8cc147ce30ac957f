/**
 * Signalling for WebRTC: how two peers of a space exchange the offer, answer and ICE candidates that set up a data
 * channel before they can talk directly. {@link Signaller} is the interface (`WebRtcConnector` uses it); this file
 * has two implementations for one machine: {@link MemorySignalHub} (same JavaScript realm: tests) and
 * {@link BroadcastChannelSignaller} (tabs and workers of one origin in one browser profile). Across machines the
 * relay signals (`RelaySignaller`, `relay-signaller.ts`).
 *
 * Invariants:
 * 1. A signal is delivered to the listeners of the signaller whose `peerId` is `to`, at most once, asynchronously,
 *    as a fresh JSON-compatible value (never the sender's object).
 * 2. Signals of one sender to one receiver arrive in the order sent (the connector still tolerates reordering).
 * 3. A closed signaller delivers nothing and refuses to send (`SyncError` `HEARTH_TRANSPORT_CLOSED`).
 *
 * Signalling carries no secrets that matter: the sync protocol authenticates devices itself (HELLO + AUTH), and
 * DTLS protects the channel; a signaller that lies can only make a connection fail.
 * @packageDocumentation
 */
import { SyncError, SyncErrorCode } from '../errors.js';

/** A simple-peer signal: an SDP offer/answer or an ICE candidate, as JSON. */
export type SignalData = Readonly<Record<string, unknown>>;

/** One signal as a receiver sees it. */
export interface SignalEnvelope {
  /** The sender's peer id (as the signalling channel knows it; the relay authenticates it). */
  readonly from: string;
  /** The connection it belongs to, chosen by the side that initiates (random, unique per attempt). */
  readonly connection: string;
  /** The signal itself. */
  readonly data: SignalData;
}

/** A way to reach the other peers of a space with small JSON messages (see the file header). */
export interface Signaller {
  /** This peer's id in the space (a device's feed id in hex, for the relay). */
  readonly peerId: string;
  /**
   * Sends one signal to peer `to`. Resolves when the signalling channel took it (not when `to` received it).
   * @throws (rejects with) SyncError `HEARTH_TRANSPORT_CLOSED` if this signaller is closed or cannot reach the
   *   signalling service.
   */
  send(to: string, connection: string, data: SignalData): Promise<void>;
  /** Registers a listener for signals addressed to this peer; returns its unsubscribe function. */
  onSignal(listener: (signal: SignalEnvelope) => void): () => void;
  /** Stops sending and receiving (idempotent). Connections already established are not affected. */
  close(): void;
}

/** Peer ids and connection ids: 1-128 printable ASCII characters (URL-safe in practice). */
const ID = /^[\x21-\x7e]{1,128}$/;

/**
 * Checks a received envelope's shape (signals come from other processes or the network).
 * @returns the envelope, or null if it is malformed.
 */
export function parseSignalEnvelope(value: unknown): SignalEnvelope | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  if (typeof v.from !== 'string' || !ID.test(v.from)) return null;
  if (typeof v.connection !== 'string' || !ID.test(v.connection)) return null;
  if (typeof v.data !== 'object' || v.data === null || Array.isArray(v.data)) return null;
  return { from: v.from, connection: v.connection, data: v.data as SignalData };
}

/** @throws TypeError if `id` is not a valid peer or connection id. */
export function checkSignalId(id: unknown, label: string): asserts id is string {
  if (typeof id !== 'string' || !ID.test(id)) throw new TypeError(`"${label}" expected 1-128 printable ASCII characters, got ${JSON.stringify(id)}`);
}

/** Listener bookkeeping shared by the signallers. */
export class SignalListeners {
  private readonly listeners: ((s: SignalEnvelope) => void)[] = [];
  add(listener: (s: SignalEnvelope) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function');
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }
  emit(s: SignalEnvelope): void {
    for (const l of [...this.listeners]) l(s);
  }
  clear(): void {
    this.listeners.length = 0;
  }
}

function closedError(what: string): SyncError {
  return new SyncError(SyncErrorCode.TRANSPORT_CLOSED, `${what} is closed`);
}

/**
 * Signallers for peers in one JavaScript realm (tests, or several replicas in one page). Delivery is by macrotask
 * (`setTimeout(0)`), through a JSON round trip, in order.
 */
export class MemorySignalHub {
  private readonly peers = new Map<string, MemorySignaller>();

  /**
   * The signaller of peer `peerId` (a new one; an id may have one open signaller at a time).
   * @throws TypeError if the id is malformed; RangeError if an open signaller already has it.
   */
  signaller(peerId: string): Signaller {
    checkSignalId(peerId, 'peerId');
    if (this.peers.has(peerId)) throw new RangeError(`peer id ${peerId} already has an open signaller`);
    const s = new MemorySignaller(peerId, this);
    this.peers.set(peerId, s);
    return s;
  }

  /** @internal */
  route(from: string, to: string, connection: string, data: SignalData): void {
    const json = JSON.stringify({ from, connection, data });
    setTimeout(() => this.peers.get(to)?.deliver(JSON.parse(json)), 0);
  }

  /** @internal */
  drop(peerId: string, s: MemorySignaller): void {
    if (this.peers.get(peerId) === s) this.peers.delete(peerId);
  }
}

class MemorySignaller implements Signaller {
  private readonly listeners = new SignalListeners();
  private closed = false;
  constructor(
    readonly peerId: string,
    private readonly hub: MemorySignalHub,
  ) {}
  async send(to: string, connection: string, data: SignalData): Promise<void> {
    checkSignalId(to, 'to');
    checkSignalId(connection, 'connection');
    if (this.closed) throw closedError('signaller');
    this.hub.route(this.peerId, to, connection, data);
  }
  onSignal(listener: (s: SignalEnvelope) => void): () => void {
    return this.listeners.add(listener);
  }
  deliver(value: unknown): void {
    const s = parseSignalEnvelope(value);
    if (!this.closed && s) this.listeners.emit(s);
  }
  close(): void {
    this.closed = true;
    this.listeners.clear();
    this.hub.drop(this.peerId, this);
  }
}

/**
 * A signaller over a `BroadcastChannel` named `hearth-webrtc:<space>`: reaches every page and worker of this
 * origin in this browser profile (two tabs, or two pages in one test). Messages not addressed to `peerId` are
 * ignored; malformed ones are counted in {@link BroadcastChannelSignaller.malformed}.
 */
export class BroadcastChannelSignaller implements Signaller {
  private readonly channel: BroadcastChannel;
  private readonly listeners = new SignalListeners();
  private closed = false;
  /** Messages on the channel that were not valid signals (another program on the channel, or a bug). */
  malformed = 0;

  /**
   * @param space the space's id (any string; it names the channel).
   * @param peerId this peer's id.
   * @throws TypeError if `space` is not a non-empty string or `peerId` is malformed; Error if the environment has no
   *   BroadcastChannel.
   */
  constructor(
    readonly space: string,
    readonly peerId: string,
  ) {
    if (typeof space !== 'string' || space.length === 0) throw new TypeError('"space" expected a non-empty string');
    checkSignalId(peerId, 'peerId');
    if (typeof BroadcastChannel !== 'function') throw new Error('BroadcastChannel is not available in this environment');
    this.channel = new BroadcastChannel(`hearth-webrtc:${space}`);
    this.channel.onmessage = (e: MessageEvent) => {
      if (this.closed) return;
      const m = e.data as { to?: unknown } | null;
      if (typeof m !== 'object' || m === null || typeof m.to !== 'string') {
        this.malformed++;
        return;
      }
      if (m.to !== this.peerId) return;
      const s = parseSignalEnvelope(m);
      if (s === null) this.malformed++;
      else this.listeners.emit(s);
    };
  }

  async send(to: string, connection: string, data: SignalData): Promise<void> {
    checkSignalId(to, 'to');
    checkSignalId(connection, 'connection');
    if (this.closed) throw closedError('signaller');
    this.channel.postMessage({ to, from: this.peerId, connection, data: JSON.parse(JSON.stringify(data)) });
  }

  onSignal(listener: (s: SignalEnvelope) => void): () => void {
    return this.listeners.add(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.channel.close();
  }
}
