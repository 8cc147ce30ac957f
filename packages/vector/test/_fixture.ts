/**
 * The committed fixture test/fixtures/hnsw-v1.bin and how it was made (also the worked example of
 * docs/formats/hnsw.md). Regenerate only when adding a new format version, never to make a test pass:
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

if (process.argv.includes('--write')) {
  const bytes = encodeIndexV1({ kind: 'hnsw', hnsw: makeFixtureIndex().exportState() });
  writeFileSync(new URL('./fixtures/hnsw-v1.bin', import.meta.url), bytes);
  console.log(`wrote ${bytes.length} bytes`);
}
