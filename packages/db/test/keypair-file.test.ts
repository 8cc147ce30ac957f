import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MemoryFileSystem } from '@hearth/io';
import { keypairFromSecretKey, generateKeypair } from '@hearth/log';
import { Database, decodeKeypairFileV1, encodeKeypairFileV1 } from '@hearth/db';
import { RFC8032_TEST1_SECRET } from './fixtures/make-fixtures.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('fixture keypair-v1.bin holds RFC 8032 TEST 1 and round-trips', () => {
  const bytes = readFileSync(new URL('./fixtures/keypair-v1.bin', import.meta.url));
  const kp = decodeKeypairFileV1(bytes);
  assert.equal(hex(kp.secretKey), RFC8032_TEST1_SECRET);
  assert.equal(hex(kp.publicKey), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  assert.equal(hex(encodeKeypairFileV1(keypairFromSecretKey(kp.secretKey))), hex(bytes));
  const k2 = generateKeypair();
  assert.equal(hex(decodeKeypairFileV1(encodeKeypairFileV1(k2)).publicKey), hex(k2.publicKey));
});

test('every bit flip and every truncation of the keypair file is refused with HEARTH_CORRUPTION', () => {
  const bytes = readFileSync(new URL('./fixtures/keypair-v1.bin', import.meta.url));
  for (let i = 0; i < bytes.length * 8; i++) {
    const b = Uint8Array.from(bytes);
    b[i >> 3] ^= 1 << (i & 7);
    assert.throws(() => decodeKeypairFileV1(b), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION', `bit ${i}`);
  }
  for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeKeypairFileV1(bytes.subarray(0, n)), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION');
});

test('a database without a given keypair creates one in its directory and keeps it across reopen', async () => {
  const fs = new MemoryFileSystem();
  const db = await Database.open({ fs, name: 'x' });
  assert.equal(db.recovery.keypairCreated, true);
  const feed = hex(db.feed);
  await db.close();
  assert.ok(await fs.exists('x/keypair'));
  assert.ok(!(await fs.exists('x/keypair.tmp')));
  const again = await Database.open({ fs, name: 'x' });
  assert.equal(again.recovery.keypairCreated, false);
  assert.equal(hex(again.feed), feed);
  await again.close();
  const given = generateKeypair();
  const fs2 = new MemoryFileSystem();
  const db3 = await Database.open({ fs: fs2, name: 'y', keypair: given });
  assert.equal(hex(db3.feed), hex(given.publicKey));
  await db3.close();
  assert.ok(!(await fs2.exists('y/keypair')), 'a given keypair is not written to disk');
});
