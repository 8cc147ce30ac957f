/**
 * Two browser profiles (two Chromium processes) sync real Databases over WebRTC: each page hosts the peer and
 * bridges it to its database worker (OPFS), as the SDK's leader tab would. Signalling is routed by this Node test
 * (the relay's role); after the connection is up, signalling is shut down and sync continues over the channel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { generateKeypair } from '@hearth/log';
import { openBrowser, type BrowserSession } from './harness.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function profile(route: (json: string) => Promise<void>): Promise<{ b: BrowserSession; page: Page }> {
  const b = await openBrowser();
  await b.bundle('test/browser/webrtc-db.page.ts', { name: 'webrtc-db-page.js' });
  await b.bundle('test/browser/webrtc-db.worker.ts', { name: 'webrtc-db-worker.js' });
  b.addFile('webrtc-db.html', '<!doctype html><meta charset="utf-8"><script type="module" src="/webrtc-db-page.js"></script>\n');
  const page = await b.newPage('/index.html');
  await page.exposeFunction('__signalOut', route);
  await page.goto(b.origin + '/webrtc-db.html');
  await page.waitForFunction('globalThis.W !== undefined', undefined, { timeout: 20_000 });
  return { b, page };
}

const run = <T>(page: Page, body: string): Promise<T> => page.evaluate(`(async () => { ${body} })()`) as Promise<T>;

test('two browser profiles sync Databases over WebRTC, and keep syncing after signalling stops', async () => {
  const ka = generateKeypair();
  const kb = generateKeypair();
  const ids = { a: hex(ka.publicKey), b: hex(kb.publicKey) };
  const pages = new Map<string, Page>();
  let signalling = true;
  let routed = 0;
  const route = async (json: string): Promise<void> => {
    if (!signalling) throw new Error('signalling is down');
    routed++;
    const to = (JSON.parse(json) as { to: string }).to;
    await pages.get(to)!.evaluate(`globalThis.__signalIn(${JSON.stringify(json)})`);
  };
  const A = await profile(route);
  const B = await profile(route).catch(async (e) => {
    await A.b.close();
    throw e;
  });
  try {
    pages.set(ids.a, A.page);
    pages.set(ids.b, B.page);
    await run(A.page, `await W.start(${JSON.stringify({ sk: hex(ka.secretKey), space: ids.a, admit: [ids.b], peerId: ids.a })})`);
    await run(B.page, `await W.start(${JSON.stringify({ sk: hex(kb.secretKey), space: ids.a, admit: [], peerId: ids.b })})`);
    await run(A.page, `W.signalViaTest(${JSON.stringify(ids.a)})`);
    await run(B.page, `W.signalViaTest(${JSON.stringify(ids.b)})`);
    await run(B.page, `await W.connect(${JSON.stringify(ids.a)})`);
    assert.ok(routed >= 2, `signals routed: ${routed}`);

    await run(A.page, `await W.put('notes', 'n1', { text: 'from A' })`);
    assert.deepEqual(await run(B.page, `return W.waitFor('notes', 'n1', 20000)`), { text: 'from A' });
    await run(B.page, `await W.put('notes', 'n2', { text: 'from B' })`);
    assert.deepEqual(await run(A.page, `return W.waitFor('notes', 'n2', 20000)`), { text: 'from B' });

    // the connection drops; A writes meanwhile; B reconnects (a new connection id) and the session resumes
    await run(B.page, 'W.dropConnections()');
    await run(A.page, `await W.put('notes', 'offline', { text: 'while apart' })`);
    await run(B.page, `await W.connect(${JSON.stringify(ids.a)})`);
    assert.deepEqual(await run(B.page, `return W.waitFor('notes', 'offline', 20000)`), { text: 'while apart' });

    // signalling goes away (the relay stops): the data channel carries on, including an entry of ~40 frames
    signalling = false;
    await run(A.page, 'W.stopSignalling()');
    await run(B.page, 'W.stopSignalling()');
    await run(A.page, `await W.put('notes', 'big', { text: 'x'.repeat(600000) })`);
    const big = await run<{ text: string }>(B.page, `return W.waitFor('notes', 'big', 30000)`);
    assert.equal(big.text.length, 600000);
    await run(B.page, `await W.put('notes', 'n3', { text: 'after signalling stopped' })`);
    assert.deepEqual(await run(A.page, `return W.waitFor('notes', 'n3', 20000)`), { text: 'after signalling stopped' });
    assert.equal(await run(A.page, 'return W.openTransports()'), 1);
    const stats = await run<{ sessions: number; events: string[] }>(A.page, 'return W.stats()');
    assert.deepEqual(stats.events, [], 'no rejected entries or session errors');
  } finally {
    await Promise.all([A.b.close(), B.b.close()]);
  }
});
