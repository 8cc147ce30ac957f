/**
 * The end goal of WebRTC sync: two browser profiles find each other through the relay's signalling, connect
 * directly over WebRTC, and keep syncing after the relay stops. The relay (`apps/relay`, a real one on loopback)
 * also serves the pages, so they share its origin. Profile A is the space's root: its worker syncs with the relay
 * over SSE and admits the relay and B (so the relay lets B signal); B never syncs with the relay, so everything B
 * gets comes over the data channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { generateKeypair } from '@hearth/log';
import { createRelay, type Relay } from '@hearth/relay';
import { openBrowser, type BrowserSession } from './harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const run = <T>(page: Page, body: string): Promise<T> => page.evaluate(`(async () => { ${body} })()`) as Promise<T>;

async function until(page: Page, body: string, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await run<boolean>(page, body))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two browser profiles connect over WebRTC through relay signalling and keep syncing after the relay stops', async () => {
  const ka = generateKeypair();
  const kb = generateKeypair();
  const space = hex(ka.publicKey);
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-webrtc-relay-'));
  const sessions: BrowserSession[] = [];
  let relay: Relay | null = null;
  try {
    const A = await openBrowser();
    sessions.push(A);
    await A.bundle('test/browser/webrtc-db.page.ts', { name: 'webrtc-db-page.js' });
    await A.bundle('test/browser/webrtc-db.worker.ts', { name: 'webrtc-db-worker.js' });
    A.addFile('webrtc-db.html', '<!doctype html><meta charset="utf-8"><script type="module" src="/webrtc-db-page.js"></script>\n');
    relay = await createRelay({ dataDir, port: 0, heartbeatMs: 0, staticDir: A.serveDir });
    const url = relay.url;
    const B = await openBrowser();
    sessions.push(B);
    const open = async (s: BrowserSession): Promise<Page> => {
      const p = await s.context.newPage();
      p.on('console', (m) => s.log.push(`[console.${m.type()}] ${m.text()}`));
      await p.goto(`${url}/webrtc-db.html`);
      await p.waitForFunction('globalThis.W !== undefined', undefined, { timeout: 20_000 });
      return p;
    };
    const pa = await open(A);
    const pb = await open(B);

    await run(pa, `await W.start(${JSON.stringify({ sk: hex(ka.secretKey), space, admit: [hex(kb.publicKey)] })})`);
    await run(pb, `await W.start(${JSON.stringify({ sk: hex(kb.secretKey), space, admit: [] })})`);
    // A opens the space on the relay and syncs its admissions (relay and B) to it over SSE
    await run(pa, `await W.relaySync(${JSON.stringify(url)})`);
    assert.equal(await run(pa, `return W.signalViaRelay(${JSON.stringify(url)}, ${JSON.stringify(space)})`), space);
    // B may signal once the relay has ingested its admission (the page retries on HEARTH_NOT_MEMBER)
    assert.equal(await run(pb, `return W.signalViaRelay(${JSON.stringify(url)}, ${JSON.stringify(space)})`), hex(kb.publicKey));
    assert.deepEqual(await run(pb, 'return W.peers()'), [space], 'B sees A on the relay');
    await run(pb, `await W.connect(${JSON.stringify(space)})`);

    await run(pa, `await W.put('notes', 'n1', { text: 'from A' })`);
    assert.deepEqual(await run(pb, `return W.waitFor('notes', 'n1', 20000)`), { text: 'from A' });
    await run(pb, `await W.put('notes', 'n2', { text: 'from B' })`);
    assert.deepEqual(await run(pa, `return W.waitFor('notes', 'n2', 20000)`), { text: 'from B' });

    // the relay stops: A's SSE connection and both signalling streams end; the data channel does not
    await relay.close();
    relay = null;
    await until(pa, 'return W.signallerClosed()', "A's signaller to close");
    await until(pb, 'return W.signallerClosed()', "B's signaller to close");
    await until(pa, 'return !(await W.relayOpen())', "A's SSE transport to the relay to close");
    await run(pa, `await W.put('notes', 'n3', { text: 'A, relay gone' })`);
    assert.deepEqual(await run(pb, `return W.waitFor('notes', 'n3', 20000)`), { text: 'A, relay gone' });
    await run(pb, `await W.put('notes', 'n4', { text: 'B, relay gone' })`);
    assert.deepEqual(await run(pa, `return W.waitFor('notes', 'n4', 20000)`), { text: 'B, relay gone' });
    assert.equal(await run(pa, 'return W.openTransports()'), 1);
    assert.equal(await run(pb, 'return W.openTransports()'), 1);
    for (const p of [pa, pb]) {
      const stats = await run<{ events: string[] }>(p, 'return W.stats()');
      assert.deepEqual(stats.events, [], 'no rejected entries or session errors');
    }
  } finally {
    await relay?.close().catch(() => undefined);
    await Promise.all(sessions.map((s) => s.close()));
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('RelaySignaller against a live relay (Node): addressed delivery, peers, refusals, malformed events, relay stop', async () => {
  // Node 20 has no EventSource: the relay tests' choice, @hearth/sync's FetchEventSource
  const { ES, openDevice, connect, closeDevice, startRelay, until: untilNode } = await import('../relay-helpers.js');
  const { RelaySignaller } = await import('@hearth/sync/webrtc');
  const r = await startRelay();
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  const kb = generateKeypair();
  const kc = generateKeypair(); // never admitted
  try {
    const { relayKey } = await connect(a, r.relay);
    await a.node.admit(relayKey);
    await a.node.admit(kb.publicKey);
    await untilNode(() => r.relay.spaces.get(hex(space))!.isMember(kb.publicKey), 'the relay to learn B is a member');

    await assert.rejects(RelaySignaller.open({ url: r.relay.url, space, keypair: kc, EventSource: ES }), (e: { code?: string }) => e.code === 'HEARTH_NOT_MEMBER');
    await assert.rejects(RelaySignaller.open({ url: r.relay.url, space }), TypeError);

    const sa = await RelaySignaller.open({ url: r.relay.url, space, keypair: a.keypair, EventSource: ES });
    assert.equal(sa.peerId, hex(space));
    assert.deepEqual(await sa.peers(), []);
    await assert.rejects(sa.send(hex(kb.publicKey), 'c1', { type: 'offer' }), (e: { code?: string }) => e.code === 'HEARTH_RELAY_NOT_FOUND');
    await assert.rejects(sa.send(hex(kc.publicKey), 'c1', { type: 'offer' }), (e: { code?: string }) => e.code === 'HEARTH_NOT_MEMBER');

    const sb = await RelaySignaller.open({ url: r.relay.url, space, keypair: kb, EventSource: ES });
    assert.deepEqual(await sa.peers(), [hex(kb.publicKey)]);
    const got: { from: string; connection: string; type: unknown }[] = [];
    sb.onSignal((s) => got.push({ from: s.from, connection: s.connection, type: s.data.type }));
    await sa.send(sb.peerId, 'c1', { type: 'offer', sdp: 'v=0' });
    await sa.send(sb.peerId, 'c1', { type: 'candidate' });
    await untilNode(() => got.length === 2, 'two signals at B');
    assert.deepEqual(got, [
      { from: sa.peerId, connection: 'c1', type: 'offer' },
      { from: sa.peerId, connection: 'c1', type: 'candidate' },
    ]);
    // a member posting something that is not a Hearth signal: counted, not delivered
    const grant = await (await import('@hearth/sync')).authenticateRelay({ url: r.relay.url, space, keypair: a.keypair });
    const res = await fetch(`${r.relay.url}/v1/spaces/${hex(space)}/signal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${grant.token}` },
      body: JSON.stringify({ to: sb.peerId, data: { c: 'not an id', s: 1 } }),
    });
    assert.equal(res.status, 204);
    await untilNode(() => sb.malformed === 1, 'the malformed signal to be counted');
    assert.equal(got.length, 2);

    const closedWith: string[] = [];
    sa.onClose((why) => closedWith.push(`a:${why}`));
    sb.onClose((why) => closedWith.push(`b:${why}`));
    await closeDevice(a);
    await r.relay.close();
    await untilNode(() => closedWith.length === 2, 'both signallers to close when the relay stops');
    assert.deepEqual(closedWith.sort(), ['a:signalling stream broke', 'b:signalling stream broke']);
    await assert.rejects(sa.send(sb.peerId, 'c2', {}), (e: { code?: string }) => e.code === 'HEARTH_TRANSPORT_CLOSED');
  } finally {
    await closeDevice(a).catch(() => undefined);
    await r.dispose();
  }
});
