/**
 * The SSE transport in Chromium, with the default `FetchEventSource` and with the browser's own `EventSource`: the
 * transport compliance suite (two browser client ends bridged by a loopback SSE server built on `SseHub`) for
 * each, and a browser device syncing through a live
 * relay with a Node device (CORS: the page is served from another origin than the relay).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeypair, exportSecretKey } from '@hearth/log';
import { RelayError, SseHub, type SseServerTransport } from '@hearth/sync';
import { reportCases, withBrowser, type CaseResult } from './harness.js';
import { closeDevice, connect, hex, openDevice, startRelay, until } from '../relay-helpers.js';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';

/** A loopback SSE server that bridges the two connections opened with the same `?pair=` key. */
async function bridgeServer(): Promise<{ url: string; close(): Promise<void> }> {
  const hub = new SseHub({ maxMessageBytes: 64 * 1024, heartbeatMs: 0 });
  const waiting = new Map<string, SseServerTransport>();
  const cors = (req: IncomingMessage): Record<string, string> => ({ 'access-control-allow-origin': String(req.headers.origin ?? '*') });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...cors(req), 'access-control-allow-methods': 'GET, POST, DELETE', 'access-control-allow-headers': 'content-type, hearth-seq, authorization' }).end();
        return;
      }
      if (req.method === 'GET' && url.pathname === '/events') {
        res.writeHead(200, { ...cors(req), 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        const t = hub.open({ write: (s) => res.write(s), end: () => res.end() }, null, (id) => `c/${id}`);
        res.on('close', () => t.streamEnded());
        const key = url.searchParams.get('pair') ?? '';
        const other = waiting.get(key);
        if (other === undefined) waiting.set(key, t);
        else {
          waiting.delete(key);
          for (const [x, y] of [[t, other], [other, t]] as const) {
            x.onMessage((m) => {
              if (!y.closed) y.send(m);
            });
            x.onClose((i) => y.close(i.reason));
          }
        }
        return;
      }
      const m = /^\/c\/([0-9a-f]{32})$/.exec(url.pathname);
      if (m && req.method === 'POST') {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        try {
          hub.post(m[1], Number(req.headers['hearth-seq'] ?? NaN), new Uint8Array(Buffer.concat(chunks)));
          res.writeHead(204, cors(req)).end();
        } catch (e) {
          const err = e as RelayError;
          res.writeHead(err.status ?? 500, { ...cors(req), 'content-type': 'application/json' }).end(JSON.stringify(err.toJSON()));
        }
        return;
      }
      if (m && req.method === 'DELETE') {
        hub.get(m[1])?.peerClosed();
        res.writeHead(204, cors(req)).end();
        return;
      }
      res.writeHead(404, cors(req)).end();
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      hub.dispose();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

test('SSE transport in Chromium: compliance suite, and a browser device syncing through a live relay', { timeout: 180_000 }, async (t) => {
  const bridge = await bridgeServer();
  const r = await startRelay({ corsOrigins: ['*'] });
  const root = await openDevice('root', null);
  const browserKey = generateKeypair();
  try {
    const { relayKey } = await connect(root, r.relay);
    await root.node.admit(relayKey);
    await root.node.admit(browserKey.publicKey);
    for (let i = 0; i < 10; i++) await root.db.put('notes', `n${i}`, { text: `note ${i}` });
    const host = r.relay.spaces.get(hex(root.keypair.publicKey))!;
    await until(() => host.isMember(browserKey.publicKey) && [...host.db.iterate('notes')].length === 10, 'the relay to hold the notes and the admission');

    const results = await withBrowser(async (b) => {
      const url = await b.bundle('test/browser/relay-sse.worker.ts', {
        define: {
          BRIDGE_URL: JSON.stringify(bridge.url),
          RELAY_URL: JSON.stringify(r.relay.url),
          DEVICE_SECRET: JSON.stringify(hex(exportSecretKey(browserKey))),
          SPACE_HEX: JSON.stringify(hex(root.keypair.publicKey)),
        },
      });
      return b.runWorker<CaseResult | { got: unknown }>(url, { timeoutMs: 150_000 });
    });
    const cases = results.filter((x): x is CaseResult => 'ok' in x);
    const caseNames = transportComplianceCases({ pair: async () => { throw new Error('unused'); }, settle: async () => undefined }).map((c) => c.name);
    const names = [...['FetchEventSource', 'EventSource'].flatMap((label) => caseNames.map((c) => `compliance (${label}): ${c}`)), 'a browser device syncs with a live relay'];
    await reportCases(t, cases, names);
    assert.deepEqual(results.find((x): x is { got: unknown } => 'got' in x)?.got, { text: 'note 7' });
    await until(() => root.db.get('notes', 'from-browser') !== undefined, 'the browser\'s write to reach the Node device through the relay');
    assert.deepEqual(root.db.get('notes', 'from-browser'), { text: 'written in Chromium' });
  } finally {
    await closeDevice(root);
    await r.dispose();
    await bridge.close();
  }
});
