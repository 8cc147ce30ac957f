import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  applyOp,
  docExists,
  docFields,
  docStatesEqual,
  emptyDocState,
  encodeDocStateV1,
  mergeDocStates,
  mergeInto,
  stateHash,
  compareStamps,
  type DocOp,
  type DocState,
} from '@hearth/crdt';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const A = new Uint8Array(32).fill(0xaa);
const B = new Uint8Array(32).fill(0xbb);

function view(s: DocState): Record<string, string> | null {
  const f = docFields(s);
  return f === null ? null : Object.fromEntries([...f].map(([k, v]) => [k, dec(v)]));
}

function apply(ops: DocOp[]): DocState {
  const s = emptyDocState();
  for (const op of ops) applyOp(s, op);
  return s;
}

test('put replaces the whole document; patch sets and removes fields', () => {
  const s = apply([
    { type: 'put', hlc: 10n, feed: A, fields: { a: enc('1'), b: enc('2') } },
    { type: 'patch', hlc: 11n, feed: A, fields: { b: enc('3'), c: enc('4') } },
    { type: 'patch', hlc: 12n, feed: A, fields: { a: null } },
  ]);
  assert.deepEqual(view(s), { b: '3', c: '4' });
  applyOp(s, { type: 'put', hlc: 13n, feed: A, fields: { z: enc('9') } });
  assert.deepEqual(view(s), { z: '9' });
  assert.equal(s.fields.size, 1, 'writes older than the reset are pruned');
});

test('concurrent put and patch: a newer patch survives an older put; an older patch loses to a newer put', () => {
  const put = { type: 'put', hlc: 20n, feed: A, fields: { a: enc('put') } } as const;
  const newerPatch = { type: 'patch', hlc: 21n, feed: B, fields: { b: enc('patch') } } as const;
  const olderPatch = { type: 'patch', hlc: 19n, feed: B, fields: { b: enc('old') } } as const;
  assert.deepEqual(view(apply([newerPatch, put])), { a: 'put', b: 'patch' });
  assert.deepEqual(view(apply([put, newerPatch])), { a: 'put', b: 'patch' });
  assert.deepEqual(view(apply([olderPatch, put])), { a: 'put' });
  assert.deepEqual(view(apply([put, olderPatch])), { a: 'put' });
});

test('delete is a tombstone: beats older writes, loses to newer ones (a newer patch revives)', () => {
  const del = { type: 'delete', hlc: 30n, feed: A } as const;
  const s = apply([{ type: 'put', hlc: 10n, feed: B, fields: { a: enc('x') } }, del]);
  assert.equal(docExists(s), false);
  assert.equal(view(s), null);
  applyOp(s, { type: 'patch', hlc: 29n, feed: B, fields: { a: enc('late but older') } });
  assert.equal(view(s), null, 'an older patch arriving after the delete stays deleted');
  applyOp(s, { type: 'patch', hlc: 31n, feed: B, fields: { b: enc('newer') } });
  assert.deepEqual(view(s), { b: 'newer' });
  applyOp(s, { type: 'put', hlc: 32n, feed: A, fields: {} });
  assert.deepEqual(view(s), {}, 'put of an empty document: exists, no fields');
  assert.equal(docExists(s), true);
});

test('equal HLC is broken by feed bytes; equal stamps break ties deterministically', () => {
  const s1 = apply([
    { type: 'patch', hlc: 5n, feed: A, fields: { a: enc('A') } },
    { type: 'patch', hlc: 5n, feed: B, fields: { a: enc('B') } },
  ]);
  assert.deepEqual(view(s1), { a: 'B' });
  // a (buggy) reused stamp: delete beats put, bytes beat removal, larger bytes win
  const x = apply([
    { type: 'put', hlc: 7n, feed: A, fields: { a: enc('p') } },
    { type: 'delete', hlc: 7n, feed: A },
  ]);
  const y = apply([
    { type: 'delete', hlc: 7n, feed: A },
    { type: 'put', hlc: 7n, feed: A, fields: { a: enc('p') } },
  ]);
  assert.deepEqual(encodeDocStateV1(x), encodeDocStateV1(y));
  assert.equal(view(x), null);
});

test('applyOp returns whether the state changed; duplicates are no-ops', () => {
  const s = emptyDocState();
  const op: DocOp = { type: 'patch', hlc: 1n, feed: A, fields: { a: enc('1') } };
  assert.equal(applyOp(s, op), true);
  assert.equal(applyOp(s, op), false);
  assert.equal(applyOp(s, { type: 'patch', hlc: 0n, feed: A, fields: { a: enc('0') } }), false);
});

test('applyOp rejects malformed ops with TypeError', () => {
  const s = emptyDocState();
  assert.throws(() => applyOp(s, { type: 'patch', hlc: 1 as unknown as bigint, feed: A, fields: {} }), TypeError);
  assert.throws(() => applyOp(s, { type: 'patch', hlc: 1n, feed: new Uint8Array(0), fields: {} }), TypeError);
  assert.throws(() => applyOp(s, { type: 'put', hlc: 1n, feed: A, fields: { a: null as unknown as Uint8Array } }), TypeError);
  assert.throws(() => applyOp(s, { type: 'patch', hlc: 1n, feed: A, fields: { a: 'x' as unknown as Uint8Array } }), TypeError);
  assert.throws(() => applyOp(s, { type: 'patch', hlc: 1n, feed: A, fields: { ['\ud800']: enc('x') } }), TypeError);
  assert.throws(() => applyOp(s, { type: 'bogus', hlc: 1n, feed: A } as unknown as DocOp), TypeError);
});

// --- randomised convergence ---------------------------------------------------------------------------------

const FIELD_NAMES = ['a', 'b', 'c', 'é', 'z', '\u{1F600}', 'ab'];

/** 2-5 feeds, some whose ids are prefixes of others; each feed's ops carry strictly increasing HLCs. */
const scenario = fc
  .integer({ min: 2, max: 5 })
  .chain((nFeeds) =>
    fc.tuple(
      fc.uniqueArray(fc.uint8Array({ minLength: 1, maxLength: 3 }), {
        minLength: nFeeds,
        maxLength: nFeeds,
        selector: (f) => Array.from(f).join(','),
      }),
      fc.array(
        fc.record({
          feed: fc.integer({ min: 0, max: nFeeds - 1 }),
          step: fc.integer({ min: 0, max: 3 }), // small steps: HLCs collide across feeds
          kind: fc.constantFrom('put', 'patch', 'delete'),
          fields: fc.dictionary(
            fc.constantFrom(...FIELD_NAMES),
            fc.option(fc.uint8Array({ maxLength: 3 }), { nil: null, freq: 4 }),
            { maxKeys: 4 },
          ),
        }),
        { minLength: 1, maxLength: 40 },
      ),
    ),
  )
  .map(([feeds, raw]) => {
    const clocks = feeds.map(() => 0n);
    const ops: DocOp[] = raw.map((r) => {
      clocks[r.feed] += BigInt(r.step) + 1n;
      const hlc = clocks[r.feed];
      const feed = feeds[r.feed];
      if (r.kind === 'delete') return { type: 'delete', hlc, feed };
      if (r.kind === 'put') {
        const fields: Record<string, Uint8Array> = {};
        for (const [k, v] of Object.entries(r.fields)) if (v !== null) fields[k] = v;
        return { type: 'put', hlc, feed, fields };
      }
      return { type: 'patch', hlc, feed, fields: r.fields };
    });
    return ops;
  });

/** Sequential reference semantics: replay unique ops in (hlc, feed) order. */
function reference(ops: DocOp[]): Record<string, string> | null {
  const sorted = [...ops].sort((x, y) => compareStamps(x.hlc, x.feed, y.hlc, y.feed));
  let doc = new Map<string, Uint8Array>();
  let lastResetIsPut = false;
  for (const op of sorted) {
    if (op.type === 'delete') {
      doc = new Map();
      lastResetIsPut = false;
    } else if (op.type === 'put') {
      doc = new Map(Object.entries(op.fields as Record<string, Uint8Array>));
      lastResetIsPut = true;
    } else {
      for (const [k, v] of Object.entries(op.fields as Record<string, Uint8Array | null>)) {
        if (v === null) doc.delete(k);
        else doc.set(k, v);
      }
    }
  }
  if (!lastResetIsPut && doc.size === 0) return null;
  const names = [...doc.keys()].sort();
  return Object.fromEntries(names.map((n) => [n, Array.from(doc.get(n)!).join(',')]));
}

function viewBytes(s: DocState): Record<string, string> | null {
  const f = docFields(s);
  return f === null ? null : Object.fromEntries([...f].map(([k, v]) => [k, Array.from(v).join(',')]));
}

/**
 * A replica's delivery: a permutation of the ops (fast-check's shuffle), some ops delivered again at random
 * positions, and either one state fed in order or three states fed in turn and merged.
 */
function replicaArb(n: number) {
  const indices = Array.from({ length: n }, (_, i) => i);
  return fc.record({
    order: fc.shuffledSubarray(indices, { minLength: n, maxLength: n }),
    dups: fc.array(fc.tuple(fc.nat(n - 1), fc.nat(n)), { maxLength: n }),
    split: fc.option(fc.array(fc.nat(2), { minLength: 2 * n, maxLength: 2 * n }), { nil: undefined }),
  });
}

const convergenceCase = scenario.chain((ops) =>
  fc.tuple(fc.constant(ops), fc.array(replicaArb(ops.length), { minLength: 3, maxLength: 3 })),
);

test('convergence: random ops from 2-5 feeds, random orders with duplicates -> byte-identical states (property)', () => {
  fc.assert(
    fc.property(convergenceCase, ([ops, replicas]) => {
      const encodings: Uint8Array[] = [];
      const hashes: string[] = [];
      const states: DocState[] = [];
      for (const { order, dups, split } of replicas) {
        const delivered = order.map((i) => ops[i]);
        for (const [op, at] of dups) delivered.splice(at, 0, ops[op]); // a duplicate delivery
        let state: DocState;
        if (split === undefined) {
          state = apply(delivered);
        } else {
          // three partial replicas, each fed a share of the delivery, then merged in two different groupings
          const parts: DocState[] = [emptyDocState(), emptyDocState(), emptyDocState()];
          delivered.forEach((op, i) => applyOp(parts[split[i]], op));
          state = mergeDocStates(mergeDocStates(parts[2], parts[0]), parts[1]);
          assert.ok(docStatesEqual(state, mergeDocStates(parts[0], mergeDocStates(parts[1], parts[2]))), 'associative');
        }
        states.push(state);
        encodings.push(encodeDocStateV1(state));
        hashes.push(Buffer.from(stateHash(state)).toString('hex'));
      }
      for (let i = 1; i < encodings.length; i++) {
        assert.deepEqual(encodings[i], encodings[0]);
        assert.equal(hashes[i], hashes[0]);
      }
      // the join is idempotent and commutative
      assert.deepEqual(encodeDocStateV1(mergeDocStates(states[0], states[0])), encodings[0]);
      const half = apply(ops.slice(0, ops.length >> 1));
      const rest = apply(ops.slice(ops.length >> 1));
      assert.deepEqual(encodeDocStateV1(mergeDocStates(half, rest)), encodeDocStateV1(mergeDocStates(rest, half)));
      // and agrees with sequential replay in (hlc, feed) order
      assert.deepEqual(viewBytes(states[0]), reference(ops));
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('mergeInto does not modify its source', () => {
  const a = apply([{ type: 'patch', hlc: 3n, feed: A, fields: { x: enc('1') } }]);
  const b = apply([{ type: 'delete', hlc: 4n, feed: B }]);
  const before = encodeDocStateV1(b);
  assert.equal(mergeInto(a, b), true);
  assert.equal(view(a), null);
  assert.deepEqual(encodeDocStateV1(b), before);
});
