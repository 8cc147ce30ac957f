/**
 * The SSE binding of the sync protocol: constants and the text/byte encodings it adds on top of frames.
 * Spec: `docs/formats/sync-protocol.md`, section "SSE binding". Do not change released values.
 *
 * Down (relay → client): one `text/event-stream` per connection. The first event is `event: hello` with a JSON
 * body naming the connection; then each transport message is one event `id: <n>` / `data: <base64url>` with n =
 * 0, 1, 2... on that connection; `event: close` ends it. Up (client → relay): `POST` of a batch of messages
 * (`encodeBatchV1`) with the number of its first message in the `Hearth-Seq` header.
 * @packageDocumentation
 */
import { RelayError, RelayErrorCode } from './errors.js';
import { toBase64url, fromBase64url } from './base64url.js';

/** Version of the binding (the `v` of the hello event). */
export const SSE_BINDING_VERSION = 1;
/** Default largest transport message (= frame) either way, bytes: 1 MiB. */
export const DEFAULT_SSE_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Default most messages in one POST batch. */
export const DEFAULT_MAX_MESSAGES_PER_POST = 256;
/** Default largest POST batch body, bytes: 4 MiB + 4 KiB (four largest messages and their length prefixes). */
export const DEFAULT_MAX_POST_BYTES = 4 * 1024 * 1024 + 4096;
/** Header carrying the number of a batch's first message. */
export const SEQ_HEADER = 'hearth-seq';
/** Domain separation of the relay's challenge signature. */
export const RELAY_AUTH_CONTEXT = 'hearth-relay-auth-v1';
/** How far a challenge answer's timestamp may be from the relay's clock, ms. */
export const RELAY_AUTH_MAX_SKEW_MS = 5 * 60 * 1000;
/** How long a challenge nonce stays usable, ms. */
export const RELAY_CHALLENGE_TTL_MS = 60 * 1000;
/** Default lifetime of an access token, ms (1 hour). */
export const RELAY_TOKEN_TTL_MS = 60 * 60 * 1000;
/** Interval of SSE comment lines that keep idle streams open through proxies, ms. */
export const SSE_HEARTBEAT_MS = 15 * 1000;

/** The hello event's JSON body. */
export interface SseHello {
  /** Binding version (1). */
  readonly v: number;
  /** Connection id, 32 hex digits. */
  readonly connection: string;
  /** Largest message either way, bytes. */
  readonly maxMessageBytes: number;
  /** Most messages per POST. */
  readonly maxMessagesPerPost: number;
  /** Largest POST body, bytes. */
  readonly maxPostBytes: number;
  /** Where to POST messages and DELETE the connection (a URL relative to the event stream's URL). */
  readonly post: string;
}

/** One message as an SSE event: `id: <n>\ndata: <base64url>\n\n`. */
export function encodeSseMessageEventV1(id: number, message: Uint8Array): string {
  return `id: ${id}\ndata: ${toBase64url(message)}\n\n`;
}

/** The bytes of an event's data; null if it is not canonical base64url. */
export function decodeSseMessageDataV1(data: string): Uint8Array | null {
  return fromBase64url(data);
}

/** A named event with a JSON body (`hello`, `close`, `signal`, `result`, `diff`). */
export function encodeSseJsonEvent(name: string, body: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(body)}\n\n`;
}

/**
 * A POST batch: for each message a 4-byte big-endian length n then n bytes; at least one message.
 * @throws RangeError if `messages` is empty.
 */
export function encodeBatchV1(messages: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  if (messages.length === 0) throw new RangeError('"messages" expected at least one message');
  let size = 0;
  for (const m of messages) size += 4 + m.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  for (const m of messages) {
    view.setUint32(o, m.length);
    out.set(m, o + 4);
    o += 4 + m.length;
  }
  return out;
}

/**
 * Splits a POST batch.
 * @throws RelayError `HEARTH_RELAY_BAD_REQUEST` if it is empty, truncated or holds an empty message;
 *   `HEARTH_RELAY_TOO_LARGE` if a message exceeds `maxMessageBytes` or there are more than `maxMessages`.
 */
export function decodeBatchV1(body: Uint8Array, maxMessageBytes: number, maxMessages: number): Uint8Array[] {
  if (body.length === 0) throw new RelayError(RelayErrorCode.BAD_REQUEST, 'empty message batch');
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  while (o < body.length) {
    if (o + 4 > body.length) throw new RelayError(RelayErrorCode.BAD_REQUEST, `truncated length prefix at byte ${o}`);
    const n = view.getUint32(o);
    if (n === 0) throw new RelayError(RelayErrorCode.BAD_REQUEST, `empty message at byte ${o}`);
    if (n > maxMessageBytes) throw new RelayError(RelayErrorCode.TOO_LARGE, `message of ${n} bytes exceeds ${maxMessageBytes}`);
    if (o + 4 + n > body.length) throw new RelayError(RelayErrorCode.BAD_REQUEST, `truncated message at byte ${o}`);
    if (out.length === maxMessages) throw new RelayError(RelayErrorCode.TOO_LARGE, `more than ${maxMessages} messages in one batch`);
    out.push(body.slice(o + 4, o + 4 + n));
    o += 4 + n;
  }
  return out;
}

/**
 * The bytes a client signs to answer a relay challenge: ASCII `hearth-relay-auth-v1` ‖ space id (32) ‖ the
 * client's public key (32) ‖ the relay's nonce (32) ‖ timestamp (8, big-endian ms since the Unix epoch).
 * @throws TypeError / RangeError for inputs of the wrong length or a timestamp outside [0, 2^53).
 */
export function relayAuthMessageV1(space: Uint8Array, key: Uint8Array, nonce: Uint8Array, timestampMs: number): Uint8Array {
  for (const [v, name] of [[space, 'space'], [key, 'key'], [nonce, 'nonce']] as const) {
    if (!(v instanceof Uint8Array) || v.length !== 32) throw new TypeError(`"${name}" expected Uint8Array of length 32`);
  }
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0) throw new RangeError(`"timestampMs" expected a safe non-negative integer, got ${timestampMs}`);
  const ctx = new TextEncoder().encode(RELAY_AUTH_CONTEXT);
  const out = new Uint8Array(ctx.length + 96 + 8);
  out.set(ctx, 0);
  out.set(space, ctx.length);
  out.set(key, ctx.length + 32);
  out.set(nonce, ctx.length + 64);
  new DataView(out.buffer).setBigUint64(ctx.length + 96, BigInt(timestampMs));
  return out;
}
