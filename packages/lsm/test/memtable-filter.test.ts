import { test } from 'node:test';
import assert from 'node:assert/strict';
// Internal module, reached by path on purpose: the memtable's key filter (invariant 7 of _memtable.ts).
import { Memtable, NIL } from '../src/_memtable.js';

const enc = new TextEncoder();

test('memtable key filter: every inserted key is found across filter growth; absent keys are not; no false negatives', () => {
  const m = new Memtable();
  const n = 40_000; // grows the filter 8,192 -> 32,768 -> 131,072 -> 524,288 bits
  for (let i = 0; i < n; i++) m.add(enc.encode(`key-${i * 7919}`), i + 1, 1, enc.encode(`v${i}`));
  for (let i = 0; i < n; i++) {
    const node = m.get(enc.encode(`key-${i * 7919}`), n + 1);
    assert.notEqual(node, NIL, `key ${i} lost`);
    assert.equal(m.seq(node), i + 1);
  }
  let found = 0;
  for (let i = 0; i < 20_000; i++) if (m.get(enc.encode(`absent-${i}`), n + 1) !== NIL) found++;
  assert.equal(found, 0);
  // a version newer than the reader's sequence stays invisible (invariant 6), the older one answers
  m.add(enc.encode('key-0'), n + 5, 1, enc.encode('newer'));
  assert.equal(m.seq(m.get(enc.encode('key-0'), n + 1)), 1);
  assert.equal(m.seq(m.get(enc.encode('key-0'), n + 5)), n + 5);
});
