/**
 * The vector catalog file V1 (`docs/formats/db-layout.md`, "Vector catalog file V1"): the committed fixture
 * decodes to the worked example and re-encodes to the same bytes; encode/decode round-trip (seeded property);
 * every bit flip and truncation is refused with HEARTH_CORRUPTION.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { encodeStateVectorV1 } from '@hearth/log';
import { decodeVectorCatalogV1, encodeVectorCatalogV1, type VectorCatalogV1 } from '@hearth/db';
import { FIXTURE_VECTOR_CATALOG } from './fixtures/make-vector-catalog-fixture.js';

const SEED = Number(process.env.HEARTH_SEED ?? 5150);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fixture = () => new Uint8Array(readFileSync(new URL('./fixtures/vector-catalog-v1.bin', import.meta.url)));
const corrupt = (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION';

test('fixture vector-catalog-v1.bin decodes to the worked example and re-encodes identically', () => {
  const bytes = fixture();
  assert.equal(bytes.length, 164);
  assert.equal(hex(bytes.subarray(0, 8)), hex(new TextEncoder().encode('HRTHVCAT')));
  const cat = decodeVectorCatalogV1(bytes);
  assert.deepEqual(cat, FIXTURE_VECTOR_CATALOG);
  assert.equal(hex(encodeVectorCatalogV1(cat)), hex(bytes));
});

test('a checksummed catalog with values no writer produces is refused', () => {
  const base = FIXTURE_VECTOR_CATALOG.indexes[0];
  const bad = [
    { ...base, dimension: 0 },
    { ...base, M: 1 },
    { ...base, efConstruction: 8 },
    { ...base, efSearch: 0 },
    { ...base, generation: 0 },
    { ...base, state: new Uint8Array(0) },
  ];
  for (const ix of bad) assert.throws(() => decodeVectorCatalogV1(encodeVectorCatalogV1({ nextNumber: 2, indexes: [ix] })), corrupt, JSON.stringify({ ...ix, state: ix.state.length }));
  assert.throws(() => decodeVectorCatalogV1(encodeVectorCatalogV1({ nextNumber: 3, indexes: [base, { ...base, number: 2 }] })), corrupt, 'same field twice');
  assert.throws(() => decodeVectorCatalogV1(encodeVectorCatalogV1({ nextNumber: 3, indexes: [base, { ...base, field: 'other' }] })), corrupt, 'same number twice');
});

test('every bit flip and every truncation of the catalog is refused with HEARTH_CORRUPTION', () => {
  const bytes = fixture();
  for (let i = 0; i < bytes.length * 8; i++) {
    const b = Uint8Array.from(bytes);
    b[i >> 3] ^= 1 << (i & 7);
    assert.throws(() => decodeVectorCatalogV1(b), corrupt, `bit ${i}`);
  }
  for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeVectorCatalogV1(bytes.subarray(0, n)), corrupt, `length ${n}`);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  assert.throws(() => decodeVectorCatalogV1(longer), corrupt);
});

test('encodeVectorCatalogV1 / decodeVectorCatalogV1 round-trip (property)', () => {
  const name = fc.string({ minLength: 1, maxLength: 20, unit: 'grapheme' });
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const index = fc.record({
    number: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    collection: name,
    field: name,
    dimension: fc.integer({ min: 1, max: 65536 }),
    metric: fc.constantFrom('l2', 'ip', 'cosine'),
    quantization: fc.constantFrom('none', 'int8'),
    M: fc.integer({ min: 2, max: 128 }),
    efConstruction: fc.integer({ min: 128, max: 1 << 20 }),
    efSearch: fc.integer({ min: 1, max: 1 << 20 }),
    threshold: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    generation: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    state: fc.uniqueArray(fc.record({ feed: bytes32, seq: fc.integer({ min: 1, max: 2 ** 40 }), hash: bytes32 }), { minLength: 1, maxLength: 3, selector: (e) => hex(e.feed) }).map((items) => encodeStateVectorV1(items)),
    skipped: fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 30 }), reason: fc.constantFrom('missing', 'invalid') }), { maxLength: 5 }),
  });
  fc.assert(
    fc.property(fc.record({ nextNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }), indexes: fc.array(index, { maxLength: 4 }) }), (cat) => {
      // fast-check builds null-prototype records: copy into plain objects
      // (numbers and fields unique; a state vector exactly when a file was saved, as a writer produces them)
      const c: VectorCatalogV1 = {
        nextNumber: cat.nextNumber,
        indexes: cat.indexes.map((ix, n) => ({
          ...ix, number: n + 1, field: `${ix.field}${n}`, state: ix.generation === 0 ? new Uint8Array(0) : ix.state, skipped: ix.skipped.map((s) => ({ ...s })),
        })),
      } as VectorCatalogV1;
      const enc = encodeVectorCatalogV1(c);
      assert.deepEqual(decodeVectorCatalogV1(enc), c);
      assert.equal(hex(encodeVectorCatalogV1(decodeVectorCatalogV1(enc))), hex(enc));
    }),
    { seed: SEED, numRuns: 200 },
  );
});
