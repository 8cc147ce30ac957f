/**
 * The relay CLI end to end in a temp directory: `serve` (a device syncs into it, SIGTERM shuts it down cleanly),
 * `verify` (every feed checks out; a damaged feed is reported with exit code 1), `export` / `import` (JSONL round
 * trip into a fresh data directory gives the same documents), `rebuild` (views rebuilt from the feeds, same
 * documents), and usage errors (exit code 2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, readSync, fstatSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Relay } from '@hearth/relay';
import { ES, closeDevice, connect, hex, openDevice, sameState, until } from './relay-helpers.js';
import { openRelayTransport } from '@hearth/sync';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(root, 'apps/relay/src/cli.ts');
const NODE_ARGS = ['--conditions=hearth-source', '--import', 'tsx', CLI];

function run(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: root, input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

test('CLI: serve, SIGTERM, verify, export, import, rebuild round trip', { timeout: 400_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-cli-'));
  const data = join(dir, 'data');
  let killOnFailure = (): void => undefined; // the served relay must not outlive a failed test
  try {
    // serve on a free port
    const child = spawn(process.execPath, [...NODE_ARGS, 'serve', '--port', '0', '--data', data, '--no-static'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
    killOnFailure = () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    await until(() => /listening on (\S+)/.test(out) || child.exitCode !== null, 'the relay to listen', 120_000);
    const url = /listening on (\S+)/.exec(out)?.[1];
    assert.ok(url, `no URL printed: ${out} ${err}`);

    const device = await openDevice('A', null);
    const space = device.keypair.publicKey;
    const spaceHex = hex(space);
    try {
      const { relayKey } = await connect(device, { url } as Relay);
      await device.node.admit(relayKey);
      await device.db.put('notes', 'n1', { title: 'hello', tags: ['a', 'b'], nested: { x: 1.5, on: true, none: null } });
      await device.db.put('notes', 'n2', { title: 'bytes', blob: new Uint8Array([0, 1, 254, 255]) });
      await device.db.put('vectors', 'v1', { embedding: new Float32Array([0.5, -1.25, 3]) });
      await device.db.delete('notes', 'n2');
      await device.db.put('notes', 'n3', { title: 'three' });
      // wait until a second device sees everything: then the relay held it durably
      const check = await openDevice('B', space);
      await device.node.admit(check.keypair.publicKey);
      await until(() => device.node.membership.isMember(check.keypair.publicKey), 'B admitted locally', 60_000);
      try {
        // the admission reaches the relay asynchronously: retry while it answers HEARTH_NOT_MEMBER (bounded)
        let opened: Awaited<ReturnType<typeof openRelayTransport>> | null = null;
        for (let i = 0; opened === null; i++) {
          try {
            opened = await openRelayTransport({ url, space, keypair: check.keypair, EventSource: ES });
          } catch (e) {
            if ((e as { code?: string }).code !== 'HEARTH_NOT_MEMBER' || i >= 300) throw e;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        const { transport } = opened;
        check.node.connect(transport);
        await until(() => sameState(check.db, device.db), 'B to receive everything from the served relay', 60_000);
      } finally {
        await closeDevice(check);
      }
      // keygen + token: a server-side app's key, admitted by the admin device, gets a token and queries
      const keyFile = join(dir, 'app.key');
      const kg = run(['keygen', '--out', keyFile]);
      assert.equal(kg.code, 0, kg.err);
      const appKey = kg.out.trim();
      assert.match(appKey, /^[0-9a-f]{64}$/);
      await device.node.admit(Uint8Array.from(Buffer.from(appKey, 'hex')));
      await new Promise((r) => setTimeout(r, 300));
      let tok = run(['token', '--url', url, '--space', spaceHex, '--key', keyFile]);
      for (let i = 0; i < 20 && tok.code !== 0; i++) {
        await new Promise((r) => setTimeout(r, 200)); // the admission is still on its way to the relay
        tok = run(['token', '--url', url, '--space', spaceHex, '--key', keyFile]);
      }
      assert.equal(tok.code, 0, tok.err);
      const q = await fetch(`${url}/v1/spaces/${spaceHex}/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tok.out.trim()}` }, body: JSON.stringify({ query: { collection: 'notes', select: ['title'] } }) });
      assert.deepEqual(((await q.json()) as { rows: unknown[] }).rows, [{ id: 'n1', doc: { title: 'hello' } }, { id: 'n3', doc: { title: 'three' } }]);
      assert.equal(run(['keygen', '--out', keyFile]).code, 1, 'keygen overwrote a key file');
    } finally {
      await closeDevice(device);
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /hearth_relay_spaces 1/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `serve exited badly: ${out} ${err}`);
    assert.match(out, /SIGTERM: shutting down/);
    assert.match(out, /relay stopped/);

    // verify: every feed checks out
    const v = run(['verify', '--data', data]);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, new RegExp(`${spaceHex}: 1 feeds, 8 entries verified, 0 problems`));

    // export → import into a fresh directory → export again: the same documents
    const file = join(dir, 'docs.jsonl');
    const e = run(['export', '--data', data, '--space', spaceHex, '--out', file]);
    assert.equal(e.code, 0, e.err);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 3, lines.join('\n'));
    assert.deepEqual(JSON.parse(lines[0]), { collection: 'notes', id: 'n1', doc: { title: 'hello', tags: ['a', 'b'], nested: { x: 1.5, on: true, none: null } } });
    assert.deepEqual(JSON.parse(lines[2]), { collection: 'vectors', id: 'v1', doc: { embedding: { $f32: [0.5, -1.25, 3] } } });
    const data2 = join(dir, 'data2');
    const i = run(['import', '--data', data2, '--space', spaceHex, '--in', file]);
    assert.equal(i.code, 0, i.err);
    assert.match(i.err, /imported 3 documents/);
    const e2 = run(['export', '--data', data2, '--space', spaceHex]);
    assert.equal(e2.code, 0, e2.err);
    assert.equal(e2.out, readFileSync(file, 'utf8'));
    // stdin import of a line with bytes, then export shows the bytes round-trip
    const i2 = run(['import', '--data', data2, '--space', spaceHex], '{"collection":"bin","id":"b","doc":{"blob":{"$bytes":"AAH-_w"}}}\n');
    assert.equal(i2.code, 0, i2.err);
    assert.match(run(['export', '--data', data2, '--space', spaceHex]).out, /\{"collection":"bin","id":"b","doc":\{"blob":\{"\$bytes":"AAH-_w"\}\}\}/);
    // a malformed line and a _members line are refused with the line number
    const bad = run(['import', '--data', data2, '--space', spaceHex], '{"collection":"x","id":"1","doc":{}}\nnot json\n');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /HEARTH_RELAY_BAD_REQUEST: line 2: not JSON/);
    assert.match(run(['import', '--data', data2, '--space', spaceHex], '{"collection":"_members","id":"1","doc":{}}\n').err, /only admins write/);

    // rebuild: views from the feeds, same documents
    const rb = run(['rebuild', '--data', data]);
    assert.equal(rb.code, 0, rb.err);
    assert.match(rb.out, new RegExp(`${spaceHex}: rebuilt from 1 feeds, state hash [0-9a-f]{64}`));
    assert.equal(run(['export', '--data', data, '--space', spaceHex]).out, readFileSync(file, 'utf8'));

    // a damaged feed: verify reports it (exit 1)
    const broken = join(dir, 'broken');
    cpSync(data, broken, { recursive: true });
    const feedsDir = join(broken, spaceHex, 'feeds');
    const feedFile = readdirSync(feedsDir).find((f) => f.startsWith(spaceHex) && f.endsWith('.feed'))!;
    const fd = openSync(join(feedsDir, feedFile), 'r+');
    const size = fstatSync(fd).size;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, Math.floor(size / 2));
    b[0] ^= 0xff;
    writeSync(fd, b, 0, 1, Math.floor(size / 2));
    closeSync(fd);
    const vb = run(['verify', '--data', broken]);
    assert.equal(vb.code, 1, vb.out + vb.err);
    assert.match(vb.out + vb.err, /HEARTH_[A-Z_]+/);

    // usage errors
    assert.equal(run(['frobnicate']).code, 2);
    assert.equal(run(['export', '--data', data]).code, 2);
    assert.equal(run(['serve', '--port', 'x', '--data', data]).code, 2);
    assert.equal(run(['serve', '--bogus']).code, 2);
    writeFileSync(join(dir, 'x'), '');
  } finally {
    killOnFailure();
    rmSync(dir, { recursive: true, force: true });
  }
});
