import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError, MemoryFileSystem, type FileHandle, type FileSystem } from '@hearth/io';
import { Block, BlockBuilder } from '../src/_block.js';
import { bloomHash } from '../src/_bloom.js';
import { BlockCache, BlockSlots, type CacheNode, type CacheOwner } from '../src/_cache.js';
import { KIND_PUT } from '../src/_format.js';
import { TableReader, TableWriter, type GetResult } from '../src/_table.js';
import { rng, withSeed } from './_util.js';

const stats = () => ({ bloomChecks: 0, bloomNegatives: 0 });

/** A one-entry block (content only); its charge is its length + 64. */
function tinyBlock(): Block {
  const b = new BlockBuilder(16, 64);
  const k = new TextEncoder().encode('k');
  b.add(k, 0, 1, 1, KIND_PUT, k, 0, 1);
  const raw = b.finish();
  return new Block(raw.slice(0, raw.length - 4), 'x', 0);
}

const owner = (cacheId: number): CacheOwner & { cached: Map<number, CacheNode> } => ({ cached: new Map<number, CacheNode>(), cacheId });

test('block cache: admits while it has room; when full, only a block missed twice (doorkeeper)', () => {
  const block = tinyBlock();
  const cache = new BlockCache(block.charge * 8);
  const a = owner(1);
  const b = owner(2);
  for (let i = 0; i < 8; i++) {
    assert.equal(cache.admit(a, i * 100, block.charge), true, `room for block ${i}`);
    cache.insert(a, i * 100, block);
  }
  assert.equal(cache.bytes, block.charge * 8);
  // Full: the first miss of a block is not admitted, the second is, and that clears its fingerprint.
  assert.equal(cache.admit(b, 4096, block.charge), false, 'first miss');
  assert.equal(cache.bypassed, 1);
  assert.equal(cache.admit(b, 4096, block.charge), true, 'second miss');
  assert.equal(cache.admit(b, 4096, block.charge), false, 'fingerprint cleared after admission');
  // Same offset, another owner: a different block.
  assert.equal(cache.admit(a, 2 ** 40 + 4096, block.charge), false, 'other owner, offset above 2^32');
  // Larger than the whole cache: never.
  assert.equal(cache.admit(a, 0, block.charge * 9), false);
  assert.equal(new BlockCache(0).admit(a, 0, 1), false);
  // Insert of an admitted block evicts the least recently used one and keeps the byte bound (invariant 1).
  cache.insert(b, 4096, block);
  assert.equal(cache.bytes, block.charge * 8);
  assert.equal(a.cached.has(0), false, 'LRU block evicted');
  assert.equal(b.cached.has(4096), true);
});

/** Wraps a file system so that its handles have no `readInto` (the allocating fallback path). */
function withoutReadInto(fs: FileSystem): FileSystem {
  return new Proxy(fs, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop !== 'open' || typeof v !== 'function') return typeof v === 'function' ? v.bind(target) : v;
      return async (...args: Parameters<FileSystem['open']>) => {
        const h = await target.open(...args);
        return new Proxy(h, {
          get(t, p) {
            if (p === 'readInto') return undefined;
            const x = Reflect.get(t, p, t) as unknown;
            return typeof x === 'function' ? x.bind(t) : x;
          },
        }) as FileHandle;
      };
    },
  });
}

async function buildTable(fs: FileSystem, n: number, seed: number): Promise<{ keys: Uint8Array[]; values: Uint8Array[] }> {
  const r = rng(seed);
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    keys.push(new TextEncoder().encode(`key-${String(i).padStart(6, '0')}`));
    values.push(Uint8Array.from({ length: 20 + Math.floor(r() * 120) }, () => Math.floor(r() * 256)));
  }
  const h = await fs.open('t.sst', { create: true, exclusive: true });
  const w = new TableWriter(h, { blockBytes: 512, restartInterval: 4, bloomBitsPerKey: 10 });
  for (let i = 0; i < n; i++) w.add(keys[i], 0, keys[i].length, i + 1, KIND_PUT, values[i], 0, values[i].length);
  w.finish();
  await h.sync();
  await h.close();
  return { keys, values };
}

for (const variant of ['readInto', 'read only'] as const) {
  test(`block cache: point lookups through a full cache return the right values (${variant})`, async () => {
    await withSeed(21, async () => {
      const mem = new MemoryFileSystem();
      const fs = variant === 'readInto' ? mem : withoutReadInto(mem);
      const { keys, values } = await buildTable(fs, 2000, 21);
      const cache = new BlockCache(4 * 1024); // a few 512-byte blocks: full almost at once
      const reader = await TableReader.open(fs, 't.sst', cache, stats());
      assert.ok(reader.blocks > 100, `${reader.blocks} blocks`);
      const out: GetResult = { vbuf: new Uint8Array(0), voff: 0, vlen: 0 };
      const r = rng(22);
      for (let pass = 0; pass < 3; pass++) {
        for (let j = 0; j < keys.length; j++) {
          const i = Math.floor(r() * keys.length);
          assert.equal(reader.get(keys[i], 2 ** 40, bloomHash(keys[i]), out), KIND_PUT, `key ${i}`);
          assert.deepEqual(out.vbuf.slice(out.voff, out.voff + out.vlen), values[i], `value ${i}`);
        }
      }
      assert.ok(cache.bytes <= cache.capacity);
      assert.ok(cache.bypassed > 0, 'random misses bypass the full cache');
      // A hot key read repeatedly gets its block admitted (second miss) and then hits.
      const hits = cache.hits;
      for (let k = 0; k < 5; k++) reader.get(keys[7], 2 ** 40, bloomHash(keys[7]), out);
      assert.ok(cache.hits >= hits + 3, `hot block cached (${cache.hits - hits} hits)`);
      // Invariant 3 of _cache.ts: no cached block is a view of the scratch buffer.
      const scratch = cache.scratch(0).buffer;
      for (const node of reader.cached.values()) assert.notEqual(node.block.data.buffer, scratch);
      await reader.close();
      assert.equal(cache.bytes, 0);
    });
  });
}

test('block cache: a corrupt block read through the scratch buffer is CorruptionError', async () => {
  const fs = new MemoryFileSystem();
  const { keys } = await buildTable(fs, 500, 23);
  const cache = new BlockCache(0); // admits nothing: every read goes through the scratch buffer
  const reader = await TableReader.open(fs, 't.sst', cache, stats());
  const out: GetResult = { vbuf: new Uint8Array(0), voff: 0, vlen: 0 };
  assert.equal(reader.get(keys[0], 2 ** 40, bloomHash(keys[0]), out), KIND_PUT);
  const h = await fs.open('t.sst');
  const b = h.read(20, 1);
  h.write(20, Uint8Array.of(b[0] ^ 0x40)); // inside data block 0
  await h.close();
  assert.throws(() => reader.get(keys[0], 2 ** 40, bloomHash(keys[0]), out), (e: unknown) => {
    return e instanceof CorruptionError && /data block checksum mismatch/.test(e.message);
  });
  // Other blocks still read fine.
  assert.equal(reader.get(keys[499], 2 ** 40, bloomHash(keys[499]), out), KIND_PUT);
  assert.equal(cache.bytes, 0);
  await reader.close();
});

test('block cache: CLOCK replacement gives a block hit since insertion a second chance', () => {
  const block = tinyBlock();
  const cache = new BlockCache(block.charge * 4);
  const a = owner(1);
  for (let i = 0; i < 4; i++) cache.insert(a, i, block);
  // Block 0 is the oldest but was hit; block 1 is the oldest unreferenced one and goes first.
  assert.equal(cache.get(a, 0), block);
  cache.insert(a, 4, block);
  assert.deepEqual([...a.cached.keys()].sort(), [0, 2, 3, 4]);
  assert.equal(cache.bytes, block.charge * 4);
  // Block 0 lost its flag and went back to the front (just before block 4 came in): blocks 2 and 3 go before it,
  // then, without a new hit, block 0 itself, then block 4.
  cache.insert(a, 5, block);
  cache.insert(a, 6, block);
  assert.deepEqual([...a.cached.keys()].sort(), [0, 4, 5, 6]);
  cache.insert(a, 7, block);
  assert.deepEqual([...a.cached.keys()].sort(), [4, 5, 6, 7]);
  cache.insert(a, 8, block);
  assert.deepEqual([...a.cached.keys()].sort(), [5, 6, 7, 8]);
  // Every block referenced: the hand clears them all and evicts the oldest (no endless loop, never the new one).
  for (const k of [5, 6, 7, 8]) cache.get(a, k);
  cache.insert(a, 9, block);
  assert.deepEqual([...a.cached.keys()].sort(), [6, 7, 8, 9]);
  assert.equal(cache.bytes, block.charge * 4);
  assert.equal(cache.hits, 5);
});

test('block cache: BlockSlots (a table reader\'s slots by block number) behaves as the Map it replaces', () => {
  const block = tinyBlock();
  const cache = new BlockCache(block.charge * 3);
  const slots = new BlockSlots(5);
  const t = { cached: slots, cacheId: 9 };
  for (const k of [4, 0, 2]) cache.insert(t, k, block);
  assert.equal(slots.size, 3);
  assert.equal(cache.get(t, 2), block);
  assert.equal(cache.get(t, 1), undefined);
  assert.deepEqual([...slots.values()].map((n) => n.key).sort(), [0, 2, 4]);
  // Full: inserting block 3 evicts block 4 (the oldest not hit), and the slot is emptied with it.
  cache.insert(t, 3, block);
  assert.equal(slots.has(4), false);
  assert.equal(slots.size, 3);
  assert.throws(() => slots.set(5, slots.get(0)!), RangeError);
  assert.throws(() => slots.set(-1, slots.get(0)!), RangeError);
  cache.drop(t);
  assert.equal(slots.size, 0);
  assert.equal(cache.bytes, 0);
  assert.deepEqual([...slots.values()], []);
});
