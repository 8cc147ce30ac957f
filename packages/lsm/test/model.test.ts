/**
 * Property test: the LSM against a sorted in-memory map. Random sequences of put / delete / batch / flush /
 * compact / snapshot / release / reopen, with tiny memtables, blocks and tables so that every path (multi-table
 * runs, background flushes and compactions, stalls) is exercised. After each step, point reads and iterators
 * (forward and reverse, every bound kind, limits) must equal the model, at the latest state and under every held
 * snapshot. Seeded: fast-check prints the seed and the shrunk command list on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryFileSystem } from '@hearth/io';
import { openLsm, type BatchOp, type Lsm, type RangeOptions, type Snapshot } from '@hearth/lsm';
import { compareBytes, hex } from './_util.js';

type Model = Map<string, Uint8Array>;

const KEYS = 24;
const keyArb = fc.integer({ min: 0, max: KEYS - 1 });
/** Key i: a short byte string; 0 is the empty key, and several share prefixes. */
const keyOf = (i: number): Uint8Array => (i === 0 ? new Uint8Array(0) : Uint8Array.of(i % 5, ...(i >= 5 ? [i] : [])));
const valueArb = fc.uint8Array({ maxLength: 40 });

type Cmd =
  | { t: 'put'; k: number; v: Uint8Array }
  | { t: 'del'; k: number }
  | { t: 'batch'; ops: { k: number; v: Uint8Array | null }[] }
  | { t: 'flush' }
  | { t: 'compact'; full: boolean }
  | { t: 'snap' }
  | { t: 'release'; i: number }
  | { t: 'reopen' }
  | { t: 'check'; lo: number; hi: number; bounds: number; reverse: boolean; limit: number; snap: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ t: fc.constant('put' as const), k: keyArb, v: valueArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('del' as const), k: keyArb }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('batch' as const),
      ops: fc.array(fc.record({ k: keyArb, v: fc.option(valueArb, { nil: null }) }), { maxLength: 12 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compact' as const), full: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'snap' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('check' as const),
      lo: keyArb,
      hi: keyArb,
      bounds: fc.nat(15),
      reverse: fc.boolean(),
      limit: fc.integer({ min: -1, max: 8 }),
      snap: fc.nat(5),
    }),
  },
);

function expectRange(model: Model, r: RangeOptions): [string, string][] {
  let rows = [...model.entries()].map(([k, v]) => [Buffer.from(k, 'hex'), v] as const);
  rows.sort((a, b) => compareBytes(a[0], b[0]));
  rows = rows.filter(([k]) => {
    if (r.gt && compareBytes(k, r.gt) <= 0) return false;
    if (r.gte && compareBytes(k, r.gte) < 0) return false;
    if (r.lt && compareBytes(k, r.lt) >= 0) return false;
    if (r.lte && compareBytes(k, r.lte) > 0) return false;
    return true;
  });
  if (r.reverse) rows.reverse();
  if (r.limit !== undefined && r.limit >= 0) rows = rows.slice(0, r.limit);
  return rows.map(([k, v]) => [hex(k), hex(v)]);
}

function checkAll(read: { get(k: Uint8Array): Uint8Array | undefined }, model: Model, label: string): void {
  for (let i = 0; i < KEYS; i++) {
    const got = read.get(keyOf(i));
    const want = model.get(hex(keyOf(i)));
    assert.deepEqual(got === undefined ? undefined : hex(got), want === undefined ? undefined : hex(want), `${label}: get(${i})`);
  }
}

async function run(cmds: Cmd[], w: number): Promise<void> {
  const fs = new MemoryFileSystem();
  const opts = { fs, dir: 'db', memtableBytes: 1024, tableBytes: 1024, blockBytes: 128, restartInterval: 3, compactionW: w, blockCacheBytes: 2048 };
  let lsm: Lsm = await openLsm(opts);
  let model: Model = new Map();
  let snaps: { s: Snapshot; model: Model }[] = [];
  try {
    for (const c of cmds) {
      switch (c.t) {
        case 'put':
          await lsm.put(keyOf(c.k), c.v);
          model.set(hex(keyOf(c.k)), c.v);
          break;
        case 'del':
          await lsm.delete(keyOf(c.k));
          model.delete(hex(keyOf(c.k)));
          break;
        case 'batch': {
          const ops: BatchOp[] = c.ops.map((o) => (o.v === null ? { type: 'del', key: keyOf(o.k) } : { type: 'put', key: keyOf(o.k), value: o.v }));
          await lsm.batch(ops);
          for (const o of c.ops) {
            if (o.v === null) model.delete(hex(keyOf(o.k)));
            else model.set(hex(keyOf(o.k)), o.v);
          }
          break;
        }
        case 'flush':
          await lsm.flush();
          break;
        case 'compact':
          await lsm.compact({ full: c.full });
          break;
        case 'snap':
          snaps.push({ s: lsm.snapshot(), model: new Map(model) });
          break;
        case 'release':
          if (snaps.length > 0) {
            const [x] = snaps.splice(c.i % snaps.length, 1);
            x.s.release();
            assert.throws(() => x.s.get(keyOf(1)), /released/);
          }
          break;
        case 'reopen':
          for (const x of snaps) x.s.release();
          snaps = [];
          await lsm.flush();
          await lsm.close();
          lsm = await openLsm(opts);
          break;
        case 'check': {
          const view = c.snap < snaps.length ? snaps[c.snap] : undefined;
          const m = view ? view.model : model;
          const r: RangeOptions = { reverse: c.reverse };
          const a = keyOf(c.lo);
          const b = keyOf(c.hi);
          if (c.bounds & 1) r.gte = a;
          if (c.bounds & 2) r.gt = a;
          if (c.bounds & 4) r.lte = b;
          if (c.bounds & 8) r.lt = b;
          if (c.limit !== 8) r.limit = c.limit;
          const iter = view ? view.s.iterate(r) : lsm.iterate(r);
          const got = [...iter].map((e) => [hex(e.key), hex(e.value)]);
          assert.deepEqual(got, expectRange(m, r), `iterate ${JSON.stringify({ ...c })}`);
          checkAll(view ? view.s : lsm, m, view ? `snapshot ${c.snap}` : 'latest');
          break;
        }
      }
    }
    checkAll(lsm, model, 'end');
    for (const [i, x] of snaps.entries()) checkAll(x.s, x.model, `snapshot ${i} at end`);
    const all = [...lsm.iterate()].map((e) => [hex(e.key), hex(e.value)]);
    assert.deepEqual(all, expectRange(model, {}));
    // Durability across reopen after flush.
    await lsm.flush();
    await lsm.close();
    lsm = await openLsm(opts);
    checkAll(lsm, model, 'after reopen');
  } finally {
    await lsm.close();
  }
}

test('model: the LSM equals a sorted map under random operations (W = -3..3)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 200 }), fc.integer({ min: -3, max: 3 }), run),
    { seed: 0x15a7, numRuns: 100 },
  );
});

test('model: a long run with many flushes and compactions', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(cmdArb, { minLength: 400, maxLength: 600 }), fc.integer({ min: -4, max: 4 }), run),
    { seed: 0xbeef, numRuns: 6 },
  );
});
