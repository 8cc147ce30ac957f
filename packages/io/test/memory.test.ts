import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { runCompliance } from './_compliance-node.js';
import { casesFor, complianceCases } from './compliance.js';

runCompliance('memory', { create: async () => new MemoryFileSystem() }, new MemoryFileSystem());

test('memory fs: declares itself non-persistent, so the persistence cases do not apply', () => {
  const fs = new MemoryFileSystem();
  assert.equal(fs.name, 'memory');
  assert.equal(fs.supports.persistent, false);
  assert.equal(casesFor(fs).length, complianceCases.filter((c) => c.requires === undefined).length);
});

test('memory fs: a handle stays usable after its file is renamed (POSIX-like)', async () => {
  const fs = new MemoryFileSystem();
  const h = await fs.open('a', { create: true });
  h.append(new Uint8Array([1, 2, 3]));
  await fs.rename('a', 'b');
  h.append(new Uint8Array([4]));
  await h.close();
  const g = await fs.open('b');
  assert.deepEqual([...g.read(0, 10)], [1, 2, 3, 4]);
  await g.close();
});
