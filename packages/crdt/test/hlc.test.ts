import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  HybridClock,
  ClockDriftError,
  packHlc,
  hlcMs,
  hlcCounter,
  encodeHlcV1,
  decodeHlcV1,
  compareBytes,
  compareStamps,
  HLC_MAX,
  DEFAULT_MAX_DRIFT_MS,
} from '@hearth/crdt';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

function fakeWall(start: number): { clock: () => number; set(t: number): void } {
  let t = start;
  return { clock: () => t, set: (v) => void (t = v) };
}

test('packHlc: layout is 48-bit ms then 16-bit counter, big-endian bytes', () => {
  const h = packHlc(0x0102030405, 0x0607);
  assert.equal(h, 0x0001020304050607n);
  assert.deepEqual([...encodeHlcV1(h)], [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
  assert.equal(hlcMs(h), 0x0102030405);
  assert.equal(hlcCounter(h), 0x0607);
  assert.throws(() => packHlc(2 ** 48, 0), RangeError);
  assert.throws(() => packHlc(1, 0x10000), RangeError);
  assert.throws(() => packHlc(-1, 0), RangeError);
  assert.throws(() => decodeHlcV1(new Uint8Array(7)), RangeError);
  assert.throws(() => encodeHlcV1(HLC_MAX + 1n), RangeError);
});

test('encodeHlcV1/decodeHlcV1 round trip, and byte order equals time order (property)', () => {
  const hlc = fc.bigInt({ min: 0n, max: HLC_MAX });
  fc.assert(
    fc.property(hlc, hlc, (a, b) => {
      const ea = encodeHlcV1(a);
      assert.equal(decodeHlcV1(ea), a);
      assert.equal(Math.sign(compareBytes(ea, encodeHlcV1(b))), a < b ? -1 : a > b ? 1 : 0);
    }),
    { seed: SEED, numRuns: 2000 },
  );
});

test('now(): follows the wall clock, counts within one ms, never goes backwards', () => {
  const wall = fakeWall(1_000);
  const c = new HybridClock({ wallClock: wall.clock });
  assert.equal(c.now(), packHlc(1000, 0));
  assert.equal(c.now(), packHlc(1000, 1));
  wall.set(1005);
  assert.equal(c.now(), packHlc(1005, 0));
  wall.set(900); // wall clock stepped back: l holds, c counts
  assert.equal(c.now(), packHlc(1005, 1));
  assert.equal(c.now(), packHlc(1005, 2));
});

test('now(): counter overflow carries into the ms field (documented), staying strictly monotonic', () => {
  const wall = fakeWall(5_000);
  const c = new HybridClock({ wallClock: wall.clock, last: packHlc(5_000, 0xfffe) });
  assert.equal(c.now(), packHlc(5_000, 0xffff));
  const t = c.now();
  assert.equal(t, packHlc(5_001, 0));
  assert.equal(hlcMs(t), 5_001);
  wall.set(5_001); // physical clock catches up: l stays, counter counts on
  assert.equal(c.now(), packHlc(5_001, 1));
});

test('receive(): Figure 5 cases of Kulkarni et al.', () => {
  const wall = fakeWall(1_000);
  const c = new HybridClock({ wallClock: wall.clock });
  c.now(); // (1000, 0)
  // remote ahead in l (within drift): l' = l_m, c' = c_m + 1
  assert.equal(c.receive(packHlc(1_200, 7)), packHlc(1_200, 8));
  // same l on both sides: c' = max(c, c_m) + 1
  assert.equal(c.receive(packHlc(1_200, 3)), packHlc(1_200, 9));
  assert.equal(c.receive(packHlc(1_200, 20)), packHlc(1_200, 21));
  // remote behind: c' = c + 1
  assert.equal(c.receive(packHlc(10, 99)), packHlc(1_200, 22));
  // physical clock ahead of both: c' = 0
  wall.set(2_000);
  assert.equal(c.receive(packHlc(1_500, 4)), packHlc(2_000, 0));
});

test('receive(): rejects remote timestamps beyond the drift bound with HEARTH_CLOCK_DRIFT, clock unchanged', () => {
  const wall = fakeWall(10_000_000);
  const c = new HybridClock({ wallClock: wall.clock });
  const before = c.now();
  const tooFar = packHlc(10_000_000 + DEFAULT_MAX_DRIFT_MS + 1, 0);
  assert.throws(
    () => c.receive(tooFar),
    (e: unknown) => e instanceof ClockDriftError && e.code === 'HEARTH_CLOCK_DRIFT' && e.maxDriftMs === DEFAULT_MAX_DRIFT_MS,
  );
  assert.equal(c.last, before);
  // exactly at the bound is accepted
  const atBound = packHlc(10_000_000 + DEFAULT_MAX_DRIFT_MS, 0);
  assert.equal(c.receive(atBound), atBound + 1n);
  const strict = new HybridClock({ wallClock: wall.clock, maxDriftMs: 10 });
  assert.throws(() => strict.receive(packHlc(10_000_011, 0)), ClockDriftError);
});

test('clock is strictly monotonic and receive() exceeds the remote, under random wall clocks (property)', () => {
  const step = fc.oneof(
    fc.record({ kind: fc.constant('now' as const), wall: fc.integer({ min: 0, max: 3_000 }) }),
    fc.record({
      kind: fc.constant('recv' as const),
      wall: fc.integer({ min: 0, max: 3_000 }),
      ms: fc.integer({ min: 0, max: 3_000 }),
      counter: fc.integer({ min: 0, max: 0xffff }),
    }),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const wall = fakeWall(0);
      const c = new HybridClock({ wallClock: wall.clock, maxDriftMs: Infinity });
      let prev = -1n;
      for (const s of steps) {
        wall.set(s.wall);
        let t: bigint;
        if (s.kind === 'now') t = c.now();
        else {
          const r = packHlc(s.ms, s.counter);
          t = c.receive(r);
          assert.ok(t > r);
        }
        assert.ok(t > prev);
        assert.ok(hlcMs(t) >= s.wall);
        prev = t;
      }
    }),
    { seed: SEED, numRuns: 300 },
  );
});

test('compareStamps: total order by hlc, then feed bytes', () => {
  const a = new Uint8Array([1]);
  const b = new Uint8Array([1, 0]);
  assert.equal(compareStamps(5n, b, 6n, a), -1);
  assert.equal(compareStamps(6n, a, 6n, b), -1);
  assert.equal(compareStamps(6n, b, 6n, a), 1);
  assert.equal(compareStamps(6n, a, 6n, new Uint8Array([1])), 0);
});

test('HybridClock rejects a bad wall clock and bad options', () => {
  assert.throws(() => new HybridClock({ wallClock: () => 1.5 }).now(), RangeError);
  assert.throws(() => new HybridClock({ wallClock: () => -1 }).now(), RangeError);
  assert.throws(() => new HybridClock({ maxDriftMs: -1 }), RangeError);
  assert.throws(() => new HybridClock().receive(5 as unknown as bigint), TypeError);
});
