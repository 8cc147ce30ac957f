import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CorruptionError } from '@hearth/io';
import {
  applyEdit,
  decodeCurrentV1,
  decodeEditV1,
  emptyState,
  encodeCurrentV1,
  encodeEditV1,
  encodeManifestHeaderV1,
  encodeRecordV1,
  readManifestV1,
  snapshotEdit,
  type Edit,
  type ManifestState,
} from '../src/_manifest.js';

const bytes = fc.uint8Array({ maxLength: 24 });
const tableArb = fc.record({
  file: fc.nat(2 ** 40),
  run: fc.nat(2 ** 50),
  level: fc.nat(40),
  bytes: fc.nat(2 ** 45),
  entries: fc.nat(2 ** 45),
  smallest: bytes,
  largest: bytes,
});
const editArb: fc.Arbitrary<Edit> = fc.record({
  snapshot: fc.boolean(),
  position: fc.option(bytes, { nil: undefined }),
  nextFile: fc.option(fc.nat(2 ** 50), { nil: undefined }),
  lastSequence: fc.option(fc.nat(2 ** 53 - 1), { nil: undefined }),
  deleted: fc.array(fc.nat(2 ** 40), { maxLength: 5 }),
  added: fc.array(tableArb, { maxLength: 5 }),
});

test('manifest: encodeEditV1 / decodeEditV1 round trip', () => {
  fc.assert(
    fc.property(editArb, (e) => {
      const got = decodeEditV1(encodeEditV1(e), 'm');
      const expected: Edit = { snapshot: e.snapshot, deleted: e.deleted, added: e.added.map((t) => ({ ...t })) };
      if (e.position !== undefined) expected.position = e.position;
      if (e.nextFile !== undefined) expected.nextFile = e.nextFile;
      if (e.lastSequence !== undefined) expected.lastSequence = e.lastSequence;
      assert.deepEqual(got, expected);
    }),
    { seed: 7, numRuns: 300 },
  );
});

test('manifest: decodeEditV1 rejects unknown tags, versions and truncation', () => {
  const good = encodeEditV1({ snapshot: true, nextFile: 3, deleted: [], added: [] });
  assert.throws(() => decodeEditV1(Uint8Array.of(2, ...good.subarray(1)), 'm'), CorruptionError);
  assert.throws(() => decodeEditV1(Uint8Array.of(...good, 99), 'm'), CorruptionError);
  assert.throws(() => decodeEditV1(good.subarray(0, good.length - 1), 'm'), CorruptionError);
  // Fields out of order are refused (one canonical encoding).
  assert.throws(() => decodeEditV1(Uint8Array.of(1, 3, 5, 1), 'm'), CorruptionError);
});

/** A manifest file of a snapshot and `n` edits, plus the state after each record. */
function sampleManifest(n: number): { file: Uint8Array; states: ManifestState[]; ends: number[] } {
  const state = emptyState();
  state.nextFile = 10;
  const parts: Uint8Array[] = [encodeManifestHeaderV1()];
  const states: ManifestState[] = [];
  const ends: number[] = [];
  let size = parts[0].length;
  const clone = (s: ManifestState): ManifestState => ({ ...s, tables: new Map(s.tables) });
  const push = (e: Edit) => {
    applyEdit(state, e, 'm', 0);
    const rec = encodeRecordV1(encodeEditV1(e));
    parts.push(rec);
    size += rec.length;
    ends.push(size);
    states.push(clone(state));
  };
  push(snapshotEdit(state));
  for (let i = 0; i < n; i++) {
    const file = 10 + i;
    push({
      snapshot: false,
      position: Uint8Array.of(i),
      nextFile: file + 1,
      lastSequence: 100 * (i + 1),
      deleted: i > 0 ? [file - 1] : [],
      added: [{ file, run: i + 1, level: 0, bytes: 1000 + i, entries: 10 + i, smallest: Uint8Array.of(1), largest: Uint8Array.of(2, i) }],
    });
  }
  const file = new Uint8Array(size);
  let p = 0;
  for (const x of parts) {
    file.set(x, p);
    p += x.length;
  }
  return { file, states, ends };
}

test('manifest: replays every edit', () => {
  const { file, states } = sampleManifest(4);
  const r = readManifestV1(file, 'm');
  assert.equal(r.edits, 5);
  assert.equal(r.tornBytes, 0);
  assert.deepEqual(r.state, states[4]);
  assert.deepEqual([...r.state.tables.keys()], [13]);
  assert.deepEqual(r.state.position, Uint8Array.of(3));
});

test('manifest: a tail cut at any byte is a torn tail: dropped, counted, the state before it kept', () => {
  const { file, states, ends } = sampleManifest(4);
  for (let cut = ends[0]; cut < file.length; cut++) {
    const r = readManifestV1(file.subarray(0, cut), 'm');
    const complete = ends.filter((e) => e <= cut).length;
    assert.equal(r.edits, complete, `cut ${cut}`);
    assert.equal(r.tornBytes, cut - ends[complete - 1], `cut ${cut}`);
    assert.deepEqual(r.state, states[complete - 1], `cut ${cut}`);
  }
  // Cut inside the header or the first (snapshot) record: there is no state to fall back on.
  for (const cut of [0, 5, 16, ends[0] - 1]) assert.throws(() => readManifestV1(file.subarray(0, cut), 'm'), CorruptionError);
});

test('manifest: every single-bit flip is refused with CorruptionError (never a silently different state)', () => {
  const { file } = sampleManifest(3);
  for (let i = 0; i < file.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const f = file.slice();
      f[i] ^= 1 << bit;
      assert.throws(
        () => readManifestV1(f, 'm'),
        (e: unknown) => e instanceof CorruptionError && e.path === 'm' && typeof e.offset === 'number',
        `flip at byte ${i} bit ${bit}`,
      );
    }
  }
});

test('manifest: CURRENT round trip; any bit flip in it is refused', () => {
  const c = encodeCurrentV1('MANIFEST-000042');
  assert.match(new TextDecoder().decode(c), /^MANIFEST-000042\n[0-9a-f]{8}\n$/);
  assert.equal(decodeCurrentV1(c, 'CURRENT'), 'MANIFEST-000042');
  for (let i = 0; i < c.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const f = c.slice();
      f[i] ^= 1 << bit;
      assert.throws(() => decodeCurrentV1(f, 'CURRENT'), CorruptionError, `flip at ${i}.${bit}`);
    }
  }
});
