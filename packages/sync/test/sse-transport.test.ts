/**
 * The SSE binding: base64url and batch encodings (property round trips, canonical refusals), and the transport
 * compliance suite over a live loopback HTTP server (plain `node:http` + `SseHub`) with the npm `eventsource`
 * EventSource, plus the binding's own failure rules (event id gap, lost batch, retried batch).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import {
  SseHub,
  SseClientTransport,
  FetchEventSource,
  RelayError,
  encodeBatchV1,
  decodeBatchV1,
  toBase64url,
  fromBase64url,
  relayAuthMessageV1,
  type SseServerTransport,
  type Transport,
} from '../src/index.js';
import { transportComplianceCases } from './transport-compliance.js';
import { fromBase64urlPortable, toBase64urlPortable } from '../src/sse/base64url.js';

const SEED = Number(process.env.SSE_SEED ?? 20261121);

test('base64url round-trips any bytes and matches Buffer (native and portable paths agree)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(16), (bytes, offset) => {
      const text = toBase64url(bytes);
      assert.equal(text, Buffer.from(bytes).toString('base64url'));
      assert.equal(toBase64urlPortable(bytes), text);
      assert.deepEqual(fromBase64url(text), bytes);
      assert.deepEqual(fromBase64urlPortable(text), bytes);
      // a view at an offset into a larger buffer encodes only its own bytes
      const big = new Uint8Array(offset + bytes.length + 3);
      big.set(bytes, offset);
      assert.equal(toBase64url(big.subarray(offset, offset + bytes.length)), text);
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('base64url refuses non-canonical text (native and portable paths alike)', () => {
  // 'Ł' (U+0141) and 'ŕ' (U+0155): Node's decoder would read them as their low bytes, 'A' and 'U'
  for (const bad of ['A', 'AB=', 'A+', 'A/', 'AB*C', 'AF', 'AAB', 'é', 'AAAA=', 'AA AA', 'AAAA\n', 'AAAAAF', 'QŁJD', 'QUJŕ', 'QU\u0080D', 'QU\uD800D', 'AAAA\0AAA']) {
    assert.equal(fromBase64url(bad), null, bad);
    assert.equal(fromBase64urlPortable(bad), null, bad);
  }
  assert.deepEqual(fromBase64url(''), new Uint8Array(0));
  // any text: both decoders accept the same strings and give the same bytes
  const chars = 'AQgw_-Zz09+/= é\nŁŕ\u0080\uD800\0'.split('');
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 12 }), (cs) => {
      const t = cs.join('');
      assert.deepEqual(fromBase64url(t), fromBase64urlPortable(t), JSON.stringify(t));
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('message batches round-trip; malformed or oversized batches are refused with typed errors', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { minLength: 1, maxLength: 20 }), (msgs) => {
      assert.deepEqual(decodeBatchV1(encodeBatchV1(msgs), 1040, 20), msgs);
    }),
    { seed: SEED, numRuns: 200 },
  );
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof RelayError);
      return e.code;
    }
    return 'no error';
  };
  assert.equal(code(() => decodeBatchV1(new Uint8Array(0), 2000, 4)), 'HEARTH_RELAY_BAD_REQUEST');
  assert.equal(code(() => decodeBatchV1(new Uint8Array([0, 0, 0]), 2000, 4)), 'HEARTH_RELAY_BAD_REQUEST');
  assert.equal(code(() => decodeBatchV1(new Uint8Array([0, 0, 0, 0]), 2000, 4)), 'HEARTH_RELAY_BAD_REQUEST');
  assert.equal(code(() => decodeBatchV1(new Uint8Array([0, 0, 0, 5, 1, 2]), 2000, 4)), 'HEARTH_RELAY_BAD_REQUEST');
  assert.equal(code(() => decodeBatchV1(encodeBatchV1([new Uint8Array(2001)]), 2000, 4)), 'HEARTH_RELAY_TOO_LARGE');
  assert.equal(code(() => decodeBatchV1(encodeBatchV1(Array.from({ length: 5 }, () => new Uint8Array(1))), 2000, 4)), 'HEARTH_RELAY_TOO_LARGE');
  assert.throws(() => encodeBatchV1([]), RangeError);
});

test('relay auth message layout: context, space, key, nonce, big-endian timestamp', () => {
  const m = relayAuthMessageV1(new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3), 0x0102030405);
  assert.equal(Buffer.from(m.subarray(0, 20)).toString(), 'hearth-relay-auth-v1');
  assert.equal(m.length, 20 + 96 + 8);
  assert.equal(Buffer.from(m.subarray(116)).toString('hex'), '0000000102030405');
  assert.throws(() => relayAuthMessageV1(new Uint8Array(31), new Uint8Array(32), new Uint8Array(32), 0), TypeError);
  assert.throws(() => relayAuthMessageV1(new Uint8Array(32), new Uint8Array(32), new Uint8Array(32), -1), RangeError);
});

// ---------------------------------------------------------------------------------------------------------------
// A minimal loopback server: GET /events opens a connection, POST/DELETE /c/<id> carry messages and closes.

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) return null;
    chunks.push(c as Buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

const hub = new SseHub({ maxMessageBytes: 64 * 1024, heartbeatMs: 0 });
const opened: SseServerTransport[] = [];
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  void (async () => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      const t = hub.open({ write: (s) => res.write(s), end: () => res.end() }, null, (id) => `c/${id}`);
      res.on('close', () => t.streamEnded());
      opened.push(t);
      return;
    }
    const m = /^\/c\/([0-9a-f]{32})$/.exec(url.pathname);
    if (m && req.method === 'POST') {
      const body = await readBody(req, hub.maxPostBytes);
      try {
        if (body === null) throw new RelayError('HEARTH_RELAY_TOO_LARGE', 'body too large');
        hub.post(m[1], Number(req.headers['hearth-seq'] ?? NaN), body);
        res.writeHead(204).end();
      } catch (e) {
        const err = e as RelayError;
        res.writeHead(err.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify(err.toJSON()));
      }
      return;
    }
    if (m && req.method === 'DELETE') {
      hub.get(m[1])?.peerClosed();
      res.writeHead(204).end();
      return;
    }
    res.writeHead(404).end();
  })();
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
after(async () => {
  hub.dispose();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

async function pair(): Promise<[Transport, Transport]> {
  const client = await SseClientTransport.open({ url: `${base}/events`, EventSource: FetchEventSource });
  const srv = hub.get(client.connectionId);
  assert.ok(srv, 'the server end exists');
  return [client, srv];
}
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 5));

for (const c of transportComplianceCases({ pair, settle, manyMessages: 200 })) {
  test(`SSE transport (client → server): ${c.name}`, () => c.run());
}
for (const c of transportComplianceCases({ pair: async () => (await pair()).reverse() as [Transport, Transport], settle, manyMessages: 200 })) {
  test(`SSE transport (server → client): ${c.name}`, () => c.run());
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}

test('a POST batch that skips a message closes the connection at both ends (no gap is delivered)', async () => {
  const [client, srv] = await pair();
  const closed: string[] = [];
  client.onClose((i) => closed.push(`client:${i.remote}`));
  srv.onClose((i) => closed.push(`server:${i.remote}:${i.reason}`));
  const res = await fetch(`${base}/c/${(client as SseClientTransport).connectionId}`, { method: 'POST', headers: { 'hearth-seq': '5' }, body: encodeBatchV1([new Uint8Array([1])]) });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'HEARTH_RELAY_BAD_REQUEST');
  await until(() => closed.length === 2, 'both ends closed');
  assert.ok(closed.some((c) => c.startsWith('server:true:message 0 never arrived')), closed.join());
  assert.ok(closed.includes('client:true'));
});

test('a retried POST batch is delivered once (its received prefix is skipped)', async () => {
  const [client, srv] = await pair();
  const got: number[] = [];
  srv.onMessage((m) => got.push(m[0]));
  const id = (client as SseClientTransport).connectionId;
  const post = (seq: number, msgs: number[]): Promise<Response> =>
    fetch(`${base}/c/${id}`, { method: 'POST', headers: { 'hearth-seq': String(seq) }, body: encodeBatchV1(msgs.map((x) => new Uint8Array([x]))) });
  assert.equal((await post(0, [10, 11])).status, 204);
  assert.equal((await post(0, [10, 11, 12])).status, 204);
  assert.equal((await post(3, [13])).status, 204);
  await until(() => got.length >= 4, 'messages');
  assert.deepEqual(got, [10, 11, 12, 13]);
  client.close();
});

test('an event stream that breaks (server response destroyed) closes the client; a new connection is independent', async () => {
  const [client, srv] = await pair();
  const infos: string[] = [];
  client.onClose((i) => infos.push(`${i.remote}`));
  // simulate a network cut: end the response without a close event
  (srv as unknown as { sink: { end(): void } }).sink.end();
  await until(() => infos.length === 1, 'client close');
  assert.deepEqual(infos, ['true']);
  await until(() => srv.closed, 'server end closed');
  const [c2, s2] = await pair();
  const got: Uint8Array[] = [];
  c2.onMessage((m) => got.push(m));
  s2.send(new Uint8Array([7]));
  await until(() => got.length === 1, 'message on the new connection');
  c2.close();
});

test('an event with an unexpected id or bad base64url closes the client transport', async () => {
  for (const inject of ['id: 5\ndata: AQ\n\n', 'id: 0\ndata: A*\n\n']) {
    const [client, srv] = await pair();
    let reason = '';
    client.onClose((i) => (reason = i.reason));
    (srv as SseServerTransport).write(inject);
    await until(() => reason !== '', 'close');
    assert.match(reason, /event id|undecodable/);
    await until(() => srv.closed, 'server end closed');
  }
});
