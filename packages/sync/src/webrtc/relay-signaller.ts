/**
 * {@link RelaySignaller}: WebRTC signalling through a Hearth relay (`apps/relay`, routes in `docs/relay.md`), so
 * two devices of a space on different machines can set up a direct data channel; once open, the channel no longer
 * needs the relay (connector invariant 3).
 *
 * Relay routes used (all need a token from `authenticateRelay`, i.e. a key that is a current member of the space):
 * - `GET /v1/spaces/<space hex>/signal?token=...`: an event stream. Event `ready` `{"key": "<our key hex>"}`
 *   first, then one event `signal` `{"from": "<sender key hex>", "data": <JSON>}` per signal addressed to us.
 * - `POST /v1/spaces/<space hex>/signal` with `Authorization: Bearer <token>` and `{"to": "<key hex>", "data":
 *   <JSON>}` (at most 64 KiB): 204, or an error (`HEARTH_RELAY_NOT_FOUND` if the recipient has no stream open,
 *   `HEARTH_NOT_MEMBER` if it is not a member).
 * - `GET /v1/spaces/<space hex>/peers`: `{"peers": ["<key hex>", ...]}`, members with a signalling stream open.
 *
 * `data` on the relay is `{"c": <connection id>, "s": <simple-peer signal>}`. Peer ids are device keys in lowercase
 * hex (the relay authenticates `from`).
 *
 * Invariants:
 * 1. Signals are delivered only after `ready` (the stream is registered on the relay before `open` resolves), so a
 *    peer told about us via `peers()` can reach us.
 * 2. The stream does not resume: if it breaks (relay stopped, token expired), the signaller closes itself
 *    (`onClose` listeners run once) and later `send`s reject; connections already open are unaffected. Open a new
 *    signaller (with a fresh token) to accept new connections.
 * @packageDocumentation
 */
import type { Keypair } from '@hearth/log';
import { SyncError, SyncErrorCode } from '../errors.js';
import { RelayError, RelayErrorCode } from '../sse/errors.js';
import { authenticateRelay, relayErrorFromResponse, type EventSourceConstructor, type EventSourceLike } from '../sse/client.js';
import { toHex } from '../sse/base64url.js';
import { checkSignalId, SignalListeners, type SignalData, type SignalEnvelope, type Signaller } from './signaller.js';

/** Options of {@link RelaySignaller.open}. Times in ms. */
export interface RelaySignallerOptions {
  /** Base URL of the relay, e.g. `https://relay.example` or `http://127.0.0.1:8787`. */
  url: string;
  /** Space id (32 bytes). */
  space: Uint8Array;
  /** A token from `authenticateRelay` for this space, or the keypair to obtain one with. */
  token?: string;
  keypair?: Keypair;
  /** Default `globalThis.EventSource` (Node 20 has none: pass `FetchEventSource` from `@hearth/sync`). */
  EventSource?: EventSourceConstructor;
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** How long to wait for the stream's `ready`. Default 10,000. */
  connectTimeoutMs?: number;
}

function spaceUrl(base: string, space: Uint8Array, rest: string): string {
  return new URL(`v1/spaces/${toHex(space)}/${rest}`, base.endsWith('/') ? base : `${base}/`).toString();
}

/** A {@link Signaller} over a relay's signalling routes (see the file header). */
export class RelaySignaller implements Signaller {
  private readonly listeners = new SignalListeners();
  private readonly closeListeners: ((reason: string) => void)[] = [];
  private isClosed = false;
  /** Signal events that were not valid (a relay bug or a different relay version). */
  malformed = 0;

  private constructor(
    readonly peerId: string,
    private readonly source: EventSourceLike,
    private readonly base: string,
    private readonly space: Uint8Array,
    private readonly token: string,
    private readonly fetchFn: typeof fetch,
  ) {}

  /**
   * Authenticates (if given a keypair) and opens the signalling stream; resolves once the relay has registered it.
   * @throws TypeError if neither `token` nor `keypair` is given.
   * @throws (rejects with) RelayError from authentication (`HEARTH_RELAY_UNAUTHORIZED`, `HEARTH_NOT_MEMBER`, ...),
   *   or `HEARTH_RELAY_HTTP` if the stream cannot be opened within `connectTimeoutMs`.
   */
  static async open(options: RelaySignallerOptions): Promise<RelaySignaller> {
    if (typeof options?.url !== 'string') throw new TypeError('"url" expected a string');
    if (!(options.space instanceof Uint8Array) || options.space.length !== 32) throw new TypeError('"space" expected 32 bytes');
    const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    let token = options.token;
    if (token === undefined) {
      if (!options.keypair) throw new TypeError('RelaySignaller.open needs "token" or "keypair"');
      token = (await authenticateRelay({ url: options.url, space: options.space, keypair: options.keypair, fetch: fetchFn })).token;
    }
    const ES = options.EventSource ?? (globalThis as unknown as { EventSource?: EventSourceConstructor }).EventSource;
    if (!ES) throw new TypeError('no EventSource: pass "EventSource" (Node 20: FetchEventSource from @hearth/sync)');
    const url = new URL(spaceUrl(options.url, options.space, 'signal'));
    url.searchParams.set('token', token);
    const source = new ES(url.toString());
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const tok = token;
    return new Promise<RelaySignaller>((resolve, reject) => {
      let signaller: RelaySignaller | null = null;
      const timer = setTimeout(() => {
        source.close();
        reject(new RelayError(RelayErrorCode.HTTP, `signalling stream not ready within ${timeoutMs} ms`, { status: 0 }));
      }, timeoutMs);
      source.addEventListener('ready', (e: MessageEvent) => {
        if (signaller !== null) return;
        let key: unknown;
        try {
          key = (JSON.parse(String(e.data)) as { key?: unknown }).key;
        } catch {
          key = undefined;
        }
        clearTimeout(timer);
        if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key)) {
          source.close();
          reject(new RelayError(RelayErrorCode.HTTP, 'signalling stream: malformed ready event', { status: 0 }));
          return;
        }
        signaller = new RelaySignaller(key, source, options.url, options.space, tok, fetchFn);
        resolve(signaller);
      });
      source.addEventListener('signal', (e: MessageEvent) => signaller?.onEvent(String(e.data)));
      source.onerror = () => {
        // EventSource retries on its own; the relay's stream does not resume (invariant 2): end it here
        if (signaller === null) {
          clearTimeout(timer);
          source.close();
          reject(new RelayError(RelayErrorCode.HTTP, 'signalling stream failed to open', { status: 0 }));
        } else signaller.shut('signalling stream broke');
      };
    });
  }

  private onEvent(text: string): void {
    if (this.isClosed) return;
    let v: { from?: unknown; data?: { c?: unknown; s?: unknown } } | null;
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      v = null;
    }
    const from = v?.from;
    const c = v?.data?.c;
    const s = v?.data?.s;
    if (typeof from !== 'string' || typeof c !== 'string' || typeof s !== 'object' || s === null || Array.isArray(s)) {
      this.malformed++;
      return;
    }
    try {
      checkSignalId(from, 'from');
      checkSignalId(c, 'connection');
    } catch {
      this.malformed++;
      return;
    }
    const envelope: SignalEnvelope = { from, connection: c, data: s as SignalData };
    this.listeners.emit(envelope);
  }

  /** Whether the signaller is closed (by `close()` or a broken stream). */
  get closed(): boolean {
    return this.isClosed;
  }

  /**
   * POSTs one signal to `to` through the relay.
   * @throws TypeError for malformed ids.
   * @throws (rejects with) SyncError `HEARTH_TRANSPORT_CLOSED` if this signaller is closed; RelayError with the
   *   relay's code (`HEARTH_RELAY_NOT_FOUND`: `to` has no signalling stream; `HEARTH_NOT_MEMBER`; ...) or
   *   `HEARTH_RELAY_HTTP` if the relay cannot be reached.
   */
  async send(to: string, connection: string, data: SignalData): Promise<void> {
    checkSignalId(to, 'to');
    checkSignalId(connection, 'connection');
    if (this.isClosed) throw new SyncError(SyncErrorCode.TRANSPORT_CLOSED, 'relay signaller is closed');
    let res: Response;
    try {
      res = await this.fetchFn(spaceUrl(this.base, this.space, 'signal'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify({ to, data: { c: connection, s: data } }),
      });
    } catch (e) {
      throw new RelayError(RelayErrorCode.HTTP, `signal: relay unreachable: ${(e as Error)?.message ?? e}`, { status: 0, cause: e });
    }
    if (!res.ok) throw await relayErrorFromResponse(res, 'signal');
  }

  /**
   * Keys (hex) of the space's members with a signalling stream open on the relay, this one excluded.
   * @throws (rejects with) RelayError as {@link send}.
   */
  async peers(): Promise<string[]> {
    let res: Response;
    try {
      res = await this.fetchFn(spaceUrl(this.base, this.space, 'peers'), { headers: { authorization: `Bearer ${this.token}` } });
    } catch (e) {
      throw new RelayError(RelayErrorCode.HTTP, `peers: relay unreachable: ${(e as Error)?.message ?? e}`, { status: 0, cause: e });
    }
    if (!res.ok) throw await relayErrorFromResponse(res, 'peers');
    const body = (await res.json()) as { peers?: unknown };
    if (!Array.isArray(body?.peers) || !body.peers.every((p) => typeof p === 'string')) throw new RelayError(RelayErrorCode.HTTP, 'peers: malformed answer', { status: res.status });
    return body.peers as string[];
  }

  onSignal(listener: (s: SignalEnvelope) => void): () => void {
    return this.listeners.add(listener);
  }

  /** Runs `listener(reason)` once when the signaller closes (here or because the stream broke). */
  onClose(listener: (reason: string) => void): void {
    if (this.isClosed) queueMicrotask(() => listener('closed'));
    else this.closeListeners.push(listener);
  }

  close(): void {
    this.shut('closed');
  }

  private shut(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.source.close();
    this.listeners.clear();
    for (const l of this.closeListeners.splice(0)) l(reason);
  }
}

/** A device key as a signalling peer id (lowercase hex). */
export function peerIdOf(key: Uint8Array): string {
  return toHex(key);
}
