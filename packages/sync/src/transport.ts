/**
 * The one interface every sync transport implements (in-memory, SSE relay, WebRTC data channel), and the
 * in-memory implementation. Every implementation runs `packages/sync/test/transport-compliance.ts`.
 *
 * What the sync protocol assumes of a transport (and what the compliance suite checks):
 * 1. **Messages, not a byte stream.** `send(m)` delivers `m` to the peer's message listeners as one message with
 *    exactly the same bytes, or not at all. Messages up to `maxMessageBytes` are accepted; larger ones are a
 *    `RangeError` (the protocol's framing cuts its messages to fit, see `frame.ts`).
 * 2. **Ordered and reliable while open.** Messages arrive in the order sent, each once, with no gaps, until the
 *    connection closes. A transport that cannot keep this (a reconnecting SSE stream, a dropped data channel) must
 *    close the connection instead; the protocol resumes on a new one from state vectors. (The frame numbers and
 *    checksums of `frame.ts` detect a transport that breaks this anyway: the session closes.)
 * 3. **Asynchronous delivery.** A listener never runs inside `send()` (no re-entrancy).
 * 4. **No loss before listening.** Messages that arrive before the first `onMessage` listener is registered are
 *    kept and delivered to it, in order.
 * 5. **Close is final and observed by both ends.** After `close()` (either end) or a network failure, each end's
 *    close listeners run once, with `remote` telling who closed; no message is delivered after that, and `send`
 *    throws `SyncError` `HEARTH_TRANSPORT_CLOSED`. `close()` is idempotent. Messages sent just before a close may
 *    be lost: the protocol never relies on them (nothing is acknowledged until the peer says so in ACK).
 * 6. **The caller keeps its buffer.** `send` copies or transmits the bytes before it returns; the caller may
 *    reuse the array afterwards. A received message's array belongs to the listener.
 *
 * Authentication of the peer's device key is the protocol's (HELLO + AUTH), not the transport's: a transport may
 * add its own (TLS, the relay's HTTP auth, DTLS fingerprints); integrity is checked again by frame checksums, so a
 * text transport (SSE) may carry frames as base64 without its own checksum.
 *
 * How the planned transports map onto this: **SSE relay**: `send` = an HTTP POST of one message (binary body),
 * `onMessage` = `EventSource` events (one base64url-encoded message per event, event ids for ordering; a stream
 * that reconnects must surface as a close unless it proves no event was missed), `maxMessageBytes` = what the relay
 * accepts per POST/event (e.g. 1 MiB). **WebRTC** (simple-peer): `send` = `peer.send(bytes)`, `maxMessageBytes` =
 * 16 KiB (the portable SCTP message size), `bufferedAmount` = the data channel's.
 *
 * @packageDocumentation
 */
import { SyncError, SyncErrorCode } from './errors.js';

/** Why a connection closed, given to close listeners. */
export interface TransportCloseInfo {
  /** True if the peer (or the network) closed it, false if this end called `close()`. */
  readonly remote: boolean;
  /** A short reason, if one is known (`"closed by peer"`, `"network partition"`, the argument of `close`). */
  readonly reason: string;
}

/** One end of a connection between two sync peers (see the file header for the guarantees). */
export interface Transport {
  /** Largest message `send` accepts, in bytes (`Infinity` if unbounded). At least 1,040 (a frame header + 1 KiB). */
  readonly maxMessageBytes: number;
  /** Whether the connection is closed (by either end or the network). */
  readonly closed: boolean;
  /**
   * Bytes handed to `send` and not yet passed to the network, if the transport can tell (WebRTC's
   * `bufferedAmount`); the protocol's own window bounds what is in flight, this only lets it wait for a slow link.
   */
  readonly bufferedAmount?: number;
  /**
   * Sends one message. The bytes are copied or transmitted before this returns.
   * @throws RangeError if `message` is longer than `maxMessageBytes`.
   * @throws SyncError `HEARTH_TRANSPORT_CLOSED` if the connection is closed.
   */
  send(message: Uint8Array): void;
  /** Registers a message listener; returns its unsubscribe function. Listeners run in registration order. */
  onMessage(listener: (message: Uint8Array) => void): () => void;
  /** Registers a close listener (runs once; immediately, asynchronously, if already closed). Returns unsubscribe. */
  onClose(listener: (info: TransportCloseInfo) => void): () => void;
  /** Closes the connection (idempotent). Both ends' close listeners run. */
  close(reason?: string): void;
}

/** Options of {@link createMemoryTransportPair}. */
export interface MemoryTransportOptions {
  /** Largest message, bytes. Default `Infinity`. Use 16,384 to behave like a WebRTC data channel. */
  maxMessageBytes?: number;
}

/**
 * A base for transports that deliver through a scheduler: queues messages until the first listener, runs close
 * listeners once, copies on send. Subclasses implement `deliver` (hand bytes towards the peer) and may call
 * `receive`/`closeFromRemote`.
 */
export abstract class BaseTransport implements Transport {
  private readonly messageListeners: ((m: Uint8Array) => void)[] = [];
  private readonly closeListeners: ((info: TransportCloseInfo) => void)[] = [];
  private readonly early: Uint8Array[] = [];
  private closeInfo: TransportCloseInfo | null = null;

  constructor(readonly maxMessageBytes: number) {
    if (!(maxMessageBytes >= 1040)) throw new RangeError(`"maxMessageBytes" expected >= 1040, got ${maxMessageBytes}`);
  }

  get closed(): boolean {
    return this.closeInfo !== null;
  }

  send(message: Uint8Array): void {
    if (!(message instanceof Uint8Array)) throw new TypeError('"message" expected Uint8Array');
    if (message.length > this.maxMessageBytes) {
      throw new RangeError(`message of ${message.length} bytes exceeds the transport's maxMessageBytes ${this.maxMessageBytes}`);
    }
    if (this.closeInfo !== null) throw new SyncError(SyncErrorCode.TRANSPORT_CLOSED, `transport is closed (${this.closeInfo.reason})`);
    this.deliver(message.slice());
  }

  onMessage(listener: (message: Uint8Array) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function');
    this.messageListeners.push(listener);
    if (this.messageListeners.length === 1 && this.early.length > 0) {
      this.schedule(() => {
        // drain at run time: messages that arrived meanwhile queued behind the early ones (invariant 4: in order)
        while (this.early.length > 0 && this.messageListeners.length > 0 && this.closeInfo === null) this.dispatch(this.early.shift()!);
      });
    }
    return () => {
      const i = this.messageListeners.indexOf(listener);
      if (i >= 0) this.messageListeners.splice(i, 1);
    };
  }

  onClose(listener: (info: TransportCloseInfo) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('"listener" expected a function');
    if (this.closeInfo !== null) {
      const info = this.closeInfo;
      let active = true;
      this.schedule(() => {
        if (active) listener(info);
      });
      return () => {
        active = false;
      };
    }
    this.closeListeners.push(listener);
    return () => {
      const i = this.closeListeners.indexOf(listener);
      if (i >= 0) this.closeListeners.splice(i, 1);
    };
  }

  close(reason = 'closed'): void {
    if (this.closeInfo !== null) return;
    this.finish({ remote: false, reason });
    this.notifyPeerClosed(reason);
  }

  /** Hands a private copy of a message towards the peer. */
  protected abstract deliver(message: Uint8Array): void;
  /** Tells the peer end that this end closed. */
  protected abstract notifyPeerClosed(reason: string): void;
  /** Runs `fn` later (never synchronously). */
  protected abstract schedule(fn: () => void): void;

  /** Called when a message from the peer arrives. Dropped if closed. */
  protected receive(message: Uint8Array): void {
    if (this.closeInfo !== null) return;
    if (this.messageListeners.length === 0 || this.early.length > 0) {
      this.early.push(message);
      return;
    }
    this.dispatch(message);
  }

  private dispatch(message: Uint8Array): void {
    if (this.closeInfo !== null) return;
    for (const l of [...this.messageListeners]) l(message);
  }

  /** Called when the peer or the network closed the connection. */
  protected closeFromRemote(reason: string): void {
    if (this.closeInfo !== null) return;
    this.finish({ remote: true, reason });
  }

  private finish(info: TransportCloseInfo): void {
    this.closeInfo = info;
    this.early.length = 0;
    const listeners = this.closeListeners.splice(0);
    this.schedule(() => {
      for (const l of listeners) l(info);
    });
  }
}

class MemoryTransport extends BaseTransport {
  peer: MemoryTransport | null = null;
  protected deliver(message: Uint8Array): void {
    const peer = this.peer!;
    queueMicrotask(() => peer.receiveFromPeer(message));
  }
  protected notifyPeerClosed(reason: string): void {
    const peer = this.peer!;
    queueMicrotask(() => peer.closeFromRemote(reason === 'closed' ? 'closed by peer' : reason));
  }
  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }
  receiveFromPeer(message: Uint8Array): void {
    this.receive(message);
  }
}

/**
 * Two connected in-memory transports (tests, same-process replicas). Delivery is by microtask, in order, reliable.
 * @throws RangeError if `maxMessageBytes` is below 1,040.
 */
export function createMemoryTransportPair(options: MemoryTransportOptions = {}): [Transport, Transport] {
  const max = options.maxMessageBytes ?? Infinity;
  const a = new MemoryTransport(max);
  const b = new MemoryTransport(max);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
