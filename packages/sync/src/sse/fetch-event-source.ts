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

  private dispatch(type: string, init: { data?: string; lastEventId?: string } = {}): void {
    if (this.readyState === 2) return;
    const event = new MessageEvent(type, init);
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
      const decoder = new TextDecoder();
      let buf = '';
      let data: string[] = [];
      let name = '';
      let lastId = '';
      const line = (l: string): void => {
        if (l === '') {
          if (data.length > 0) this.dispatch(name || 'message', { data: data.join('\n'), lastEventId: lastId });
          data = [];
          name = '';
          return;
        }
        if (l.startsWith(':')) return;
        const i = l.indexOf(':');
        const field = i < 0 ? l : l.slice(0, i);
        let value = i < 0 ? '' : l.slice(i + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') name = value;
        else if (field === 'id' && !value.includes('\0')) lastId = value;
        // `retry` only tunes reconnection, which this implementation never does
      };
      // `buf[0, scanned)` is known to hold no line break: a long data line arriving in many chunks is scanned once.
      let scanned = 0;
      // Decoded chunks without a line break, waiting after `buf`: a long data line (a 256 KiB batch is ~350 KB of
      // base64) is joined once when its end arrives, instead of growing and flattening `buf` at every chunk.
      let parts: string[] = [];
      let partsLength = 0;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        // Each chunk is searched once for LF and once for CR; the joined buffer is not searched again.
        const lf = text.indexOf('\n');
        const cr = text.indexOf('\r');
        if (lf < 0 && cr < 0) {
          parts.push(text);
          partsLength += text.length;
          continue;
        }
        // Before `text`, a CR can only be the last character of what was left over (a CR that may begin a CRLF):
        // left-over text and waiting chunks hold no line break otherwise.
        const crBefore = buf.length > 0 && buf.charCodeAt(buf.length - 1) === 13;
        if (cr < 0 && !crBefore) {
          // No CR (the usual stream): lines end at LF, and the first one at `lf` in `text` (nothing before `text`
          // had one). It is what waited plus the head of `text`, joined once into a flat string; a long data line
          // is copied once here, not joined, then concatenated with `text` and flattened again when sliced.
          const head = text.slice(0, lf);
          let first: string;
          if (parts.length === 0) first = buf.length === 0 ? head : buf + head;
          else {
            parts.unshift(buf);
            parts.push(head);
            first = parts.join('');
          }
          parts = [];
          partsLength = 0;
          line(first);
          let start = lf + 1;
          for (let i = text.indexOf('\n', start); i >= 0; i = text.indexOf('\n', start)) {
            line(text.slice(start, i));
            start = i + 1;
          }
          buf = text.slice(start);
          scanned = buf.length;
        } else {
          buf = parts.length === 0 ? buf + text : buf + parts.join('') + text;
          parts = [];
          partsLength = 0;
          let start = 0;
          let i = scanned;
          for (; i < buf.length; i++) {
            const c = buf.charCodeAt(i);
            if (c !== 10 && c !== 13) continue;
            if (c === 13 && i + 1 === buf.length) break; // a CR at the end: it may be the first half of CRLF
            line(buf.slice(start, i));
            if (c === 13 && buf.charCodeAt(i + 1) === 10) i++;
            start = i + 1;
          }
          buf = buf.slice(start);
          scanned = Math.max(0, i - start);
        }
        if (this.readyState === 2) return;
      }
      this.fail();
    } catch {
      this.fail();
    }
  }
}
