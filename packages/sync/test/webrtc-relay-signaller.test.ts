/**
 * `RelaySignaller` opening paths that a live relay does not produce (a fake EventSource and fetch): a malformed
 * `ready`, no `ready` in time, a stream that fails before `ready`, a broken stream after it, malformed `signal`
 * events, HTTP errors mapped to RelayError. The real relay is exercised in `test/browser/webrtc-relay.test.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventSourceConstructor } from '../src/index.js';
import { RelaySignaller } from '../src/webrtc/index.js';

const SPACE = new Uint8Array(32).fill(1);
const KEY = 'ab'.repeat(32);

class FakeES {
  static last: FakeES;
  readyState = 0;
  onerror: ((e: unknown) => void) | null = null;
  closed = false;
  private l = new Map<string, ((e: MessageEvent) => void)[]>();
  constructor(readonly url: string) {
    FakeES.last = this;
  }
  addEventListener(type: string, fn: (e: MessageEvent) => void): void {
    this.l.set(type, [...(this.l.get(type) ?? []), fn]);
  }
  fire(type: string, data: string): void {
    for (const fn of this.l.get(type) ?? []) fn({ data } as MessageEvent);
  }
  close(): void {
    this.closed = true;
  }
}
const ES = FakeES as unknown as EventSourceConstructor;

function opening(options: { fetch?: typeof fetch; connectTimeoutMs?: number } = {}): Promise<RelaySignaller> {
  return RelaySignaller.open({ url: 'http://relay.test', space: SPACE, token: 'tok', EventSource: ES, ...options });
}

test('RelaySignaller.open: the stream URL carries the token; a malformed ready, no ready, or an early error reject', async () => {
  const p1 = opening();
  assert.equal(FakeES.last.url, `http://relay.test/v1/spaces/${'01'.repeat(32)}/signal?token=tok`);
  FakeES.last.fire('ready', '{"key": "nothex"}');
  await assert.rejects(p1, (e: { code?: string }) => e.code === 'HEARTH_RELAY_HTTP');
  assert.ok(FakeES.last.closed);
  const p2 = opening({ connectTimeoutMs: 30 });
  await assert.rejects(p2, (e: { code?: string; message: string }) => e.code === 'HEARTH_RELAY_HTTP' && /within 30 ms/.test(e.message));
  const p3 = opening();
  FakeES.last.onerror!({});
  await assert.rejects(p3, (e: { code?: string }) => e.code === 'HEARTH_RELAY_HTTP');
  await assert.rejects(RelaySignaller.open({ url: 'http://relay.test', space: new Uint8Array(3), token: 't', EventSource: ES }), TypeError);
});

test('RelaySignaller: delivers well-formed signals, counts malformed ones, closes once when the stream breaks', async () => {
  const posted: unknown[] = [];
  const fakeFetch = (async (url: string, init: RequestInit) => {
    posted.push({ url, auth: (init.headers as Record<string, string>).authorization, body: JSON.parse(String(init.body)) });
    return new Response(JSON.stringify({ error: { code: 'HEARTH_RELAY_NOT_FOUND', message: 'no stream' } }), { status: 404 });
  }) as unknown as typeof fetch;
  const p = opening({ fetch: fakeFetch });
  FakeES.last.fire('ready', JSON.stringify({ key: KEY }));
  const s = await p;
  assert.equal(s.peerId, KEY);
  const got: string[] = [];
  s.onSignal((e) => got.push(`${e.from}/${e.connection}/${String(e.data.type)}`));
  const es = FakeES.last;
  es.fire('signal', JSON.stringify({ from: KEY, data: { c: 'c1', s: { type: 'offer' } } }));
  es.fire('signal', 'not json');
  es.fire('signal', JSON.stringify({ from: KEY, data: { c: 'c1', s: 'string' } }));
  es.fire('signal', JSON.stringify({ from: 'has space', data: { c: 'c1', s: {} } }));
  assert.deepEqual(got, [`${KEY}/c1/offer`]);
  assert.equal(s.malformed, 3);
  await assert.rejects(s.send(KEY, 'c2', { type: 'answer' }), (e: { code?: string }) => e.code === 'HEARTH_RELAY_NOT_FOUND');
  assert.deepEqual(posted, [{ url: `http://relay.test/v1/spaces/${'01'.repeat(32)}/signal`, auth: 'Bearer tok', body: { to: KEY, data: { c: 'c2', s: { type: 'answer' } } } }]);
  const reasons: string[] = [];
  s.onClose((r) => reasons.push(r));
  es.onerror!({});
  es.onerror!({});
  assert.deepEqual(reasons, ['signalling stream broke']);
  assert.ok(s.closed && es.closed);
  es.fire('signal', JSON.stringify({ from: KEY, data: { c: 'c3', s: {} } }));
  assert.equal(got.length, 1);
  await assert.rejects(s.send(KEY, 'c4', {}), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
});
