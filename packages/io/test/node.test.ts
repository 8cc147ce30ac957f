import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HearthError } from '@hearth/io';
import { NodeFileSystem } from '@hearth/io/node';
import { runCompliance } from './_compliance-node.js';

const base = mkdtempSync(join(tmpdir(), 'hearth-io-node-'));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;

runCompliance(
  'node',
  {
    create: async () => new NodeFileSystem(join(base, `case-${n++}`), { create: true }),
    reopen: async (fs) => new NodeFileSystem((fs as NodeFileSystem).root),
  },
  new NodeFileSystem(base),
);

function code(e: unknown): string | undefined {
  return e instanceof HearthError ? e.code : undefined;
}

test('node fs: root is resolved and only created on request', async () => {
  const root = join(base, 'not-yet');
  const fs = new NodeFileSystem(root);
  assert.equal(existsSync(root), false);
  await assert.rejects(fs.list(''), (e) => code(e) === 'HEARTH_NOT_FOUND');
  const fs2 = new NodeFileSystem(root, { create: true });
  assert.equal(fs2.root, root);
  assert.deepEqual(await fs2.list(''), []);
  assert.throws(() => new NodeFileSystem(''), TypeError);
});

test('node fs: files are plain files under the root (interoperable with other tools)', async () => {
  const root = join(base, 'plain');
  const fs = new NodeFileSystem(root, { create: true });
  await fs.mkdir('db');
  const h = await fs.open('db/a', { create: true });
  h.append(new TextEncoder().encode('hello'));
  await h.sync();
  await h.close();
  assert.equal(readFileSync(join(root, 'db', 'a'), 'utf8'), 'hello');
  writeFileSync(join(root, 'db', 'b'), 'outside');
  assert.deepEqual(await fs.list('db'), ['a', 'b']);
});

test('node fs: ENOSPC maps to HEARTH_QUOTA_EXCEEDED (/dev/full)', async () => {
  assert.ok(existsSync('/dev/full'), '/dev/full is needed for this test (Linux)');
  const fs = new NodeFileSystem('/dev');
  const h = await fs.open('full');
  assert.throws(
    () => h.write(0, new Uint8Array(4096).fill(1)),
    (e) => code(e) === 'HEARTH_QUOTA_EXCEEDED' && (e as Error).cause !== undefined,
  );
  await h.close();
});

test('node fs: other platform errors are HEARTH_IO with the errno as cause', async () => {
  // Opening a directory as a file fails with EISDIR, which has no code of its own.
  const root = join(base, 'eio');
  const fs = new NodeFileSystem(root, { create: true });
  await fs.mkdir('d');
  await assert.rejects(fs.open('d'), (e) => code(e) === 'HEARTH_IO' && (e as { cause?: { code?: string } }).cause?.code === 'EISDIR');
});

test('node fs: close waits for an in-flight sync and the descriptor is never reused by the handle', async () => {
  const fs = new NodeFileSystem(join(base, 'sync-close'), { create: true });
  const h = await fs.open('a', { create: true });
  h.write(0, new Uint8Array([1]));
  const s = h.sync();
  await h.close();
  await s;
  // A new file may get the same descriptor number; the closed handle must not touch it.
  const g = await fs.open('b', { create: true });
  g.write(0, new Uint8Array([2]));
  assert.throws(() => h.write(0, new Uint8Array([9])), (e) => code(e) === 'HEARTH_CLOSED');
  assert.deepEqual([...g.read(0, 10)], [2]);
  await g.close();
});
