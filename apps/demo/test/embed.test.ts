import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { LEXICAL_DIM, cosine, lexicalEmbed, lexicalEmbedder, words } from '../web/embed.js';

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

test('lexical embedding: fixed dimension, unit norm, deterministic', () => {
  const v = lexicalEmbed('Leveled compaction merges SSTables');
  assert.equal(v.length, LEXICAL_DIM);
  assert.ok(Math.abs(norm(v) - 1) < 1e-6);
  assert.deepEqual(lexicalEmbed('Leveled compaction merges SSTables'), v);
  assert.equal(lexicalEmbed('x y z', 64).length, 64);
});

test('lexical embedding: golden vector (stored embeddings depend on it; a change needs a new embedder id)', () => {
  const v = lexicalEmbed('Hearth keeps notes on this device, offline first.');
  const digest = createHash('sha256').update(new Uint8Array(v.buffer)).digest('hex');
  assert.equal(lexicalEmbedder().id, 'hearth-lexical-v1-256');
  assert.equal(digest, GOLDEN, `digest ${digest}`);
});
const GOLDEN = '659a47377f39ae595cb41fe7e04ca8175ebf991f68e39af7b7ca098b15875fd3';

test('lexical embedding: no letters or digits gives the zero vector; only stop words too', () => {
  assert.ok(lexicalEmbed('  ,.;!? ').every((x) => x === 0));
  assert.ok(lexicalEmbed('the and of').every((x) => x === 0));
});

test('lexical embedding: case and diacritics do not matter; shared words and fragments raise the cosine', () => {
  assert.deepEqual(lexicalEmbed('Café RÉSUMÉ'), lexicalEmbed('cafe resume'));
  assert.deepEqual(words('Ünïcödé—text 42'), ['unicode', 'text', '42']);
  const a = lexicalEmbed('bloom filters skip SSTables during reads');
  const b = lexicalEmbed('a bloom filter lets reads skip a table');
  const c = lexicalEmbed('apple pie with cinnamon and butter');
  assert.ok(cosine(a, b) > cosine(a, c) + 0.2, `${cosine(a, b)} vs ${cosine(a, c)}`);
  assert.ok(cosine(lexicalEmbed('indexes'), lexicalEmbed('index')) > 0.3, 'shared trigrams');
});

test('lexical embedding: any text gives a finite vector of norm 1 or 0 (property)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.integer({ min: 8, max: 512 }), (text, dim) => {
      const v = lexicalEmbed(text, dim);
      assert.equal(v.length, dim);
      assert.ok(v.every(Number.isFinite));
      const n = norm(v);
      assert.ok(n === 0 || Math.abs(n - 1) < 1e-5, `norm ${n}`);
    }),
    { seed: 20261121, numRuns: 300 },
  );
});

test('lexical embedding: bad arguments are RangeError / TypeError', () => {
  assert.throws(() => lexicalEmbed('x', 4), RangeError);
  assert.throws(() => lexicalEmbed('x', 1.5), RangeError);
  assert.throws(() => lexicalEmbed(5 as unknown as string), TypeError);
  assert.throws(() => cosine(new Float32Array(2), new Float32Array(3)), RangeError);
});
