/**
 * Corruption test: flip bits in SSTables, the manifest and CURRENT of a closed store; each flip must be reported
 * as CorruptionError (with the file's path) on open or on a read that touches the damaged bytes, and no read may
 * return a wrong value. The SSTable format has no padding or unused bytes: every byte is under a CRC-32C (data
 * blocks, filter, index, footer), and open checks that the checksummed regions tile the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError, MemoryFileSystem, countHandles } from '@hearth/io';
import { openLsm, type Lsm } from '@hearth/lsm';
import { hex, rng } from './_util.js';

const OPTIONS = { dir: 'db', memtableBytes: 4096, blockBytes: 256, tableBytes: 2048 };
const keyOf = (i: number) => new TextEncoder().encode(`key-${String(i).padStart(4, '0')}`);
const valueOf = (i: number) => new TextEncoder().encode(`value-${i}-${'v'.repeat(i % 17)}`);

async function build(): Promise<{ fs: MemoryFileSystem; files: Map<string, Uint8Array>; expected: Map<string, string> }> {
  const fs = new MemoryFileSystem();
  const lsm = await openLsm({ fs, ...OPTIONS });
  const expected = new Map<string, string>();
  for (let i = 0; i < 300; i++) {
    await lsm.put(keyOf(i), valueOf(i));
    expected.set(hex(keyOf(i)), hex(valueOf(i)));
    if (i % 7 === 0) {
      await lsm.delete(keyOf(i));
      expected.delete(hex(keyOf(i)));
    }
  }
  await lsm.flush();
  await lsm.compact();
  // One more flushed run on top, so the manifest has edits after its snapshot record.
  await lsm.put(keyOf(1000), valueOf(1000));
  await lsm.flush();
  expected.set(hex(keyOf(1000)), hex(valueOf(1000)));
  await lsm.close();
  const files = new Map<string, Uint8Array>();
  for (const name of await fs.list('db')) {
    const h = await fs.open(`db/${name}`);
    files.set(name, h.read(0, h.size()));
    await h.close();
  }
  return { fs, files, expected };
}

async function withFlip(files: Map<string, Uint8Array>, name: string, byte: number, bit: number): Promise<MemoryFileSystem> {
  const fs = new MemoryFileSystem();
  await fs.mkdir('db');
  for (const [n, content] of files) {
    const c = content.slice();
    if (n === name) c[byte] ^= 1 << bit;
    const h = await fs.open(`db/${n}`, { create: true });
    h.write(0, c);
    await h.close();
  }
  return fs;
}

/** Opens and reads everything; returns the error, or undefined if every read matched `expected`. */
async function readAll(fs: MemoryFileSystem, expected: Map<string, string>): Promise<unknown> {
  let lsm: Lsm;
  try {
    lsm = await openLsm({ fs, ...OPTIONS, blockCacheBytes: 0 });
  } catch (e) {
    return e;
  }
  try {
    const got = new Map([...lsm.iterate()].map((e) => [hex(e.key), hex(e.value)]));
    assert.deepEqual(got, expected, 'iteration returned wrong data without an error');
    for (let i = 0; i < 300; i += 1) {
      const v = lsm.get(keyOf(i));
      assert.equal(v === undefined ? undefined : hex(v), expected.get(hex(keyOf(i))), `get(${i}) returned a wrong value without an error`);
    }
    const back = [...lsm.iterate({ reverse: true })].map((e) => [hex(e.key), hex(e.value)]);
    assert.deepEqual(back, [...expected].sort((a, b) => (a[0] < b[0] ? 1 : -1)));
    return undefined;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    return e;
  } finally {
    await lsm.close();
  }
}

test('corruption: bit flips in SSTables are detected on open or read, never returned as data', async () => {
  const { files, expected } = await build();
  const tables = [...files.keys()].filter((n) => n.endsWith('.sst'));
  assert.ok(tables.length >= 2, `${tables.length} tables`);
  const r = rng(2024);
  let checked = 0;
  for (const name of tables) {
    const size = files.get(name)!.length;
    // Every byte of the last 120 (footer, end of the index), and 150 random ones elsewhere.
    const offsets = new Set<number>();
    for (let i = Math.max(0, size - 120); i < size; i++) offsets.add(i);
    while (offsets.size < Math.min(size, 270)) offsets.add(Math.floor(r() * size));
    for (const byte of offsets) {
      const bit = Math.floor(r() * 8);
      const err = await readAll(await withFlip(files, name, byte, bit), expected);
      assert.ok(err instanceof CorruptionError, `flip ${name}@${byte}.${bit}: expected CorruptionError, got ${String(err)}`);
      assert.ok((err as CorruptionError).path?.endsWith(name), `flip ${name}@${byte}.${bit}: error names ${(err as CorruptionError).path}`);
      checked++;
    }
  }
  assert.ok(checked > 400);
});

test('corruption: bit flips at every byte of the manifest and CURRENT are refused on open', async () => {
  const { files, expected } = await build();
  for (const name of [...files.keys()].filter((n) => n.startsWith('MANIFEST-') || n === 'CURRENT')) {
    const size = files.get(name)!.length;
    const r = rng(7);
    for (let byte = 0; byte < size; byte++) {
      // Every bit of CURRENT and of the manifest's header and first record header; one random bit elsewhere.
      const bits = name === 'CURRENT' || byte < 28 ? [0, 1, 2, 3, 4, 5, 6, 7] : [Math.floor(r() * 8)];
      for (const bit of bits) {
        const err = await readAll(await withFlip(files, name, byte, bit), expected);
        assert.ok(err instanceof CorruptionError, `flip ${name}@${byte}.${bit}: expected CorruptionError, got ${String(err)}`);
      }
    }
  }
});

test('corruption: when one live SSTable is missing, the tables opened beside it are closed again (open opens them all at once)', async () => {
  const { files } = await build();
  const tables = [...files.keys()].filter((n) => n.endsWith('.sst')).sort();
  assert.ok(tables.length >= 2, `the fixture needs several tables, has ${tables.length}`);
  const fs = await withFlip(files, '', 0, 0);
  await fs.remove(`db/${tables[tables.length - 1]}`); // the last in file order: every other one opens first
  // Count handles: OPFS sync access handles are exclusive, so one left open would block the next open.
  const counting = countHandles(fs);
  const err = await openLsm({ fs: counting.fs, ...OPTIONS }).catch((e: unknown) => e);
  assert.ok(err instanceof CorruptionError && err.message.includes(tables[tables.length - 1]), String(err));
  assert.ok(counting.opened >= tables.length - 1, `expected the other ${tables.length - 1} tables to be opened, ${counting.opened} handles were`);
  assert.equal(counting.open, 0, 'handles left open after the failed open');
});

test('corruption: a missing live SSTable, or CURRENT missing next to tables, is refused', async () => {
  const { files, expected } = await build();
  const fs = await withFlip(files, '', 0, 0);
  const table = [...files.keys()].find((n) => n.endsWith('.sst'))!;
  await fs.remove(`db/${table}`);
  const err = await readAll(fs, expected);
  assert.ok(err instanceof CorruptionError && /missing/.test(err.message), String(err));
  const fs2 = await withFlip(files, '', 0, 0);
  await fs2.remove('db/CURRENT');
  assert.ok((await readAll(fs2, expected)) instanceof CorruptionError);
});
