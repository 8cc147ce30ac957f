/**
 * Excluded ranges (`packages/db/src/exclusions.ts`): entries stored in a feed but left out of every view. The case
 * they exist for: a replica that stored a removed device's entries before it learnt of the removal must end with
 * the same documents as a replica that refused them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { MemoryFileSystem } from '@hearth/io';
import { keypairFromSecretKey } from '@hearth/log';
import { Database, decodeExcludedFileV1, encodeExcludedFileV1, normalizeRanges, type ExcludedRange } from '@hearth/db';
import { allEntries, docsOf, hex, modelOf } from './db-helpers.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const kp = (n: number) => keypairFromSecretKey(new Uint8Array(32).fill(n));
let t = 1_763_700_000_000;
const wallClock = () => t;

async function open(fs: MemoryFileSystem, name: string, n: number): Promise<Database> {
  return Database.open({ fs, name, keypair: kp(n), wallClock });
}

test('a replica that stored entries past a removal converges with one that never stored them', async () => {
  const fs = new MemoryFileSystem();
  const d = await open(fs, 'd', 2); // the device that will be removed
  await d.put('notes', 'a', { text: 'before', n: 1 });
  await d.put('notes', 'b', { text: 'kept' });
  const cut = (await d.entriesSince(d.feed, 0, 10)).at(-1)!.hlc; // removal time: after d's first two entries
  t += 1000;
  await d.put('notes', 'a', { text: 'after the removal', n: 2 });
  await d.delete('notes', 'b');
  await d.put('notes', 'c', { text: 'new after the removal' });
  const all = await d.entriesSince(d.feed, 0, 100);

  const early = await open(fs, 'early', 3); // stored everything before learning of the removal
  await early.put('notes', 'z', { text: 'own' });
  assert.equal((await early.ingest(all)).feeds[0].appended, 5);
  assert.equal(early.get('notes', 'c')?.text, 'new after the removal');

  const late = await open(fs, 'late', 4); // knew of the removal first: refused the later entries
  await late.ingest([...(await early.entriesSince(early.feed, 0, 10))]);
  const range: ExcludedRange = { feed: d.feed, after: cut, upTo: null };
  assert.equal(await late.setExcludedRanges([range]), false, 'nothing held is affected: no rebuild');
  await late.ingest(all.filter((e) => e.hlc <= cut));

  assert.equal(await early.setExcludedRanges([range]), true, 'entries held change status: views rebuilt');
  const expected = modelOf([...(await allEntries(early))].filter((e) => !(hex(e.feed) === hex(d.feed) && e.hlc > cut)));
  assert.deepEqual(docsOf(early, ['notes']), expected);
  assert.deepEqual(docsOf(late, ['notes']), expected);
  assert.equal(hex(early.stateHash()), hex(late.stateHash()));
  assert.deepEqual(early.get('notes', 'a'), { text: 'before', n: 1 });
  assert.equal(early.get('notes', 'c'), undefined);
  // The entries stay stored and served: the log is append-only.
  assert.equal((await early.entriesSince(d.feed, 0, 100)).length, 5);

  // Persisted: a reopen (replaying nothing, or everything with { rebuild: true }) keeps excluding them.
  await early.close();
  for (const rebuild of [false, true]) {
    const again = await Database.open({ fs, name: 'early', keypair: kp(3), wallClock, rebuild });
    assert.deepEqual(docsOf(again, ['notes']), expected);
    assert.equal(again.excludedRanges().length, 1);
    await again.close();
  }

  // Lifting the exclusion (a re-admission covering the range) brings the entries back.
  const again = await open(fs, 'early', 3);
  assert.equal(await again.setExcludedRanges([]), true);
  assert.equal(again.get('notes', 'c')?.text, 'new after the removal');
  await again.close();
  await Promise.all([d.close(), late.close()]);
});

/**
 * Device `d` writes `c/x = {v: 1}`, then (a second later) `later`; returns it and the HLC of its first entry (the
 * lower bound of a range that excludes everything after it).
 */
async function writerWithCut(fs: MemoryFileSystem, later: readonly [string, Record<string, number>][]): Promise<{ d: Database; cut: bigint }> {
  const d = await open(fs, 'd', 2);
  await d.put('c', 'x', { v: 1 });
  const cut = (await d.entriesSince(d.feed, 0, 10))[0].hlc;
  t += 1000;
  for (const [id, doc] of later) await d.put('c', id, doc);
  return { d, cut };
}

test('entries ingested after the ranges are set are excluded as they are applied, also on replay after a crash', async () => {
  const fs = new MemoryFileSystem();
  const { d, cut } = await writerWithCut(fs, [['x', { v: 2 }], ['y', { v: 3 }]]);
  const r = await open(fs, 'r', 3);
  await r.setExcludedRanges([{ feed: d.feed, after: cut, upTo: null }]);
  await r.ingest(await d.entriesSince(d.feed, 0, 10));
  assert.deepEqual(docsOf(r, ['c']), new Map([['c/x', { v: 1 }]]));
  await r.close();
  const reopened = await open(fs, 'r', 3);
  assert.deepEqual(docsOf(reopened, ['c']), new Map([['c/x', { v: 1 }]]));
  await Promise.all([reopened.close(), d.close()]);
});

test('a crash between saving the ranges and rebuilding the views: the next open rebuilds them', async () => {
  const fs = new MemoryFileSystem();
  const { d, cut } = await writerWithCut(fs, [['x', { v: 2 }]]);
  const r = await open(fs, 'r', 3);
  await r.ingest(await d.entriesSince(d.feed, 0, 10));
  await r.close();
  // The file written, the views not rebuilt (what a crash right after saving leaves).
  const fh = await fs.open('r/excluded', { create: true, truncate: true });
  fh.write(0, encodeExcludedFileV1(normalizeRanges([{ feed: d.feed, after: cut, upTo: null }])));
  await fh.sync();
  await fh.close();
  const reopened = await open(fs, 'r', 3);
  assert.equal(reopened.recovery.rebuilt, true);
  assert.deepEqual(reopened.get('c', 'x'), { v: 1 });
  await Promise.all([reopened.close(), d.close()]);
});

test('normalizeRanges merges overlapping and touching ranges without changing which HLCs are excluded (property)', () => {
  const feeds = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
  const bound = fc.option(fc.bigInt({ min: 0n, max: 40n }), { nil: null });
  fc.assert(
    fc.property(fc.array(fc.record({ f: fc.integer({ min: 0, max: 1 }), after: bound, upTo: bound }), { maxLength: 8 }), (raw) => {
      const ranges = raw.map((r) => ({ feed: feeds[r.f], after: r.after, upTo: r.upTo }));
      const norm = normalizeRanges(ranges);
      const inR = (r: ExcludedRange, h: bigint) => (r.after === null || r.after < h) && (r.upTo === null || h <= r.upTo);
      for (let f = 0; f < 2; f++) {
        for (let h = 0n; h <= 42n; h++) {
          const a = ranges.some((r) => r.feed === feeds[f] && inR(r, h));
          const b = norm.some((r) => hex(r.feed) === hex(feeds[f]) && inR(r, h));
          assert.equal(b, a, `feed ${f} hlc ${h}`);
        }
      }
      assert.deepEqual(normalizeRanges(norm), norm, 'idempotent');
      assert.deepEqual(decodeExcludedFileV1(encodeExcludedFileV1(norm)), norm, 'round trip');
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('the excluded ranges file V1 fixture decodes; damage is refused with HEARTH_CORRUPTION', () => {
  const bytes = new Uint8Array(readFileSync(new URL('../packages/db/test/fixtures/excluded-v1.bin', import.meta.url)));
  const ranges = decodeExcludedFileV1(bytes);
  assert.deepEqual(
    ranges.map((r) => ({ feed: hex(r.feed), after: r.after, upTo: r.upTo })),
    [
      { feed: 'aa'.repeat(32), after: 0x019aa4b645000000n, upTo: null },
      { feed: 'bb'.repeat(32), after: null, upTo: 0x019aa4b645000001n },
    ],
  );
  assert.equal(hex(encodeExcludedFileV1(ranges)), hex(bytes));
  for (const damage of [(b: Uint8Array) => (b[0] ^= 1), (b: Uint8Array) => (b[8] = 2), (b: Uint8Array) => (b[20] ^= 0x10), (b: Uint8Array) => (b[b.length - 1] ^= 1)]) {
    const b = bytes.slice();
    damage(b);
    assert.throws(() => decodeExcludedFileV1(b), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION');
  }
  assert.throws(() => decodeExcludedFileV1(bytes.subarray(0, bytes.length - 1)), (e: unknown) => (e as { code?: string }).code === 'HEARTH_CORRUPTION');
});
