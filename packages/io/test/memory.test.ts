import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';

test('memory fs: smoke', async () => {
  const fs = new MemoryFileSystem();
  const h = await fs.open('a', { create: true });
  h.append(new Uint8Array([1, 2, 3]));
  assert.deepEqual([...h.read(1, 10)], [2, 3]);
});
