import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { CorruptionError } from '@hearth/io';
import {
  applyOp,
  decodeDocStateV1,
  docFields,
  docStatesEqual,
  emptyDocState,
  encodeDocStateV1,
  packHlc,
  stateHash,
  type DocOp,
} from '@hearth/crdt';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

const opArb: fc.Arbitrary<DocOp> = fc
  .record({
    kind: fc.constantFrom('put', 'patch', 'delete'),
    hlc: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
    feed: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    fields: fc.dictionary(fc.string({ maxLength: 6 }), fc.option(fc.uint8Array({ maxLength: 200 }), { nil: null })),
  })
  .map(({ kind, hlc, feed, fields }): DocOp => {
    if (kind === 'delete') return { type: 'delete', hlc, feed };
    if (kind === 'put') {
      const f: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries(fields)) if (v !== null) f[k] = v;
      return { type: 'put', hlc, feed, fields: f };
    }
    return { type: 'patch', hlc, feed, fields };
  });

test('encodeDocStateV1/decodeDocStateV1 round trip (property)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 12 }), (ops) => {
      const s = emptyDocState();
      for (const op of ops) applyOp(s, op);
      const bytes = encodeDocStateV1(s);
      const back = decodeDocStateV1(bytes);
      assert.ok(docStatesEqual(s, back));
      assert.deepEqual(encodeDocStateV1(back), bytes);
      assert.deepEqual(stateHash(back), stateHash(s));
    }),
    { seed: SEED, numRuns: 500 },
  );
});

test('fixture doc-state-v1.bin opens and re-encodes byte for byte', () => {
  const bytes = new Uint8Array(readFileSync(new URL('./fixtures/doc-state-v1.bin', import.meta.url)));
  const s = decodeDocStateV1(bytes);
  assert.deepEqual(s.reset && { hlc: s.reset.hlc, feed: hex(s.reset.feed), deleted: s.reset.deleted }, {
    hlc: packHlc(1_763_700_000_500, 2),
    feed: 'bb'.repeat(32),
    deleted: false,
  });
  const fields = docFields(s)!;
  assert.deepEqual(Object.fromEntries([...fields].map(([k, v]) => [k, dec(v)])), { title: 'hearth', 'é': 'x' });
  assert.equal(s.fields.get('n')!.value, null, 'field tombstone kept');
  assert.deepEqual(encodeDocStateV1(s), bytes);
  assert.equal(
    hex(bytes),
    '01010220' + 'aa'.repeat(32) + '20' + 'bb'.repeat(32) +
      '019aa4b646f40002' + '01' + '03' + '016e' + '019aa4b648e80000' + '00' + '00' +
      '057469746c65' + '019aa4b646f40002' + '01' + '01' + '06' + '686561727468' +
      '02c3a9' + '019aa4b648e80000' + '00' + '01' + '0178',
    'worked example in docs/formats/doc-state.md',
  );
});

test('empty state encodes to 01 00 00 00', () => {
  assert.equal(hex(encodeDocStateV1(emptyDocState())), '01000000');
  assert.ok(docStatesEqual(decodeDocStateV1(fromHex('01000000')), emptyDocState()));
});

test('decoder accepts only canonical encodings: each malformation is HEARTH_CORRUPTION', () => {
  const feed1 = '01' + '01';
  const feed2 = '01' + '02';
  const cases: [string, string][] = [
    ['', 'empty'],
    ['02000000', 'unknown version'],
    ['01040000', 'reserved flag bit'],
    ['01020000', 'delete flag without reset'],
    ['010000', 'truncated field count'],
    ['0100000000', 'trailing byte'],
    ['0100' + '01' + feed1 + '00', 'unreferenced feed'],
    ['0100' + '02' + feed2 + feed1 + '01' + '0161' + '0000000000000001' + '00' + '00' + '0162' + '0000000000000001' + '01' + '00', 'feeds unsorted'],
    ['0100' + '02' + feed1 + feed1 + '01' + '0161' + '0000000000000001' + '00' + '00', 'duplicate feed'],
    ['0100' + '01' + feed1 + '02' + '0162' + '0000000000000001' + '00' + '00' + '0161' + '0000000000000001' + '00' + '00', 'fields unsorted'],
    ['0100' + '01' + feed1 + '01' + '0161' + '0000000000000001' + '05' + '00', 'feed index out of range'],
    ['0100' + '01' + feed1 + '01' + '0161' + '0000000000000001' + '00' + '07', 'unknown field kind'],
    ['0100' + '01' + feed1 + '01' + '0161' + '0000000000000001' + '00' + '01' + '05' + '00', 'truncated value'],
    ['0100' + '01' + feed1 + '01' + '01ff' + '0000000000000001' + '00' + '00', 'invalid UTF-8 name'],
    ['0100' + '01' + '8001' + '01' + '01' + '0161' + '0000000000000001' + '00' + '00', 'non-minimal varint'],
    ['0100' + '01' + '00' + '00', 'empty feed'],
    ['0103' + '01' + feed1 + '0000000000000009' + '00' + '01' + '0161' + '0000000000000001' + '00' + '00', 'field older than reset'],
    ['0101' + '01' + feed1 + '0000000000000009' + '00' + '01' + '0161' + '0000000000000009' + '00' + '0101' + '61' + '00', 'trailing byte after the last field'],
  ];
  for (const [h, why] of cases) {
    assert.throws(() => decodeDocStateV1(fromHex(h)), (e: unknown) => e instanceof CorruptionError && e.code === 'HEARTH_CORRUPTION', why);
  }
  // the last-but-one shape without the trailing byte is valid: a put's own field survives its reset
  const ok = decodeDocStateV1(fromHex('0101' + '01' + feed1 + '0000000000000009' + '00' + '01' + '0161' + '0000000000000009' + '00' + '0101' + '61'));
  assert.deepEqual([...docFields(ok)!.keys()], ['a']);
});

test('decoding random mutations of valid encodings: CorruptionError or a canonical state (property)', () => {
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 5 }), fc.nat(), fc.integer({ min: 1, max: 255 }), (ops, at, x) => {
      const s = emptyDocState();
      for (const op of ops) applyOp(s, op);
      const bytes = encodeDocStateV1(s);
      const bad = bytes.slice();
      bad[at % bad.length] ^= x;
      let decoded;
      try {
        decoded = decodeDocStateV1(bad);
      } catch (e) {
        assert.ok(e instanceof CorruptionError, String(e));
        return;
      }
      assert.deepEqual(encodeDocStateV1(decoded), bad, 'whatever decodes is canonical');
    }),
    { seed: SEED, numRuns: 1000 },
  );
});

test('encodeDocStateV1 is byte-identical to the plain reference encoder (property, random op histories)', async () => {
  const { applyOp, emptyDocState, encodeDocStateV1 } = await import('../src/index.js');
  const { referenceEncodeDocStateV1 } = await import('./_reference-encoding.js');
  const feed = fc.constantFrom(new Uint8Array(32).fill(0xaa), new Uint8Array(32).fill(0xbb), Uint8Array.of(1, 2, 3), new Uint8Array(32).fill(0xaa).fill(1, 31));
  const name = fc.oneof(fc.constantFrom('a', 'b', 'title', 'é', '\uFF61', '\u{1F600}', 'ab'), fc.string({ unit: 'grapheme', maxLength: 5 }));
  const value = fc.uint8Array({ maxLength: 300 });
  const op = fc.oneof(
    fc.record({ type: fc.constant('put' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed, fields: fc.dictionary(name, value, { maxKeys: 5 }) }),
    fc.record({ type: fc.constant('patch' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed, fields: fc.dictionary(name, fc.option(value, { nil: null }), { maxKeys: 5 }) }),
    fc.record({ type: fc.constant('delete' as const), hlc: fc.bigInt({ min: 0n, max: 50n }), feed }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 12 }), (ops) => {
      const s = emptyDocState();
      for (const o of ops) applyOp(s, o);
      assert.equal(Buffer.from(encodeDocStateV1(s)).toString('hex'), Buffer.from(referenceEncodeDocStateV1(s)).toString('hex'));
    }),
    { seed: Number(process.env.HEARTH_SEED ?? 20261121), numRuns: 1000 },
  );
});
