/** Membership.excludedRanges: exactly the HLCs whose entries the view refuses as removed (the Database excludes them). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { packHlc } from '@hearth/crdt';
import { Membership, type MembershipRecord } from '../src/index.js';
import { A, B, C, ROOT, t } from './_membership-keys.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

test('excludedRanges covers exactly the entries entryVerdict refuses as removed (property)', () => {
  const arbRec = fc.record({
    author: fc.constantFrom(ROOT, A, B),
    subject: fc.constantFrom(A, B, C),
    ms: fc.integer({ min: 0, max: 30 }),
    action: fc.constantFrom('admit' as const, 'remove' as const),
    role: fc.constantFrom('admin' as const, 'member' as const),
  });
  fc.assert(
    fc.property(fc.array(arbRec, { maxLength: 12 }), (raw) => {
      const records: MembershipRecord[] = raw.map((r) => ({ author: r.author, subject: r.subject, at: t(r.ms), action: r.action, role: r.action === 'remove' ? 'member' : r.role }));
      const m = new Membership(ROOT, records);
      const ranges = m.excludedRanges();
      for (const feed of [ROOT, A, B, C]) {
        for (let ms = -2; ms <= 33; ms++) {
          for (const c of [0, 1]) {
            const h = packHlc(1_000_000 + ms, c);
            const removed = m.entryVerdict(feed, h) === 'removed';
            const inside = ranges.some((r) => r.feed[0] === feed[0] && (r.after === null || r.after < h) && (r.upTo === null || h <= r.upTo));
            assert.equal(inside, removed, `feed ${feed[0]} at ${ms}.${c}`);
          }
        }
      }
    }),
    { seed: SEED, numRuns: 400 },
  );
});

test('a removal then a re-admission excludes the interval between them', () => {
  const m = new Membership(ROOT, [
    { author: ROOT, subject: A, at: t(10), action: 'admit', role: 'member' },
    { author: ROOT, subject: A, at: t(20), action: 'remove', role: 'member' },
    { author: ROOT, subject: A, at: t(30), action: 'admit', role: 'member' },
  ]);
  assert.deepEqual(m.excludedRanges(), [{ feed: A, after: t(20), upTo: t(30) }]);
});
