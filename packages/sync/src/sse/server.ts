/**
 * The relay's end of SSE connections, independent of any HTTP framework: {@link SseHub} creates a
 * {@link SseServerTransport} per event stream and routes POSTed batches to it. The relay (`apps/relay`) and the
 * tests' plain `node:http` server adapt requests to it.
 *
 * Invariants:
 * 1. Messages leave in `send` order as events with ids 0, 1, 2... on one stream; nothing is written after the
 *    `close` event or after the stream ended.
 * 2. POSTed messages reach the listeners in the client's order: a batch whose first number is below the next
 *    expected is a retry (its already-received prefix is skipped); one above it means a batch was lost, and the
 *    connection closes (transport rule 2: close rather than deliver with a gap).
 * 3. A connection is in the hub's table from `open` until its transport closes (by either end or the stream).
 * @packageDocumentation
 */
import { BaseTransport } from '../transport.js';
import { RelayError, RelayErrorCode } from './errors.js';
import {
  DEFAULT_MAX_MESSAGES_PER_POST,
  DEFAULT_MAX_POST_BYTES,
  DEFAULT_SSE_MAX_MESSAGE_BYTES,
  SSE_BINDING_VERSION,
  SSE_HEARTBEAT_MS,
  decodeBatchV1,
  encodeSseJsonEvent,
  encodeSseMessageEventV1,
  type SseHello,
} from './binding.js';
import { toHex } from './base64url.js';

/** Where a server transport writes its event stream (an HTTP response). */
export interface SseSink {
  /** Writes text to the stream (UTF-8). */
  write(text: string): void;
  /** Ends the stream. Called once. */
  end(): void;
}

/** Options of {@link SseHub}. Sizes in bytes, times in ms. */
export interface SseHubOptions {
  /** Largest message either way. Default 1 MiB; at least 1,040. */
  maxMessageBytes?: number;
  /** Most messages per POST. Default 256. */
  maxMessagesPerPost?: number;
  /** Largest POST body. Default 4 MiB + 4 KiB. */
  maxPostBytes?: number;
  /** Heartbeat comment interval (0: none). Default 15 s. */
  heartbeatMs?: number;
  /** Random bytes for connection ids. Default `crypto.getRandomValues`. */
  randomBytes?: (n: number) => Uint8Array;
}

/** What {@link SseHub.post} did. */
export interface SsePostResult {
  /** Messages delivered. */
  readonly accepted: number;
  /** Messages of a retried batch already delivered, skipped. */
  readonly duplicates: number;
}

/** The relay's end of one SSE connection (see the file header). */
export class SseServerTransport<Meta = unknown> extends BaseTransport {
  private nextOut = 0;
  private nextIn = 0;
  private ended = false;
  /** Bytes written to the stream (event text) and received by POST. */
  bytesOut = 0;
  bytesIn = 0;

  constructor(
    /** Connection id, 32 hex digits. */
    readonly id: string,
    maxMessageBytes: number,
    private readonly sink: SseSink,
    /** What the embedding server attached (e.g. the authenticated key and space). */
    readonly meta: Meta,
  ) {
    super(maxMessageBytes);
  }

  /** Writes text to the stream unless it ended. */
  write(text: string): void {
    if (this.ended) return;
    this.bytesOut += text.length;
    this.sink.write(text);
  }

  protected deliver(message: Uint8Array): void {
    this.write(encodeSseMessageEventV1(this.nextOut++, message));
  }

  protected notifyPeerClosed(reason: string): void {
    this.write(encodeSseJsonEvent('close', { reason }));
    this.endStream();
  }

  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }

  private endStream(): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.end();
  }

  /** Number the next POSTed message must carry. */
  get expectedSeq(): number {
    return this.nextIn;
  }

  /**
   * Delivers a POSTed batch whose first message is number `first`.
   * @throws RelayError `HEARTH_RELAY_BAD_REQUEST` for a gap (the connection is closed: a batch was lost).
   */
  acceptBatch(first: number, messages: readonly Uint8Array[]): SsePostResult {
    if (first > this.nextIn) {
      this.peerClosed(`message ${this.nextIn} never arrived (batch starts at ${first})`);
      throw new RelayError(RelayErrorCode.BAD_REQUEST, `batch starts at message ${first}, expected ${this.nextIn}: connection closed`);
    }
    const skip = Math.min(this.nextIn - first, messages.length);
    for (let i = skip; i < messages.length; i++) {
      this.bytesIn += messages[i].length;
      this.receive(messages[i]);
    }
    this.nextIn = first + messages.length > this.nextIn ? first + messages.length : this.nextIn;
    return { accepted: messages.length - skip, duplicates: skip };
  }

  /** The client closed the connection (DELETE) or a POST broke it: close here and end the stream. */
  peerClosed(reason = 'closed by peer'): void {
    this.closeFromRemote(reason);
    this.endStream();
  }

  /** The HTTP response ended (client went away): the connection is closed. */
  streamEnded(): void {
    this.ended = true;
    this.closeFromRemote('event stream closed');
  }
}

/**
 * The table of open SSE connections of one server (see the file header).
 *
 * @example
 * ```ts
 * const hub = new SseHub();
 * // GET events:  const t = hub.open(sink, meta, (id) => `connections/${id}`); t.onClose(...); node.connect(t);
 * // POST:        hub.post(id, Number(req.headers['hearth-seq']), body);
 * // DELETE:      hub.get(id)?.peerClosed();
 * ```
 */
export class SseHub<Meta = unknown> {
  readonly maxMessageBytes: number;
  readonly maxMessagesPerPost: number;
  readonly maxPostBytes: number;
  private readonly table = new Map<string, SseServerTransport<Meta>>();
  private readonly random: (n: number) => Uint8Array;
  private readonly heartbeat: ReturnType<typeof setInterval> | null;

  /** @throws RangeError for sizes out of range. */
  constructor(options: SseHubOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_SSE_MAX_MESSAGE_BYTES;
    this.maxMessagesPerPost = options.maxMessagesPerPost ?? DEFAULT_MAX_MESSAGES_PER_POST;
    this.maxPostBytes = options.maxPostBytes ?? DEFAULT_MAX_POST_BYTES;
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 1040) throw new RangeError(`"maxMessageBytes" expected an integer >= 1040, got ${this.maxMessageBytes}`);
    if (!Number.isInteger(this.maxMessagesPerPost) || this.maxMessagesPerPost < 1) throw new RangeError('"maxMessagesPerPost" expected a positive integer');
    if (!Number.isInteger(this.maxPostBytes) || this.maxPostBytes < this.maxMessageBytes + 4) throw new RangeError('"maxPostBytes" expected an integer >= maxMessageBytes + 4');
    this.random = options.randomBytes ?? ((n) => crypto.getRandomValues(new Uint8Array(n)));
    const every = options.heartbeatMs ?? SSE_HEARTBEAT_MS;
    if (every > 0) {
      this.heartbeat = setInterval(() => {
        for (const t of this.table.values()) t.write(': ping\n\n');
      }, every);
      (this.heartbeat as { unref?: () => void }).unref?.();
    } else this.heartbeat = null;
  }

  /** Open connections. */
  get size(): number {
    return this.table.size;
  }

  /** Every open connection. */
  connections(): IterableIterator<SseServerTransport<Meta>> {
    return this.table.values();
  }

  /**
   * Opens a connection on a new event stream: writes the hello event (with `postPath(id)` as the POST URL,
   * relative to the stream's URL) and returns the transport. The caller must call `streamEnded()` when the HTTP
   * response closes.
   */
  open(sink: SseSink, meta: Meta, postPath: (id: string) => string): SseServerTransport<Meta> {
    const id = toHex(this.random(16));
    const t = new SseServerTransport<Meta>(id, this.maxMessageBytes, sink, meta);
    this.table.set(id, t);
    t.onClose(() => this.table.delete(id));
    const hello: SseHello = {
      v: SSE_BINDING_VERSION,
      connection: id,
      maxMessageBytes: this.maxMessageBytes,
      maxMessagesPerPost: this.maxMessagesPerPost,
      maxPostBytes: this.maxPostBytes,
      post: postPath(id),
    };
    // retry: tells a browser EventSource not to hammer the server; the client closes it on error anyway
    t.write(`retry: 5000\n${encodeSseJsonEvent('hello', hello)}`);
    return t;
  }

  /** The open connection with this id. */
  get(id: string): SseServerTransport<Meta> | undefined {
    return this.table.get(id);
  }

  /**
   * Delivers a POSTed batch to connection `id`.
   * @throws RelayError `HEARTH_RELAY_NOT_FOUND` (no such open connection), `HEARTH_RELAY_BAD_REQUEST` (bad
   *   `Hearth-Seq`, malformed batch, gap), `HEARTH_RELAY_TOO_LARGE` (body, message or count over the limits).
   */
  post(id: string, first: number, body: Uint8Array): SsePostResult {
    const t = this.table.get(id);
    if (t === undefined || t.closed) throw new RelayError(RelayErrorCode.NOT_FOUND, `no open connection ${id.slice(0, 32)}`);
    if (!Number.isSafeInteger(first) || first < 0) throw new RelayError(RelayErrorCode.BAD_REQUEST, 'missing or malformed Hearth-Seq header');
    if (body.length > this.maxPostBytes) throw new RelayError(RelayErrorCode.TOO_LARGE, `body of ${body.length} bytes exceeds ${this.maxPostBytes}`);
    const messages = decodeBatchV1(body, this.maxMessageBytes, this.maxMessagesPerPost);
    return t.acceptBatch(first, messages);
  }

  /** Closes every connection (shutdown), with `event: close` to each client. */
  closeAll(reason = 'server shutting down'): void {
    for (const t of [...this.table.values()]) t.close(reason);
  }

  /** Stops the heartbeat and closes every connection. */
  dispose(reason?: string): void {
    if (this.heartbeat !== null) clearInterval(this.heartbeat);
    this.closeAll(reason);
  }
}
