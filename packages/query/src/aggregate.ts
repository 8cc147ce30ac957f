/**
 * Aggregations: `count sum avg min max` over groups.
 *
 * Semantics (see `docs/query.md`):
 * - Documents group by the tuple of their `groupBy` values (missing is a value of its own); groups come out in
 *   the total order of that tuple. The row id is the hex of the tuple's index key encoding.
 * - `count` counts documents (with a path: documents where it is present). `sum` and `avg` take numbers only and
 *   ignore other values; `sum` of none is 0, `avg` of none is null. `min`/`max` use the total order over present
 *   values; null when there is none.
 * - Sums are exact-then-rounded (Shewchuk's algorithm, as Python's `math.fsum`), so the result does not depend on
 *   the order documents are visited in, and hence not on the plan.
 *
 * @packageDocumentation
 */
import { encodeKeyV1, toHex } from './keys.js';
import { type DocRow, type NAggregate, setPath } from './_query.js';
import type { Doc, Row, Value } from './types.js';
import { cmpValues, compareStrings, getPath, setOwn } from './value.js';

/**
 * An exactly rounded sum of floating-point numbers, independent of the order they are added in
 * (J. R. Shewchuk, "Adaptive Precision Floating-Point Arithmetic", 1997; the partials algorithm of `math.fsum`).
 */
export class ExactSum {
  private partials: number[] = [];
  /** Set once a partial overflowed: from then on the exact sum is kept as an integer multiple of 2^-1074. */
  private big: bigint | undefined;
  private special = 0; // sum of infinities and NaNs, kept apart
  private count = 0;

  add(x: number): void {
    this.count++;
    if (!Number.isFinite(x)) {
      this.special += x;
      return;
    }
    if (this.big !== undefined) {
      this.big += scaled(x);
      return;
    }
    const p = this.partials;
    let i = 0;
    const x0 = x;
    for (let j = 0; j < p.length; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      if (!Number.isFinite(hi)) {
        // Intermediate overflow (Python's fsum raises here): switch to exact integer arithmetic.
        let acc = scaled(x0);
        for (const q of this.partials) acc += scaled(q);
        this.big = acc;
        this.partials = [];
        return;
      }
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    p.push(x);
  }

  /** Number of values added. */
  get n(): number {
    return this.count;
  }

  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    if (this.big !== undefined) return unscaled(this.big);
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n];
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    // Round half-even correctly when the rest of the partials push past a tie.
    if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }
}

const f64 = new DataView(new ArrayBuffer(8));

/** A finite double as the exact integer x·2^1074. */
function scaled(x: number): bigint {
  f64.setFloat64(0, x);
  const bits = f64.getBigUint64(0);
  const exp = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & 0xfffffffffffffn;
  if (exp !== 0) mant |= 1n << 52n;
  const v = mant << BigInt(Math.max(exp, 1) - 1);
  return bits >> 63n ? -v : v;
}

/** acc·2^-1074 rounded once to the nearest double (ties to even), ±Infinity past the range. */
function unscaled(acc: bigint): number {
  const neg = acc < 0n;
  let mag = neg ? -acc : acc;
  let e = -1074;
  const len = mag.toString(2).length;
  if (len > 60) {
    // Keep 60 bits and a sticky bit: Number() then rounds exactly as the full value would.
    const drop = BigInt(len - 60);
    const sticky = (mag & ((1n << drop) - 1n)) !== 0n ? 1n : 0n;
    mag = (mag >> drop) | sticky;
    e += Number(drop);
  }
  let v = Number(mag);
  // Scale by 2^e in steps that stay in range; exact unless the result overflows (then Infinity, correctly).
  while (e > 0) {
    const k = Math.min(e, 1000);
    v *= 2 ** k;
    e -= k;
  }
  while (e < 0) {
    const k = Math.max(e, -1000);
    v *= 2 ** k;
    e -= k;
  }
  return neg ? -v : v;
}

interface Group {
  key: Uint8Array;
  values: (Value | undefined)[];
  accs: Acc[];
}

type Acc =
  | { op: 'count'; n: number }
  | { op: 'sum' | 'avg'; s: ExactSum }
  | { op: 'min' | 'max'; v: Value | undefined };

/** Groups rows and computes the aggregates. Rows come out ordered by group key. */
export function aggregateRows(a: NAggregate, rows: readonly DocRow[]): Row[] {
  const groups = new Map<string, Group>();
  for (const r of rows) {
    const gv = a.groupBy.map((p) => getPath(r.doc, p, r.id));
    const key = encodeKeyV1(gv);
    const hex = toHex(key);
    let g = groups.get(hex);
    if (g === undefined) {
      g = {
        key,
        values: gv,
        accs: a.values.map((s): Acc =>
          s.op === 'count' ? { op: 'count', n: 0 } : s.op === 'sum' || s.op === 'avg' ? { op: s.op, s: new ExactSum() } : { op: s.op, v: undefined }),
      };
      groups.set(hex, g);
    }
    a.values.forEach((s, i) => {
      const acc = g.accs[i];
      const v = s.path === undefined ? undefined : getPath(r.doc, s.path, r.id);
      switch (acc.op) {
        case 'count':
          if (s.path === undefined || v !== undefined) acc.n++;
          break;
        case 'sum':
        case 'avg':
          if (typeof v === 'number') acc.s.add(v);
          break;
        case 'min':
          if (v !== undefined && (acc.v === undefined || cmpValues(v, acc.v) < 0)) acc.v = v;
          break;
        case 'max':
          if (v !== undefined && (acc.v === undefined || cmpValues(v, acc.v) > 0)) acc.v = v;
          break;
      }
    });
  }
  if (groups.size === 0 && a.groupBy.length === 0) {
    // No grouping: one row even over no documents (count 0, sum 0, avg/min/max null), as SQL does.
    groups.set('', {
      key: new Uint8Array(0),
      values: [],
      accs: a.values.map((s): Acc =>
        s.op === 'count' ? { op: 'count', n: 0 } : s.op === 'sum' || s.op === 'avg' ? { op: s.op, s: new ExactSum() } : { op: s.op, v: undefined }),
    });
  }
  const out: Row[] = [];
  for (const [hex, g] of [...groups.entries()].sort((x, y) => compareStrings(x[0], y[0]))) {
    const doc: Record<string, unknown> = {};
    a.groupBy.forEach((p, i) => {
      if (g.values[i] !== undefined) setPath(doc, p, g.values[i] as Value);
    });
    a.values.forEach((s, i) => {
      const acc = g.accs[i];
      if ('n' in acc) setOwn(doc, s.name, acc.n);
      else if ('s' in acc) setOwn(doc, s.name, acc.op === 'sum' ? acc.s.value() : acc.s.n === 0 ? null : acc.s.value() / acc.s.n);
      else setOwn(doc, s.name, acc.v === undefined ? null : acc.v);
    });
    out.push({ id: hex, doc: doc as Doc });
  }
  return out;
}
