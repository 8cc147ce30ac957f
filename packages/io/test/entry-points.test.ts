import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';

const src = new URL('../src/', import.meta.url).pathname;

test('entry points: the main entry bundles for the browser without any node: import', async () => {
  const r = await build({
    entryPoints: [src + 'index.ts'],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(r.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
  assert.deepEqual(imports.filter((p) => p.startsWith('node:') || p === 'fs' || p === 'path'), []);
  assert.ok(Object.keys(r.metafile.inputs).some((p) => p.endsWith('opfs.ts')), 'OPFS backend is in the main entry');
  assert.ok(!Object.keys(r.metafile.inputs).some((p) => p.endsWith('node.ts')), 'Node backend is not');
});

test('entry points: @hearth/io/node exports NodeFileSystem; the main entry does not', async () => {
  const main = await import('@hearth/io');
  const node = await import('@hearth/io/node');
  assert.equal(typeof node.NodeFileSystem, 'function');
  assert.equal('NodeFileSystem' in main, false);
  for (const name of ['MemoryFileSystem', 'FaultFileSystem', 'OpfsFileSystem', 'HearthError', 'IoError', 'IoErrorCode']) {
    assert.ok(name in main, name);
  }
});
