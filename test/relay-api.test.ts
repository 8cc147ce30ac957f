/**
 * The relay's HTTP API beyond sync: the query API on the replica (query AST, live query as SSE, exact
 * nearest-neighbour search) under the same access control, WebRTC signalling between members, `/health`,
 * `/metrics`, static hosting, and TLS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeypair } from '@hearth/log';
import { authenticateRelay } from '@hearth/sync';
import { nearestExact } from '@hearth/relay';
import { ES, closeDevice, connect, hex, openDevice, sameState, startRelay, until } from './relay-helpers.js';

test('query API: a query AST, a live query over SSE, nearest neighbours; members only', { timeout: 60_000 }, async () => {
  const r = await startRelay();
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  try {
    const { relayKey } = await connect(a, r.relay);
    await a.node.admit(relayKey);
    for (let i = 0; i < 10; i++) await a.db.put('notes', `n${i}`, { rank: i, kind: i % 2 === 0 ? 'even' : 'odd', vec: new Float32Array([i, 1]) });
    const host = r.relay.spaces.get(hex(space))!;
    await until(() => sameState(host.db, a.db), 'the relay to hold the notes');
    const { token } = await authenticateRelay({ url: r.relay.url, space, keypair: a.keypair });
    const base = `${r.relay.url}/v1/spaces/${hex(space)}`;
    const post = (path: string, body: unknown, t = token): Promise<Response> =>
      fetch(`${base}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify(body) });

    // query
    const res = await post('query', { query: { collection: 'notes', where: { op: 'eq', path: 'kind', value: 'odd' }, sort: [{ path: 'rank', dir: 'desc' }], limit: 2, select: ['rank'] } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { rows: { id: string; doc: unknown }[]; hasMore: boolean };
    assert.deepEqual(body.rows, [{ id: 'n9', doc: { rank: 9 } }, { id: 'n7', doc: { rank: 7 } }]);
    assert.equal(body.hasMore, true);
    // Float32Array values come back in the JSON form
    const one = (await (await post('query', { query: { collection: 'notes', where: { op: 'eq', path: '_id', value: 'n3' } } })).json()) as { rows: { doc: { vec: unknown } }[] };
    assert.deepEqual(one.rows[0].doc.vec, { $f32: [3, 1] });
    // a malformed AST: 400 with the query engine's code
    const bad = await post('query', { query: { collection: 'notes', where: { op: 'nope', path: 'x' } } });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'HEARTH_INVALID_QUERY');
    assert.equal((await post('query', { nothing: 1 })).status, 400);
    // no token / a stranger: refused
    assert.equal((await post('query', { query: { collection: 'notes' } }, 'bogus')).status, 401);
    const stranger = generateKeypair();
    await assert.rejects(authenticateRelay({ url: r.relay.url, space, keypair: stranger }), /not a current member|not a member/);

    // nearest: exact scan
    const near = (await (await post('nearest', { collection: 'notes', field: 'vec', vector: [4.2, 1], k: 3, metric: 'l2' })).json()) as { method: string; hits: { id: string; distance: number }[] };
    assert.equal(near.method, 'exact-scan');
    assert.deepEqual(near.hits.map((h) => h.id), ['n4', 'n5', 'n3']);
    const filtered = (await (await post('nearest', { collection: 'notes', field: 'vec', vector: [4.2, 1], k: 2, metric: 'l2', where: { op: 'eq', path: 'kind', value: 'odd' } })).json()) as { hits: { id: string }[] };
    assert.deepEqual(filtered.hits.map((h) => h.id), ['n5', 'n3']);
    assert.equal((await post('nearest', { collection: 'notes', field: 'vec', vector: [], k: 3 })).status, 400);

    // live query: the first result, then a diff when the device writes
    const live = new ES(`${base}/live?token=${token}&q=${encodeURIComponent(JSON.stringify({ collection: 'notes', where: { op: 'gte', path: 'rank', value: 8 }, sort: [{ path: 'rank' }] }))}`);
    const events: { type: string; data: unknown }[] = [];
    for (const type of ['result', 'diff']) live.addEventListener(type, (e) => events.push({ type, data: JSON.parse(e.data ?? 'null') }));
    try {
      await until(() => events.length === 1, 'the first result');
      assert.deepEqual((events[0].data as { rows: { id: string }[] }).rows.map((x) => x.id), ['n8', 'n9']);
      await a.db.put('notes', 'n10', { rank: 10, kind: 'even' });
      await a.db.put('notes', 'n1', { rank: 1, kind: 'odd', note: 'not in the result' });
      await until(() => events.length >= 2, 'a diff');
      assert.deepEqual(events[1], { type: 'diff', data: { removed: [], added: [{ id: 'n10', doc: { rank: 10, kind: 'even' }, index: 2 }], changed: [] } });
      await new Promise((res) => setTimeout(res, 200));
      assert.equal(events.length, 2, 'a write outside the query sent a diff');
    } finally {
      live.close();
    }
  } finally {
    await closeDevice(a);
    await r.dispose();
  }
});

test('nearestExact: matches a brute-force sort for each metric, skips non-vectors', () => {
  const rows: [string, Record<string, unknown>][] = [];
  let x = 7;
  const rnd = (): number => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let i = 0; i < 200; i++) rows.push([`d${i}`, { v: Float32Array.from([rnd(), rnd(), rnd()]) }]);
  rows.push(['bad1', { v: 'x' }], ['bad2', { v: [1, 2] }], ['arr', { v: [0.1, 0.2, 0.3] }]);
  const q = Float32Array.from([0.3, -0.2, 0.9]);
  for (const metric of ['cosine', 'l2', 'dot'] as const) {
    const dist = (v: ArrayLike<number>): number => {
      let dot = 0, nq = 0, nv = 0, l2 = 0;
      for (let i = 0; i < 3; i++) {
        dot += q[i] * v[i];
        nq += q[i] ** 2;
        nv += v[i] ** 2;
        l2 += (q[i] - v[i]) ** 2;
      }
      return metric === 'l2' ? l2 : metric === 'dot' ? -dot : 1 - dot / Math.sqrt(nq * nv);
    };
    const expected = rows
      .filter(([, d]) => d.v instanceof Float32Array || (Array.isArray(d.v) && d.v.length === 3))
      .map(([id, d]) => ({ id, distance: dist(d.v as ArrayLike<number>) }))
      .sort((p, q2) => p.distance - q2.distance || (p.id < q2.id ? -1 : 1))
      .slice(0, 10)
      .map((h) => h.id);
    assert.deepEqual(nearestExact(rows, 'v', q, 10, metric).map((h) => h.id), expected, metric);
  }
});

test('signalling: members exchange opaque JSON through the relay; strangers and absent peers are refused', { timeout: 60_000 }, async () => {
  const r = await startRelay();
  const a = await openDevice('A', null);
  const space = a.keypair.publicKey;
  const b = generateKeypair();
  const { relayKey } = await connect(a, r.relay);
  await a.node.admit(relayKey);
  await a.node.admit(b.publicKey);
  await until(() => r.relay.spaces.get(hex(space))!.isMember(b.publicKey), 'B admitted at the relay');
  try {
    const ga = await authenticateRelay({ url: r.relay.url, space, keypair: a.keypair });
    const gb = await authenticateRelay({ url: r.relay.url, space, keypair: b });
    const base = `${r.relay.url}/v1/spaces/${hex(space)}`;
    const signal = (to: string, data: unknown, token = ga.token): Promise<Response> =>
      fetch(`${base}/signal`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ to, data }) });
    // B has no signalling stream yet
    assert.equal((await signal(hex(b.publicKey), { type: 'offer' })).status, 404);
    const got: unknown[] = [];
    const es = new ES(`${base}/signal?token=${gb.token}`);
    let ready = false;
    es.addEventListener('ready', () => (ready = true));
    es.addEventListener('signal', (e) => got.push(JSON.parse(e.data ?? 'null')));
    try {
      await until(() => ready, 'the signalling stream');
      const peers = (await (await fetch(`${base}/peers`, { headers: { authorization: `Bearer ${ga.token}` } })).json()) as { peers: string[] };
      assert.deepEqual(peers.peers, [hex(b.publicKey)]);
      const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
      assert.equal((await signal(hex(b.publicKey), offer)).status, 204);
      await until(() => got.length === 1, 'the offer at B');
      assert.deepEqual(got[0], { from: hex(space), data: offer });
      assert.equal((await signal(hex(generateKeypair().publicKey), offer)).status, 403);
      assert.equal((await signal('zz', offer)).status, 400);
      const big = await signal(hex(b.publicKey), { sdp: 'x'.repeat(70_000) });
      assert.equal(big.status, 413);
      assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'HEARTH_RELAY_TOO_LARGE');
    } finally {
      es.close();
    }
  } finally {
    await closeDevice(a);
    await r.dispose();
  }
});

test('/health, /metrics, static hosting, unknown routes, and TLS', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-static-'));
  const site = join(dir, 'site');
  mkdirSync(site);
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>Hearth demo</title>');
  writeFileSync(join(site, 'app.js'), 'console.log("hi")');
  const r = await startRelay({ staticDir: site });
  try {
    const health = await fetch(`${r.relay.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const metrics = await (await fetch(`${r.relay.url}/metrics`)).text();
    for (const name of ['hearth_relay_connections', 'hearth_relay_spaces', 'hearth_relay_entries', 'hearth_relay_bytes_received_total', 'hearth_relay_entry_rejects_total']) {
      assert.match(metrics, new RegExp(`# TYPE ${name} (gauge|counter)\\n${name} \\d+`), name);
    }
    assert.match(await (await fetch(`${r.relay.url}/`)).text(), /Hearth demo/);
    assert.equal(await (await fetch(`${r.relay.url}/app.js`)).text(), 'console.log("hi")');
    const nf = await fetch(`${r.relay.url}/v1/nothing`);
    assert.equal(nf.status, 404);
    const bad = await fetch(`${r.relay.url}/v1/spaces/xyz/challenge`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'HEARTH_RELAY_BAD_REQUEST');
  } finally {
    await r.dispose();
  }

  // TLS with a self-signed certificate for 127.0.0.1
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  const t = await startRelay({ tls: { cert, key: readFileSync(join(dir, 'key.pem')) } });
  try {
    assert.match(t.relay.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      request(`${t.relay.url}/health`, { ca: cert }, (res) => {
        let s = '';
        res.on('data', (d) => (s += d));
        res.on('end', () => resolve(`${res.statusCode} ${s}`));
      })
        .on('error', reject)
        .end();
    });
    assert.match(body, /^200 \{"status":"ok"/);
  } finally {
    await t.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('idle streams (sync, signalling) carry heartbeat comments', { timeout: 60_000 }, async () => {
  const r = await startRelay({ heartbeatMs: 50 });
  const a = await openDevice('A', null);
  try {
    const g = await authenticateRelay({ url: r.relay.url, space: a.keypair.publicKey, keypair: a.keypair });
    for (const path of ['events', 'signal']) {
      const ctl = new AbortController();
      const res = await fetch(`${r.relay.url}/v1/spaces/${hex(a.keypair.publicKey)}/${path}?token=${g.token}`, { signal: ctl.signal });
      const reader = res.body!.getReader();
      let text = '';
      const end = Date.now() + 5000;
      while (!text.includes(': ping\n\n') && Date.now() < end) text += new TextDecoder().decode((await reader.read()).value);
      ctl.abort();
      assert.match(text, /: ping\n\n/, path);
    }
  } finally {
    await closeDevice(a);
    await r.dispose();
  }
});
