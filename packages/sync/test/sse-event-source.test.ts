/**
 * FetchEventSource parses `text/event-stream` as the HTML standard says, whatever the chunking: CR, LF and CRLF
 * line ends (CRLF split across chunks too), comments, multi-line data, ids, named events, blank-line dispatch; it
 * fires `error` once (non-SSE answer, stream end) and dispatches nothing after `close()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FetchEventSource } from '../src/index.js';

const SEED = Number(process.env.SSE_SEED ?? 20261121);

function fakeFetch(chunks: string[], init: { status?: number; type?: string } = {}): typeof fetch {
  return (async () => {
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const ch of chunks) c.enqueue(enc.encode(ch));
        c.close();
      },
    });
    return new Response(body, { status: init.status ?? 200, headers: { 'content-type': init.type ?? 'text/event-stream' } });
  }) as typeof fetch;
}

interface Seen {
  type: string;
  data?: string;
  id?: string;
}

async function collect(chunks: string[], types = ['message', 'hello', 'close'], init?: { status?: number; type?: string }): Promise<{ events: Seen[]; errors: number }> {
  const es = new FetchEventSource('http://x/events', { fetch: fakeFetch(chunks, init) });
  const events: Seen[] = [];
  let errors = 0;
  for (const t of types) es.addEventListener(t, (e) => events.push({ type: t, data: e.data, id: e.lastEventId }));
  es.onerror = () => errors++;
  for (let i = 0; i < 50 && es.readyState !== 2; i++) await new Promise((r) => setTimeout(r, 1));
  return { events, errors };
}

const STREAM = 'retry: 5000\r\nevent: hello\r\ndata: {"v":1}\r\n\r\n: ping\n\nid: 0\ndata: AQ\n\nid: 1\rdata: line1\rdata: line2\r\rdata\n\nevent: close\ndata: {"reason":"bye"}\n\nid: 9\n\n';
const EXPECTED: Seen[] = [
  { type: 'hello', data: '{"v":1}', id: '' },
  { type: 'message', data: 'AQ', id: '0' },
  { type: 'message', data: 'line1\nline2', id: '1' },
  { type: 'message', data: '', id: '1' },
  { type: 'close', data: '{"reason":"bye"}', id: '1' },
];

test('parses a stream with every line ending, comments, multi-line data, ids and named events', async () => {
  const { events, errors } = await collect([STREAM]);
  assert.deepEqual(events, EXPECTED);
  assert.equal(errors, 1, 'the end of the stream is one error');
});

test('the same events whatever the chunking (seeded property)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 12 }), async (cuts) => {
      const at = [...new Set(cuts)].sort((a, b) => a - b);
      const chunks: string[] = [];
      let prev = 0;
      for (const c of at) {
        chunks.push(STREAM.slice(prev, c));
        prev = c;
      }
      chunks.push(STREAM.slice(prev));
      assert.deepEqual((await collect(chunks)).events, EXPECTED);
    }),
    { seed: SEED, numRuns: 60 },
  );
});

test('a non-SSE answer or an error status fires error once and dispatches nothing', async () => {
  for (const init of [{ status: 401, type: 'application/json' }, { status: 200, type: 'text/plain' }, { status: 500 }]) {
    const { events, errors } = await collect(['data: x\n\n'], undefined, init);
    assert.deepEqual(events, []);
    assert.equal(errors, 1);
  }
});

test('close() stops dispatch', async () => {
  const holder: { c?: ReadableStreamDefaultController<Uint8Array> } = {};
  const f = (async () =>
    new Response(new ReadableStream<Uint8Array>({ start: (c) => void (holder.c = c) }), { headers: { 'content-type': 'text/event-stream' } })) as typeof fetch;
  const es = new FetchEventSource('http://x/', { fetch: f });
  const got: string[] = [];
  let errors = 0;
  es.addEventListener('message', (e) => got.push(String(e.data)));
  es.onerror = () => errors++;
  while (holder.c === undefined || es.readyState !== 1) await new Promise((r) => setTimeout(r, 1));
  holder.c!.enqueue(new TextEncoder().encode('data: one\n\n'));
  while (got.length < 1) await new Promise((r) => setTimeout(r, 1));
  es.close();
  try {
    holder.c!.enqueue(new TextEncoder().encode('data: two\n\n'));
  } catch {
    /* the stream may already be cancelled */
  }
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, ['one']);
  assert.equal(errors, 0, 'close() is not an error');
  assert.equal(es.readyState, 2);
});

test('a UTF-8 byte order mark is dropped and multi-byte characters split anywhere decode whole', async () => {
  const enc = new TextEncoder();
  const text = '\uFEFFid: 7\ndata: donn\u00e9es \u2713 \uD83C\uDF89\ndata: AQID\n\n: c\nevent: hello\ndata: {"v":1}\n\n';
  const all = enc.encode(text);
  assert.deepEqual([...all.subarray(0, 3)], [0xef, 0xbb, 0xbf]);
  for (let cut1 = 0; cut1 <= all.length; cut1 += 1) {
    for (const cut2 of [cut1, Math.min(all.length, cut1 + 1), Math.min(all.length, cut1 + 5)]) {
      const chunks = [all.subarray(0, cut1), all.subarray(cut1, cut2), all.subarray(cut2)].filter((c) => c.length > 0);
      const fetchFn = (async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              for (const ch of chunks) c.enqueue(ch.slice());
              c.close();
            },
          }),
          { status: 200, headers: { 'content-type': 'text/event-stream' } },
        )) as typeof fetch;
      const es = new FetchEventSource('http://x/events', { fetch: fetchFn });
      const seen: { type: string; data: string; id: string }[] = [];
      for (const t of ['message', 'hello']) es.addEventListener(t, (e) => seen.push({ type: t, data: e.data, id: e.lastEventId }));
      for (let i = 0; i < 50 && es.readyState !== 2; i++) await new Promise((r) => setTimeout(r, 1));
      const where = `cuts at ${cut1}, ${cut2}`;
      assert.deepEqual(
        seen.map(({ type, data, id }) => ({ type, data, id })),
        [
          { type: 'message', data: 'donn\u00e9es \u2713 \uD83C\uDF89\nAQID', id: '7' },
          { type: 'hello', data: '{"v":1}', id: '7' },
        ],
        where,
      );
    }
  }
});
