import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { keypairFromSecretKey } from '@hearth/log';
import { Database } from '../src/index.js';

test('compact() merges the LSM runs and loses nothing; it waits for queued writes; closed is HEARTH_CLOSED', async () => {
  const fs = new MemoryFileSystem();
  const keypair = keypairFromSecretKey(new Uint8Array(32).fill(4));
  const db = await Database.open({ fs, name: 'db', keypair, lsm: { memtableBytes: 64 * 1024 } });
  for (let b = 0; b < 10; b++) {
    await db.transaction((tx) => {
      for (let i = 0; i < 300; i++) tx.put('c', `k${b * 300 + i}`, { v: b * 300 + i, pad: 'x'.repeat(40) });
    });
  }
  await db.transaction((tx) => {
    for (let i = 0; i < 3000; i += 2) tx.delete('c', `k${i}`);
  });
  const pending = db.put('c', 'late', { v: -1 }); // queued before compact: committed first
  const tablesBefore = (await fs.list('db/lsm')).filter((n) => n.endsWith('.sst')).length;
  await db.compact({ full: true });
  await pending;
  const tablesAfter = (await fs.list('db/lsm')).filter((n) => n.endsWith('.sst')).length;
  assert.ok(tablesBefore > 1 && tablesAfter < tablesBefore, `${tablesBefore} -> ${tablesAfter} tables`);
  assert.equal(db.get('c', 'k1')?.v, 1);
  assert.equal(db.get('c', 'k2'), undefined);
  assert.equal(db.get('c', 'late')?.v, -1);
  assert.equal([...db.iterate('c')].length, 1501);
  await db.close();
  await assert.rejects(db.compact(), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CLOSED');
  const again = await Database.open({ fs, name: 'db', keypair });
  assert.equal([...again.iterate('c')].length, 1501);
  await again.close();
});
