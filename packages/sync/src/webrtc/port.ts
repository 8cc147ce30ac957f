/**
 * Carrying a {@link Transport} across a `MessagePort`: the page's main thread owns the real connection (WebRTC
 * exists only there) and the database worker's `SyncNode` needs a Transport. {@link bridgeTransportToPort} runs
 * where the real transport is; {@link transportFromPort} gives the other side of the port a Transport with the same
 * behaviour (it passes the compliance suite). Generic: any Transport can be bridged, not only WebRTC.
 *
 * Port messages (structured clone; `Uint8Array`s are transferred, not copied, when they own their buffer):
 * | from   | message                              | meaning |
 * | bridge | `{ t: 'open', max }`                 | first message: the real transport's `maxMessageBytes` |
 * | both   | `{ t: 'm', d: Uint8Array }`          | one transport message |
 * | bridge | `{ t: 'a', n, buffered }`            | `n` bytes of the port side's sends were handed to the real transport, whose `bufferedAmount` is now `buffered` |
 * | both   | `{ t: 'c', reason }`                 | this side closed (or the real transport did); the port is closed after it |
 *
 * Invariants:
 * 1. A MessagePort delivers in order, reliably, while both sides live; so messages keep order end to end.
 * 2. `open` precedes every other bridge message; `transportFromPort` resolves on it, so `maxMessageBytes` is known.
 * 3. Close travels once each way at most and is final on both sides: after `c` nothing more is posted.
 * 4. The port side's `bufferedAmount` = bytes posted and not yet acknowledged + the real transport's last reported
 *    `bufferedAmount`, so a worker-side session can see a slow link.
 * @packageDocumentation
 */
import { BaseTransport, type Transport } from '../transport.js';
import { SyncError, SyncErrorCode } from '../errors.js';

/** What the bridge needs of a port (a `MessagePort`, or Node's `worker_threads` one in tests). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
  start?(): void;
  close(): void;
}

type PortMessage =
  | { t: 'open'; max: number }
  | { t: 'm'; d: Uint8Array }
  | { t: 'a'; n: number; buffered: number }
  | { t: 'c'; reason: string };

function post(port: PortLike, m: PortMessage): void {
  if (m.t === 'm' && m.d.byteOffset === 0 && m.d.byteLength === m.d.buffer.byteLength && m.d.buffer instanceof ArrayBuffer) {
    port.postMessage(m, [m.d.buffer]);
  } else port.postMessage(m);
}

function asMessage(data: unknown): PortMessage | null {
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  switch (m.t) {
    case 'open':
      return typeof m.max === 'number' && m.max >= 1040 ? (m as PortMessage) : null;
    case 'm':
      return m.d instanceof Uint8Array ? (m as PortMessage) : null;
    case 'a':
      return typeof m.n === 'number' && typeof m.buffered === 'number' ? (m as PortMessage) : null;
    case 'c':
      return typeof m.reason === 'string' ? (m as PortMessage) : null;
    default:
      return null;
  }
}

/**
 * Connects `transport` to `port`: its messages go out on the port, the port's messages are sent on it, a close on
 * either side closes the other. Call on the side that owns the real connection (the leader tab, for WebRTC).
 * A malformed port message closes both (reason `malformed port message`).
 * @returns a function that closes the bridge (and the transport).
 * @throws TypeError if `transport` or `port` is missing.
 */
export function bridgeTransportToPort(transport: Transport, port: PortLike): () => void {
  if (!transport || typeof transport.send !== 'function') throw new TypeError('"transport" expected a Transport');
  if (!port || typeof port.postMessage !== 'function') throw new TypeError('"port" expected a MessagePort');
  let done = false;
  let acked = 0;
  let ackScheduled = false;
  const finish = (reason: string, tellPort: boolean): void => {
    if (done) return;
    done = true;
    offMessage();
    offClose();
    if (tellPort) post(port, { t: 'c', reason });
    port.close();
    transport.close(reason);
  };
  post(port, { t: 'open', max: transport.maxMessageBytes });
  const offMessage = transport.onMessage((d) => {
    if (!done) post(port, { t: 'm', d });
  });
  const offClose = transport.onClose((info) => finish(info.reason, true));
  port.addEventListener('message', (e: MessageEvent) => {
    if (done) return;
    const m = asMessage(e.data);
    if (m === null || (m.t !== 'm' && m.t !== 'c')) {
      finish('malformed port message', true);
      return;
    }
    if (m.t === 'c') {
      finish(m.reason, false);
      return;
    }
    try {
      transport.send(m.d);
    } catch (err) {
      finish(`send failed: ${(err as Error).message}`, true);
      return;
    }
    acked += m.d.length;
    if (!ackScheduled) {
      ackScheduled = true;
      queueMicrotask(() => {
        ackScheduled = false;
        if (done) return;
        post(port, { t: 'a', n: acked, buffered: transport.bufferedAmount ?? 0 });
        acked = 0;
      });
    }
  });
  port.start?.();
  return () => finish('closed', true);
}

class PortTransport extends BaseTransport {
  private unacked = 0;
  private remoteBuffered = 0;
  constructor(
    max: number,
    private readonly port: PortLike,
  ) {
    super(max);
  }
  get bufferedAmount(): number {
    return this.closed ? 0 : this.unacked + this.remoteBuffered;
  }
  protected deliver(message: Uint8Array): void {
    this.unacked += message.length;
    post(this.port, { t: 'm', d: message });
  }
  protected notifyPeerClosed(reason: string): void {
    post(this.port, { t: 'c', reason });
    this.port.close();
  }
  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }
  handle(m: PortMessage): void {
    if (this.closed) return;
    if (m.t === 'm') this.receive(m.d);
    else if (m.t === 'a') {
      this.unacked = Math.max(0, this.unacked - m.n);
      this.remoteBuffered = m.buffered;
    } else if (m.t === 'c') {
      this.closeFromRemote(m.reason === 'closed' ? 'closed by peer' : m.reason);
      this.port.close();
    } else this.fail('duplicate open');
  }
  fail(reason: string): void {
    if (this.closed) return;
    this.closeFromRemote(reason);
    post(this.port, { t: 'c', reason });
    this.port.close();
  }
}

/**
 * The Transport at the far end of a port whose other end was given to {@link bridgeTransportToPort} (typically in
 * the database worker: `node.connect(await transportFromPort(port))`). Resolves once the bridge's `open` arrives.
 * A malformed port message closes the transport (reason `malformed port message`).
 * @throws TypeError if `port` is missing.
 * @throws (rejects with) SyncError `HEARTH_TRANSPORT_CLOSED` if the bridge closes before `open`, or
 *   `HEARTH_SYNC_PROTOCOL` if its first message is not `open`.
 */
export function transportFromPort(port: PortLike): Promise<Transport> {
  if (!port || typeof port.postMessage !== 'function') throw new TypeError('"port" expected a MessagePort');
  return new Promise((resolve, reject) => {
    let transport: PortTransport | null = null;
    port.addEventListener('message', (e: MessageEvent) => {
      const m = asMessage(e.data);
      if (transport !== null) {
        if (m === null) transport.fail('malformed port message');
        else transport.handle(m);
        return;
      }
      if (m?.t === 'open') {
        transport = new PortTransport(m.max, port);
        resolve(transport);
      } else if (m?.t === 'c') {
        port.close();
        reject(new SyncError(SyncErrorCode.TRANSPORT_CLOSED, `bridged transport closed before it opened (${m.reason})`));
      } else {
        port.close();
        reject(new SyncError(SyncErrorCode.PROTOCOL, 'first port message is not "open"'));
      }
    });
    port.start?.();
  });
}
