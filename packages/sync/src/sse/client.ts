/**
 * The client's end of an SSE connection: {@link SseClientTransport} (EventSource down, HTTP POST up) and the relay
 * client helpers: {@link authenticateRelay} (answer the relay's challenge for an access token),
 * {@link openRelayTransport} (authenticate + open a transport) and {@link RelayConnection} (keep a sync node
 * connected, reconnecting with backoff; each new connection re-handshakes from state vectors, see
 * `docs/sync.md`, "Resumable").
 *
 * Invariants:
 * 1. Events are accepted only with ids 0, 1, 2... in order; any other id, undecodable data, or an error of the
 *    event stream (which a browser would answer by silently reconnecting) closes the transport: a new
 *    connection resumes from state vectors instead of trusting a stream that may have missed events.
 * 2. At most one POST is in flight; batches carry the number of their first message, so the relay can drop a
 *    retried prefix and detect a lost batch.
 * 3. Once closed, the EventSource is closed and no listener runs.
 * @packageDocumentation
 */
import { signEd25519, type Keypair } from '@hearth/log';
import { BaseTransport } from '../transport.js';
import type { SyncNode } from '../node.js';
import { RelayError, RelayErrorCode } from './errors.js';
import { SEQ_HEADER, decodeSseMessageDataV1, encodeBatchV1, relayAuthMessageV1, type SseHello } from './binding.js';
import { fromBase64url, toBase64url, toHex } from './base64url.js';
import { FetchEventSource } from './fetch-event-source.js';

/** The parts of the WHATWG `EventSource` the client uses (browsers' global, or npm `eventsource` in Node). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((this: any, event: any) => any) | null;
}
/** A constructor of {@link EventSourceLike}. */
export type EventSourceConstructor = new (url: string) => EventSourceLike;
type FetchLike = typeof fetch;

/** Options of {@link SseClientTransport.open}. Times in ms. */
export interface SseClientOptions {
  /** URL of the event stream (e.g. `http://127.0.0.1:8787/v1/spaces/<space hex>/events`). */
  url: string;
  /** Access token (from {@link authenticateRelay}): `?token=` on the stream, `Authorization: Bearer` on POSTs. */
  token?: string;
  /**
   * The event-stream client. Default {@link FetchEventSource} (an `EventSource` over `fetch`, in browsers and in
   * Node alike): measured in Chromium, a catch-up of 50,000 entries took 1,085-1,111 ms with it against
   * 1,185-1,570 ms with the browser's own `EventSource`, whose events reach the worker later (the worker idled
   * more between batches). The transport never relies on `EventSource`'s automatic reconnection (invariant 1),
   * so nothing is lost by not having it. Pass `globalThis.EventSource` (or the npm `eventsource` class) to use
   * another.
   */
  EventSource?: EventSourceConstructor;
  /** Default `globalThis.fetch`. */
  fetch?: FetchLike;
  /** How long to wait for the hello event. Default 10 s. */
  connectTimeoutMs?: number;
}

function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

/** Turns a non-2xx answer into a RelayError with the body's code when there is one. */
export async function relayErrorFromResponse(res: Response, what: string): Promise<RelayError> {
  let code: string = RelayErrorCode.HTTP;
  let message = `${what}: HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') message = `${what}: ${body.error.message}`;
  } catch {
    /* not JSON: keep HEARTH_RELAY_HTTP */
  }
  return new RelayError(code, message, { status: res.status });
}

/** The client's end of an SSE connection (see the file header). Create with {@link SseClientTransport.open}. */
export class SseClientTransport extends BaseTransport {
  private nextEvent = 0;
  private nextPost = 0;
  private readonly queue: Uint8Array[] = [];
  private posting = false;
  private readonly postUrl: string;

  private constructor(
    private readonly es: EventSourceLike,
    readonly hello: SseHello,
    streamUrl: string,
    private readonly token: string | undefined,
    private readonly fetchFn: FetchLike,
  ) {
    super(hello.maxMessageBytes);
    this.postUrl = new URL(hello.post, streamUrl).toString();
  }

  /** Connection id given by the relay. */
  get connectionId(): string {
    return this.hello.connection;
  }

  /**
   * Opens the event stream and resolves once the relay's hello event arrived.
   * @throws RelayError `HEARTH_RELAY_HTTP` if the stream fails or times out before hello (an EventSource does not
   *   expose the HTTP status; call {@link authenticateRelay} first to get typed access errors).
   * @throws TypeError if no fetch is available, or `options.EventSource` is not a constructor.
   */
  static open(options: SseClientOptions): Promise<SseClientTransport> {
    const ES = options.EventSource ?? FetchEventSource;
    const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof ES !== 'function') throw new TypeError('"options.EventSource" expected an EventSource constructor');
    if (typeof fetchFn !== 'function') throw new TypeError('no fetch: pass options.fetch');
    const es = new ES(withToken(options.url, options.token));
    return new Promise((resolve, reject) => {
      let transport: SseClientTransport | null = null;
      const early: { data?: string; lastEventId?: string }[] = [];
      const timer = setTimeout(() => fail(new RelayError(RelayErrorCode.HTTP, `no hello from ${options.url} within ${options.connectTimeoutMs ?? 10_000} ms`)), options.connectTimeoutMs ?? 10_000);
      const fail = (e: RelayError): void => {
        clearTimeout(timer);
        es.close();
        reject(e);
      };
      es.addEventListener('hello', (ev) => {
        if (transport !== null) return transport.lost('second hello event');
        let hello: SseHello;
        try {
          hello = JSON.parse(ev.data ?? '') as SseHello;
        } catch {
          return fail(new RelayError(RelayErrorCode.HTTP, 'malformed hello event'));
        }
        if (hello?.v !== 1 || typeof hello.connection !== 'string' || typeof hello.post !== 'string' || !(hello.maxMessageBytes >= 1040)) {
          return fail(new RelayError(RelayErrorCode.HTTP, `unsupported hello event ${ev.data}`));
        }
        clearTimeout(timer);
        transport = new SseClientTransport(es, hello, options.url, options.token, fetchFn);
        for (const e of early.splice(0)) transport.event(e);
        resolve(transport);
      });
      es.addEventListener('message', (ev) => {
        if (transport === null) early.push(ev);
        else transport.event(ev);
      });
      es.addEventListener('close', (ev) => {
        let reason = 'closed by relay';
        try {
          reason = String((JSON.parse(ev.data ?? '{}') as { reason?: unknown }).reason ?? reason);
        } catch {
          /* keep the default */
        }
        if (transport === null) fail(new RelayError(RelayErrorCode.HTTP, `relay closed the stream: ${reason}`));
        else transport.lost(reason);
      });
      es.onerror = () => {
        if (transport === null) fail(new RelayError(RelayErrorCode.HTTP, `event stream ${options.url} failed before hello (unauthorized, unknown space, or unreachable)`));
        else transport.lost('event stream lost');
      };
    });
  }

  private event(ev: { data?: string; lastEventId?: string }): void {
    if (this.closed) return;
    const id = Number(ev.lastEventId);
    if (ev.lastEventId === undefined || ev.lastEventId === '' || id !== this.nextEvent) {
      return this.lost(`event id ${ev.lastEventId} where ${this.nextEvent} was expected`);
    }
    const bytes = decodeSseMessageDataV1(ev.data ?? '');
    if (bytes === null || bytes.length === 0 || bytes.length > this.maxMessageBytes) return this.lost(`undecodable event ${id}`);
    this.nextEvent++;
    this.receive(bytes);
  }

  /** The stream broke or the relay closed: closed from the remote side. */
  private lost(reason: string): void {
    this.es.close();
    this.closeFromRemote(reason);
  }

  protected deliver(message: Uint8Array): void {
    this.queue.push(message);
    if (!this.posting) void this.pump();
  }

  private async pump(): Promise<void> {
    this.posting = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const batch: Uint8Array[] = [];
        let bytes = 0;
        while (this.queue.length > 0 && batch.length < this.hello.maxMessagesPerPost && bytes + 4 + this.queue[0].length <= this.hello.maxPostBytes) {
          const m = this.queue.shift()!;
          bytes += 4 + m.length;
          batch.push(m);
        }
        const first = this.nextPost;
        this.nextPost += batch.length;
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream', [SEQ_HEADER]: String(first) };
        if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
        let res: Response;
        try {
          res = await this.fetchFn(this.postUrl, { method: 'POST', headers, body: encodeBatchV1(batch) });
        } catch (e) {
          this.lost(`POST failed: ${(e as Error)?.message ?? e}`);
          return;
        }
        if (!res.ok) {
          const err = await relayErrorFromResponse(res, 'POST');
          this.lost(`${err.code}: ${err.message}`);
          return;
        }
        // Drain the (empty) body without waiting for it: the next POST (carrying the latest ACK) goes out in this
        // task, not in a later one that a receiver busy ingesting would hold back, leaving the relay's window full.
        void res.arrayBuffer().catch(() => undefined);
      }
    } finally {
      this.posting = false;
    }
  }

  protected notifyPeerClosed(): void {
    this.es.close();
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    // best effort: the relay also sees the stream end
    this.fetchFn(this.postUrl, { method: 'DELETE', headers }).then(
      (r) => r.arrayBuffer().catch(() => undefined),
      () => undefined,
    );
  }

  protected schedule(fn: () => void): void {
    queueMicrotask(fn);
  }
}

/** Options of {@link authenticateRelay}. */
export interface RelayAuthOptions {
  /** Base URL of the relay, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** Space id (32 bytes). */
  space: Uint8Array;
  /** The member key proving access (a device keypair admitted to the space). */
  keypair: Keypair;
  fetch?: FetchLike;
  /** Wall clock, ms (tests). Default `Date.now`. */
  now?: () => number;
  /**
   * `admission`: the key is not a member yet and wants one sync connection to send an admission request (an
   * invite) through the relay; the relay serves and stores nothing for it. Default `member`.
   */
  purpose?: 'member' | 'admission';
}

/** What the relay granted. */
export interface RelayGrant {
  /** Access token (opaque). */
  readonly token: string;
  /** When it expires, ms since the epoch. */
  readonly expiresAt: number;
  /** `member`, or `admission` (the relay granted an admission-only connection to a key that is not a member). */
  readonly scope: 'member' | 'admission';
  /** The relay's own feed id in this space (admit it so devices serve it; `docs/relay.md`). */
  readonly relayKey: Uint8Array;
  /** Whether the relay's own key is admitted in the relay's view (false: an admin must still admit `relayKey`). */
  readonly relayAdmitted: boolean;
}

function spaceUrl(base: string, space: Uint8Array, rest: string): string {
  return new URL(`v1/spaces/${toHex(space)}/${rest}`, base.endsWith('/') ? base : `${base}/`).toString();
}

/**
 * Answers the relay's challenge: fetches a nonce, signs `relayAuthMessageV1(space, key, nonce, now)` with the
 * keypair and exchanges it for an access token.
 * @throws RelayError with the relay's code (`HEARTH_RELAY_UNAUTHORIZED`, `HEARTH_NOT_MEMBER`,
 *   `HEARTH_RELAY_LIMIT`, ...) or `HEARTH_RELAY_HTTP` if it cannot be reached.
 */
export async function authenticateRelay(options: RelayAuthOptions): Promise<RelayGrant> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const call = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
    let res: Response;
    try {
      res = await fetchFn(spaceUrl(options.url, options.space, path), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch (e) {
      throw new RelayError(RelayErrorCode.HTTP, `${path}: relay unreachable: ${(e as Error)?.message ?? e}`, { status: 0, cause: e });
    }
    if (!res.ok) throw await relayErrorFromResponse(res, path);
    return (await res.json()) as Record<string, unknown>;
  };
  const challenge = await call('challenge', {});
  const nonce = fromBase64url(String(challenge.nonce));
  if (nonce === null || nonce.length !== 32) throw new RelayError(RelayErrorCode.HTTP, 'challenge: malformed nonce');
  const timestamp = Math.floor((options.now ?? Date.now)());
  const signature = await signEd25519(relayAuthMessageV1(options.space, options.keypair.publicKey, nonce, timestamp), options.keypair.secretKey);
  const grant = await call('auth', { key: toHex(options.keypair.publicKey), nonce: challenge.nonce, timestamp, signature: toBase64url(signature), ...(options.purpose === 'admission' ? { purpose: 'admission' } : {}) });
  const relayKey = typeof grant.relayKey === 'string' && /^[0-9a-f]{64}$/.test(grant.relayKey) ? Uint8Array.from(grant.relayKey.match(/../g)!.map((h) => parseInt(h, 16))) : null;
  if (typeof grant.token !== 'string' || typeof grant.expiresAt !== 'number' || relayKey === null) throw new RelayError(RelayErrorCode.HTTP, 'auth: malformed grant');
  return { token: grant.token, expiresAt: grant.expiresAt, scope: grant.scope === 'admission' ? 'admission' : 'member', relayKey, relayAdmitted: grant.relayAdmitted === true };
}

/** Options of {@link openRelayTransport}. */
export interface OpenRelayOptions extends RelayAuthOptions {
  EventSource?: EventSourceConstructor;
  connectTimeoutMs?: number;
}

/**
 * Authenticates and opens a sync transport to the relay for one space.
 * @throws as {@link authenticateRelay} and {@link SseClientTransport.open}.
 */
export async function openRelayTransport(options: OpenRelayOptions): Promise<{ transport: SseClientTransport; grant: RelayGrant }> {
  const grant = await authenticateRelay(options);
  const transport = await SseClientTransport.open({
    url: spaceUrl(options.url, options.space, 'events'),
    token: grant.token,
    ...(options.EventSource ? { EventSource: options.EventSource } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
    ...(options.connectTimeoutMs !== undefined ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
  });
  return { transport, grant };
}

/** Options of {@link RelayConnection}. Times in ms. */
export interface RelayConnectionOptions extends Omit<OpenRelayOptions, 'space' | 'keypair'> {
  /** The node to keep connected (its space and keypair are used). */
  node: SyncNode;
  /** First retry delay. Default 500 ms; doubles up to `maxBackoffMs` (default 30 s), with jitter. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Told of every failed attempt or lost connection. */
  onError?: (error: unknown) => void;
}

/**
 * Keeps a sync node connected to a relay: connects, and after any close or failure waits (exponential backoff
 * with jitter) and connects again. Each connection is a new session that re-handshakes from state vectors, so
 * nothing is lost or sent twice across reconnects (`docs/sync.md`).
 */
export class RelayConnection {
  private stopped = true;
  private current: SseClientTransport | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  /** Connections opened so far. */
  connects = 0;

  constructor(private readonly options: RelayConnectionOptions) {}

  /** Whether a connection is open now. */
  get connected(): boolean {
    return this.current !== null && !this.current.closed;
  }

  /** Starts connecting (idempotent). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.attempt();
  }

  /** Stops and closes the current connection. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.current?.close('stopped');
    this.current = null;
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      const { transport } = await openRelayTransport({ ...this.options, space: this.options.node.space, keypair: this.options.node.keypair });
      if (this.stopped) {
        transport.close('stopped');
        return;
      }
      this.current = transport;
      this.connects++;
      this.failures = 0;
      transport.onClose((info) => {
        if (this.current === transport) this.current = null;
        this.options.onError?.(new RelayError(RelayErrorCode.HTTP, `connection closed: ${info.reason}`));
        this.retry();
      });
      this.options.node.connect(transport);
    } catch (e) {
      this.options.onError?.(e);
      this.retry();
    }
  }

  private retry(): void {
    if (this.stopped || this.timer !== null) return;
    const min = this.options.minBackoffMs ?? 500;
    const max = this.options.maxBackoffMs ?? 30_000;
    const delay = Math.min(max, min * 2 ** Math.min(this.failures++, 16)) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.attempt();
    }, delay);
  }
}
