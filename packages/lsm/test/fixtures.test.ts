/**
 * Committed fixtures (format version 1) must keep opening with the same contents, and today's writer must still
 * produce them byte for byte (a format change needs a new version and new fixtures beside these).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { MemoryFileSystem } from '@hearth/io';
import { openLsm } from '@hearth/lsm';
import { BlockCache } from '../src/_cache.js';
import { KIND_PUT } from '../src/_format.js';
import { RunIter, TableReader } from '../src/_table.js';
import { bloomHash } from '../src/_bloom.js';
import { readManifestV1, decodeCurrentV1 } from '../src/_manifest.js';
import { DB_OPTIONS, TABLE_ENTRIES, buildDb, buildTable, filesOf } from './fixtures/make-fixtures.js';
import { text } from './_util.js';

const fixtures = new URL('./fixtures/', import.meta.url);

test('fixtures: table-v1.sst opens and holds exactly its entries', async () => {
  const bytes = readFileSync(new URL('table-v1.sst', fixtures));
  const fs = new MemoryFileSystem();
  const h = await fs.open('t.sst', { create: true });
  h.write(0, bytes);
  await h.close();
  const reader = await TableReader.open(fs, 't.sst', new BlockCache(1 << 16), { bloomChecks: 0, bloomNegatives: 0 });
  assert.equal(reader.footer.entries, TABLE_ENTRIES.length);
  assert.ok(reader.blocks >= 3, `${reader.blocks} data blocks`);
  const it = new RunIter([{ reader, smallest: new TextEncoder().encode('apple'), largest: new TextEncoder().encode('fig') }], false, true);
  const got = [];
  for (it.first(); it.valid; it.next()) {
    got.push({ key: text(it.kbuf.slice(it.koff, it.koff + it.ulen)), seq: it.seq, kind: it.kind, value: text(it.vbuf.slice(it.voff, it.voff + it.vlen)) });
  }
  assert.deepEqual(got, TABLE_ENTRIES);
  const out = { vbuf: new Uint8Array(0), voff: 0, vlen: 0 };
  const apple = new TextEncoder().encode('apple');
  assert.equal(reader.get(apple, 5, bloomHash(apple), out), KIND_PUT);
  assert.equal(text(out.vbuf.slice(out.voff, out.voff + out.vlen)), 'green');
  await reader.close();
});

test('fixtures: today\'s writer reproduces table-v1.sst byte for byte', async () => {
  const fs = new MemoryFileSystem();
  await buildTable(fs, 't.sst');
  assert.deepEqual((await filesOf(fs, '')).get('t.sst'), new Uint8Array(readFileSync(new URL('table-v1.sst', fixtures))));
});

test('fixtures: db-v1 (CURRENT, manifest, SSTables) opens with its exact contents and position', async () => {
  const dir = new URL('db-v1/', fixtures);
  const names = readdirSync(dir).sort();
  assert.deepEqual(names, ['000006.sst', '000007.sst', 'CURRENT', 'MANIFEST-000001']);
  assert.equal(decodeCurrentV1(readFileSync(new URL('CURRENT', dir)), 'CURRENT'), 'MANIFEST-000001');
  const m = readManifestV1(readFileSync(new URL('MANIFEST-000001', dir)), 'MANIFEST-000001');
  assert.equal(m.tornBytes, 0);
  assert.deepEqual([...m.state.tables.keys()].sort(), [6, 7]);
  assert.equal(text(m.state.position), 'p-3');
  const fs = new MemoryFileSystem();
  await fs.mkdir('db');
  for (const n of names) {
    const h = await fs.open(`db/${n}`, { create: true });
    h.write(0, readFileSync(new URL(n, dir)));
    await h.close();
  }
  const lsm = await openLsm({ fs, ...DB_OPTIONS });
  assert.equal(text(lsm.appliedPosition), 'p-3');
  assert.equal(lsm.sequence, 43);
  const expected: [string, string][] = [];
  for (let i = 0; i < 40; i++) {
    if (i === 6 || i === 7) continue;
    expected.push([`user/${String(i).padStart(2, '0')}`, i === 5 ? 'renamed' : `name ${i}`]);
  }
  expected.push(['zeta', 'last']);
  assert.deepEqual([...lsm.iterate()].map((e) => [text(e.key), text(e.value)]), expected);
  assert.deepEqual(lsm.stats().tables.map((t) => [t.file, t.entries]), [['000007.sst', 2], ['000006.sst', 39]]);
  assert.equal(lsm.stats().recovery.orphansRemoved.length, 0);
  await lsm.close();
});

test('fixtures: today\'s engine reproduces db-v1 byte for byte', async () => {
  const fs = new MemoryFileSystem();
  await buildDb(fs);
  const dir = new URL('db-v1/', fixtures);
  const files = await filesOf(fs, 'db');
  assert.deepEqual([...files.keys()].sort(), readdirSync(dir).sort());
  for (const [name, bytes] of files) assert.deepEqual(bytes, new Uint8Array(readFileSync(new URL(name, dir))), name);
});
