/**
 * `IdbFileSystem` outside a browser: Node has no IndexedDB, so the backend must say so with a typed error (never
 * a crash at import time), and the main entry must still bundle for the browser with `idb` inside. The backend's
 * behaviour is tested in Chromium: `test/browser/io-idb.test.ts`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { HearthError, IDB_DEFAULT_CHUNK_SIZE, IDB_FORMAT_MAGIC, IDB_SCHEMA_VERSION, IdbFileSystem } from '@hearth/io';

const isCode = (code: string) => (e: unknown) => e instanceof HearthError && e.code === code;

test('idb: without IndexedDB, open and destroy are HEARTH_UNSUPPORTED and isAvailable is false', async () => {
  assert.equal(typeof (globalThis as { indexedDB?: unknown }).indexedDB, 'undefined', 'precondition: Node has no IndexedDB');
  assert.equal(IdbFileSystem.isAvailable(), false);
  await assert.rejects(IdbFileSystem.open('db'), isCode('HEARTH_UNSUPPORTED'));
  await assert.rejects(IdbFileSystem.destroy('db'), isCode('HEARTH_UNSUPPORTED'));
});

test('idb: argument errors come before the availability check', async () => {
  await assert.rejects(IdbFileSystem.open(''), RangeError);
  await assert.rejects(IdbFileSystem.open(undefined as unknown as string), TypeError);
  await assert.rejects(IdbFileSystem.open('db', { chunkSize: 1000 }), RangeError);
  await assert.rejects(IdbFileSystem.open('db', { chunkSize: 2 }), RangeError);
  await assert.rejects(IdbFileSystem.open('db', { chunkSize: 1 << 25 }), RangeError);
  await assert.rejects(IdbFileSystem.destroy(''), RangeError);
});

test('idb: released constants', () => {
  assert.equal(IDB_SCHEMA_VERSION, 1);
  assert.equal(IDB_FORMAT_MAGIC, 'hearth-idb-fs');
  assert.equal(IDB_DEFAULT_CHUNK_SIZE, 65536);
});

test('idb: the main entry bundles for the browser with idb and the IndexedDB backend, no node: import', async () => {
  const r = await build({
    entryPoints: [new URL('../src/index.ts', import.meta.url).pathname],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  assert.ok(inputs.some((p) => p.endsWith('src/idb.ts')), 'idb.ts is in the main entry');
  assert.ok(inputs.some((p) => p.includes('node_modules/idb/')), 'the idb library is bundled');
  const imports = Object.values(r.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  assert.deepEqual(imports.filter((p) => p.startsWith('node:')), []);
});
