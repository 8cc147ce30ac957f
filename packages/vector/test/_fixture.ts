/**
 * The committed fixtures test/fixtures/hnsw-v1.bin (the worked example of docs/formats/hnsw.md) and
 * test/fixtures/hnsw-v1-int8.bin (a version-1 file with a trained int8 quantiser, which `openIndex` opens without
 * loading its f32 rows), and how they were made. Regenerate only when adding a new format version, never to make a
 * test pass:
 *   node --conditions=hearth-source --import tsx packages/vector/test/_fixture.ts --write
 */
import { writeFileSync } from 'node:fs';
import { HnswIndex, TS_KERNELS, encodeIndexV1 } from '@hearth/vector';

/** Four 2-d vectors, L2, M = 2, seed 7; id "b" is then removed (a tombstone). */
export function makeFixtureIndex(): HnswIndex {
  const h = new HnswIndex({ dim: 2, metric: 'l2', M: 2, efConstruction: 8, efSearch: 8, seed: 7, kernels: TS_KERNELS });
  h.add(1, [0, 0]);
  h.add('b', [1, 0]);
  h.add(3, [0, 1]);
  h.add(4, [1, 1]);
  h.remove('b');
  return h;
}

/**
 * Twelve 3-d vectors (x, y, 1 + x·y / 10) for x in 0..3 and y in 0..2 (id 4y + x), cosine, M = 2,
 * ef_construction 8, seed 11, int8 with trainSize 6 and rescore 2 (so the last six are inserted on int8 codes);
 * id 5 is then removed.
 */
export function makeInt8FixtureIndex(): HnswIndex {
  const h = new HnswIndex({
    dim: 3, metric: 'cosine', M: 2, efConstruction: 8, efSearch: 8, seed: 11, kernels: TS_KERNELS,
    quantization: { type: 'int8', trainSize: 6, rescore: 2 },
  });
  for (let i = 0; i < 12; i++) h.add(i, [i % 4, Math.floor(i / 4), 1 + ((i % 4) * Math.floor(i / 4)) / 10]);
  h.remove(5);
  return h;
}

if (process.argv.includes('--write')) {
  const bytes = encodeIndexV1({ kind: 'hnsw', hnsw: makeFixtureIndex().exportState() });
  writeFileSync(new URL('./fixtures/hnsw-v1.bin', import.meta.url), bytes);
  console.log(`wrote ${bytes.length} bytes`);
}
if (process.argv.includes('--write-int8')) {
  const bytes = encodeIndexV1({ kind: 'hnsw', hnsw: makeInt8FixtureIndex().exportState() });
  writeFileSync(new URL('./fixtures/hnsw-v1-int8.bin', import.meta.url), bytes);
  console.log(`wrote ${bytes.length} bytes`);
}
