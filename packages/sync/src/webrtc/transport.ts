/**
 * {@link WebRtcTransport}: a sync {@link Transport} over one WebRTC data channel (a simple-peer instance). Runs
 * where `RTCPeerConnection` exists, i.e. a page's main thread; a worker's SyncNode reaches it through
 * `bridgeTransportToPort` / `transportFromPort` (`port.ts`).
 *
 * Invariants:
 * 1. **One sync message = one data channel message.** `send(m)` hands `m` (a private copy) to `RTCDataChannel.send`
 *    as one message; each `data` event is one received message. SCTP on an ordered, reliable channel (simple-peer's
 *    default) keeps whole messages, order and reliability (transport.ts invariants 1-2).
 * 2. **Sends before the channel opens, or while its buffer is full, wait in a local FIFO** (`queue`), which is
 *    drained in order; nothing skips the queue, so order holds. A message goes to the channel only while
 *    `channel.bufferedAmount + its length <= highWaterBytes`; the queue drains on `bufferedamountlow` (and on a
 *    poll, as a fallback), so the browser's channel buffer never overflows (Chromium closes a channel whose buffer
 *    exceeds 16 MiB). The sync session's window (1 MiB by default) bounds what is queued.
 * 3. **Close is final.** The peer's `close` or `error` (channel closed by the other end, ICE failure, a failed
 *    `send`) closes the transport once, as remote; `close()` destroys the peer, which closes the channel, which
 *    the other end sees as its `close`. A channel whose ICE state stays `disconnected` for `disconnectedTimeoutMs`
 *    is closed as failed (Chromium takes ~30 s to declare ICE `failed` on its own).
 * 4. **Delivery is asynchronous.** Data channel events are tasks; listeners never run inside `send`.
 *
 * @packageDocumentation
 */
import type SimplePeer from 'simple-peer/simplepeer.min.js';
import { BaseTransport } from '../transport.js';

/** What {@link WebRtcTransport} needs of a simple-peer instance (tests substitute fakes). */
export type PeerLike = Pick<SimplePeer, 'connected' | 'destroyed' | 'bufferSize' | '_channel' | 'send' | 'destroy' | 'on'>;

/** Largest message on a WebRTC transport, bytes: 16 KiB, the size every browser's SCTP stack delivers whole. */
export const WEBRTC_MAX_MESSAGE_BYTES = 16 * 1024;

/** Options of {@link WebRtcTransport}. */
export interface WebRtcTransportOptions {
  /** Most bytes left in the data channel's own buffer before sends wait locally. Default 1 MiB. */
  highWaterBytes?: number;
  /** Close the transport if ICE stays `disconnected` this long, ms. Default 15,000. */
  disconnectedTimeoutMs?: number;
  /** Largest message, bytes (default and maximum {@link WEBRTC_MAX_MESSAGE_BYTES}; at least 1,040). */
  maxMessageBytes?: number;
}

/**
 * A {@link Transport} over a simple-peer data channel. Usually made by `WebRtcConnector`; construct it directly
 * right after creating the peer (before it connects: sends wait until the channel opens).
 *
 * `bufferedAmount` = bytes waiting in the local queue + the data channel's `bufferedAmount`.
 */
export class WebRtcTransport extends BaseTransport {
  private readonly queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private readonly highWater: number;
  private readonly disconnectedTimeoutMs: number;
  private disconnectedTimer: ReturnType<typeof setTimeout> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private lowListenerOn: RTCDataChannel | null = null;

  /**
   * @param peer a simple-peer instance (connected or not yet), used by this transport alone from now on.
   * @throws RangeError if `maxMessageBytes` is outside [1,040, 16,384] or `highWaterBytes` < `maxMessageBytes`.
   */
  constructor(
    readonly peer: PeerLike,
    options: WebRtcTransportOptions = {},
  ) {
    const max = options.maxMessageBytes ?? WEBRTC_MAX_MESSAGE_BYTES;
    if (max > WEBRTC_MAX_MESSAGE_BYTES) throw new RangeError(`"maxMessageBytes" expected <= ${WEBRTC_MAX_MESSAGE_BYTES}, got ${max}`);
    super(max);
    this.highWater = options.highWaterBytes ?? 1024 * 1024;
    if (!(this.highWater >= max)) throw new RangeError(`"highWaterBytes" expected >= maxMessageBytes (${max}), got ${this.highWater}`);
    this.disconnectedTimeoutMs = options.disconnectedTimeoutMs ?? 15_000;
    if (!(this.disconnectedTimeoutMs > 0)) throw new RangeError(`"disconnectedTimeoutMs" expected > 0, got ${this.disconnectedTimeoutMs}`);

    // the listeners stay for the peer's lifetime: simple-peer emits 'error'/'close' after destroy(), and an
    // 'error' without a listener would throw; once closed they do nothing
    const on = <A extends unknown[]>(event: string, fn: (...args: A) => void): void => {
      (peer.on as (e: string, f: (...args: A) => void) => unknown)(event, fn);
    };
    on('data', (data: Uint8Array) => {
      // simple-peer hands a Buffer (its bundled shim) over the received ArrayBuffer: give listeners a plain view
      this.receive(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    });
    on('connect', () => this.flush());
    on('error', (e: Error & { code?: string }) => this.fail(e.code ? `${e.code}: ${e.message}` : e.message));
    on('close', () => this.fail('closed by peer'));
    on('iceStateChange', (state: string) => this.iceState(state));
    if (peer.destroyed) this.fail('peer already destroyed');
  }

  get bufferedAmount(): number {
    return this.queuedBytes + (this.closed ? 0 : this.peer.bufferSize);
  }

  protected deliver(message: Uint8Array): void {
    this.queue.push(message);
    this.queuedBytes += message.length;
    this.flush();
  }

  protected notifyPeerClosed(): void {
    this.teardown();
    this.peer.destroy();
  }

  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }

  /** Moves queued messages into the channel while its buffer allows (invariant 2). */
  private flush(): void {
    if (this.closed || !this.peer.connected) return;
    const channel = this.peer._channel;
    while (this.queue.length > 0) {
      const m = this.queue[0];
      if (this.peer.bufferSize + m.length > this.highWater && this.peer.bufferSize > 0) break;
      this.queue.shift();
      this.queuedBytes -= m.length;
      try {
        this.peer.send(m);
      } catch (e) {
        this.fail(`send failed: ${(e as Error).message}`);
        return;
      }
    }
    if (this.queue.length > 0) this.waitForRoom(channel);
  }

  private waitForRoom(channel: RTCDataChannel | null): void {
    if (channel && this.lowListenerOn !== channel && typeof channel.addEventListener === 'function') {
      this.lowListenerOn = channel;
      channel.addEventListener('bufferedamountlow', () => this.flush());
    }
    // fallback (and guard against a missed event): poll while something waits
    if (this.pollTimer === null) {
      this.pollTimer = setTimeout(() => {
        this.pollTimer = null;
        this.flush();
      }, 20);
    }
  }

  private iceState(state: string): void {
    if (state === 'disconnected') {
      if (this.disconnectedTimer === null) {
        this.disconnectedTimer = setTimeout(() => this.fail(`ICE disconnected for ${this.disconnectedTimeoutMs} ms`), this.disconnectedTimeoutMs);
      }
    } else if (this.disconnectedTimer !== null) {
      clearTimeout(this.disconnectedTimer);
      this.disconnectedTimer = null;
    }
  }

  /** The peer or the network closed the connection (invariant 3). */
  private fail(reason: string): void {
    if (this.closed) return;
    this.closeFromRemote(reason);
    this.teardown();
    this.peer.destroy();
  }

  private teardown(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    if (this.pollTimer !== null) clearTimeout(this.pollTimer);
    if (this.disconnectedTimer !== null) clearTimeout(this.disconnectedTimer);
    this.pollTimer = this.disconnectedTimer = null;
  }
}
