/**
 * {@link FetchEventSource}: an `EventSource` over `fetch` and a streamed response body, for runtimes without one
 * (Node 20) and for callers that need request headers. It parses `text/event-stream` as the WHATWG HTML standard
 * says (section 9.2, "Server-sent events": lines end in CR, LF or CRLF; `data`, `event`, `id` and `retry` fields;
 * `:` comments; a blank line dispatches) and dispatches `MessageEvent`s with `data` and `lastEventId`.
 *
 * Unlike a browser's `EventSource` it never reconnects: when the stream ends or fails it fires `error` once and is
 * closed (`readyState` 2). The SSE transport closes on any stream error anyway (binding rule: streams are not
 * resumed), so nothing is lost by not retrying.
 *
 * Invariants:
 * 1. Events are dispatched in stream order; nothing is dispatched after `close()` or after `error`.
 * 2. `error` fires at most once.
 * @packageDocumentation
 */
import type { EventSourceLike } from './client.js';

/** Options of {@link FetchEventSource}. */
export interface FetchEventSourceInit {
  /** Default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. `Authorization`). */
  headers?: Record<string, string>;
}

type Listener = (event: MessageEvent) => void;

/** An `EventSource` over `fetch` (see the file header). */
export class FetchEventSource implements EventSourceLike {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readyState = 0;
  onerror: ((this: unknown, event: unknown) => unknown) | null = null;
  onopen: ((this: unknown, event: unknown) => unknown) | null = null;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly abort = new AbortController();

  /** @throws TypeError if no fetch is available. */
  constructor(
    readonly url: string,
    init: FetchEventSourceInit = {},
  ) {
    const fetchFn = init.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchFn !== 'function') throw new TypeError('no fetch: pass init.fetch');
    void this.run(fetchFn, init.headers ?? {});
  }

  addEventListener(type: string, listener: Listener): void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    this.listeners.get(type)?.delete(listener);
  }

  close(): void {
    if (this.readyState === 2) return;
    this.readyState = 2;
    this.abort.abort();
  }

  private dispatch(type: string, data: Uint8Array, lastEventId: string): void {
    if (this.readyState === 2) return;
    const event = sseMessageEvent(type, data, lastEventId);
    for (const l of [...(this.listeners.get(type) ?? [])]) l(event);
  }

  private fail(): void {
    if (this.readyState === 2) return;
    this.readyState = 2;
    this.abort.abort();
    const event = new Event('error');
    this.onerror?.call(this, event);
    for (const l of [...(this.listeners.get('error') ?? [])]) l(event as MessageEvent);
  }

  private async run(fetchFn: typeof fetch, headers: Record<string, string>): Promise<void> {
    try {
      const res = await fetchFn(this.url, { headers: { accept: 'text/event-stream', ...headers }, cache: 'no-store', signal: this.abort.signal });
      const type = res.headers.get('content-type') ?? '';
      if (!res.ok || !type.toLowerCase().startsWith('text/event-stream') || res.body === null) {
        await res.body?.cancel().catch(() => undefined);
        return this.fail();
      }
      if (this.readyState === 2) return;
      this.readyState = 1;
      this.onopen?.call(this, new Event('open'));
      const reader = res.body.getReader();
      // The stream is parsed as bytes: a line is found with `indexOf` on the chunk, and a `data:` value reaches the
      // listener as its bytes (`SseMessageEvent.dataBytes`; `data` decodes them on first read). A binary message is
      // ~350 KB of base64 text: decoding it to a string, joining and slicing it and checking it again before the
      // base64 decoder was most of the transport's cost and garbage.
      let dataParts: Uint8Array[] = [];
      let name = '';
      let lastId = '';
      const line = (l: Uint8Array): void => {
        if (l.length === 0) {
          if (dataParts.length > 0) this.dispatch(name || 'message', joinLines(dataParts), lastId);
          dataParts = [];
          name = '';
          return;
        }
        if (l[0] === COLON) return;
        const i = l.indexOf(COLON);
        const field = i < 0 ? l : l.subarray(0, i);
        let value = i < 0 ? EMPTY : l.subarray(i + 1);
        if (value.length > 0 && value[0] === SPACE) value = value.subarray(1);
        if (isField(field, DATA)) dataParts.push(value);
        else if (isField(field, EVENT)) name = utf8.decode(value);
        else if (isField(field, ID) && value.indexOf(0) < 0) lastId = utf8.decode(value);
        // `retry` only tunes reconnection, which this implementation never does
      };
      // Bytes of the line in progress: chunks that held no line break (a long data line spans many), joined once
      // when its end arrives.
      let parts: Uint8Array[] = [];
      let partsLength = 0;
      // The last chunk ended with CR: a LF starting the next one belongs to that line break.
      let afterCR = false;
      let bom = true; // a UTF-8 byte order mark at the start of the stream is dropped (HTML, "Server-sent events")
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let chunk: Uint8Array = value;
        if (bom) {
          const head = parts.length > 0 ? concat([...parts, chunk], partsLength + chunk.length) : chunk;
          parts = [];
          partsLength = 0;
          if (head.length < 3 && head.every((b, k) => b === BOM[k])) {
            // the start of a byte order mark, or of a stream too short to tell yet: wait for more
            parts.push(head);
            partsLength = head.length;
            continue;
          }
          bom = false;
          chunk = head.length >= 3 && head[0] === BOM[0] && head[1] === BOM[1] && head[2] === BOM[2] ? head.subarray(3) : head;
        }
        let start = 0;
        if (afterCR && chunk.length > 0) {
          afterCR = false;
          if (chunk[0] === LF) start = 1;
        }
        let lf = chunk.indexOf(LF, start);
        let cr = chunk.indexOf(CR, start);
        while (lf >= 0 || cr >= 0) {
          const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
          let l = chunk.subarray(start, end);
          if (parts.length > 0) {
            l = concat([...parts, l], partsLength + l.length);
            parts = [];
            partsLength = 0;
          }
          line(l);
          if (this.readyState === 2) return;
          start = end + 1;
          if (end === cr) {
            if (start === chunk.length) afterCR = true;
            else if (chunk[start] === LF) start++;
            if (cr < start) cr = chunk.indexOf(CR, start);
            if (lf < start) lf = chunk.indexOf(LF, start);
          } else {
            lf = chunk.indexOf(LF, start);
            if (cr >= 0 && cr < start) cr = chunk.indexOf(CR, start);
          }
        }
        if (start < chunk.length) {
          parts.push(start === 0 ? chunk : chunk.subarray(start));
          partsLength += chunk.length - start;
        }
        if (this.readyState === 2) return;
      }
      this.fail();
    } catch {
      this.fail();
    }
  }
}

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const EMPTY = new Uint8Array(0);
const BOM = Uint8Array.of(0xef, 0xbb, 0xbf);
const DATA = Uint8Array.of(0x64, 0x61, 0x74, 0x61); // "data"
const EVENT = Uint8Array.of(0x65, 0x76, 0x65, 0x6e, 0x74); // "event"
const ID = Uint8Array.of(0x69, 0x64); // "id"
const utf8 = new TextDecoder();

function isField(field: Uint8Array, name: Uint8Array): boolean {
  if (field.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (field[i] !== name[i]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The data lines of one event joined with LF (the HTML standard's rule), as bytes. */
function joinLines(lines: readonly Uint8Array[]): Uint8Array {
  if (lines.length === 1) return lines[0];
  let n = lines.length - 1;
  for (const l of lines) n += l.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < lines.length; i++) {
    if (i > 0) out[o++] = LF;
    out.set(lines[i], o);
    o += lines[i].length;
  }
  return out;
}

/** A `MessageEvent` of {@link FetchEventSource}: `dataBytes` holds the event's data as the bytes that arrived. */
export type SseMessageEvent = MessageEvent<string> & { readonly dataBytes: Uint8Array };

/**
 * The `MessageEvent` {@link FetchEventSource} dispatches: `data` is the event's data as a string (UTF-8 decoded on
 * first read), `dataBytes` the same data as bytes, so that a consumer of binary payloads (the SSE transport's
 * base64url messages) decodes them without making a string.
 */
function sseMessageEvent(type: string, dataBytes: Uint8Array, lastEventId: string): SseMessageEvent {
  const event = new MessageEvent<string>(type, { lastEventId });
  let text: string | undefined;
  Object.defineProperty(event, 'data', { get: () => (text ??= utf8.decode(dataBytes)), enumerable: true, configurable: true });
  Object.defineProperty(event, 'dataBytes', { value: dataBytes, enumerable: true });
  return event as SseMessageEvent;
}
