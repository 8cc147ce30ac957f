/** Membership rules (docs/sync.md): root, admissions, removals, admin chains, grace, order independence. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Membership, parseMembershipRecord, membershipRecordId, type MembershipRecord } from '../src/index.js';
import { A, B, C, ROOT, rec, t } from './_membership-keys.js';

test('the root is an admin at every time; an unknown feed is pending; records about the root are ignored', () => {
  const m = new Membership(ROOT, [rec(A, ROOT, 5, 'remove')]);
  assert.equal(m.entryVerdict(ROOT, t(0)), 'accept');
  assert.equal(m.adminAt(ROOT, 0n), 'yes');
  assert.equal(m.entryVerdict(A, t(10)), 'pending');
  assert.equal(m.adminAt(A, t(10)), 'unknown');
  assert.ok(m.isAdmin(ROOT));
  assert.equal(m.validCount, 0);
});

test('admission covers entries before it (grace) and after; removal cuts entries after its HLC; re-admission restores', () => {
  const m = new Membership(ROOT, [rec(ROOT, A, 100), rec(ROOT, A, 200, 'remove'), rec(ROOT, A, 300)]);
  assert.equal(m.entryVerdict(A, t(50)), 'accept', 'written before the admission');
  assert.equal(m.entryVerdict(A, t(150)), 'accept');
  assert.equal(m.entryVerdict(A, t(200)), 'accept', 'at the removal HLC itself: not after it');
  assert.equal(m.entryVerdict(A, t(201)), 'removed');
  assert.equal(m.entryVerdict(A, t(301)), 'accept');
  assert.ok(m.isMember(A));
  const removedOnly = new Membership(ROOT, [rec(ROOT, B, 100, 'remove')]);
  assert.equal(removedOnly.entryVerdict(B, t(50)), 'removed', 'a removal with no admission before covers nothing');
});

test('a record is valid only if its author was an admin strictly before it; chains of admins', () => {
  const records = [
    rec(ROOT, A, 100, 'admit', 'admin'), // A becomes admin at 100
    rec(A, B, 100), // same time as A's promotion: not valid (strictly before)
    rec(A, C, 150), // valid
    rec(B, ROOT, 160), // about the root: ignored
    rec(C, B, 170), // C is a member, not an admin: invalid
    rec(ROOT, A, 200, 'remove'),
    rec(A, B, 250), // A no longer admin: invalid
  ];
  const m = new Membership(ROOT, records);
  assert.equal(m.adminAt(A, t(100)), 'no');
  assert.equal(m.adminAt(A, t(101)), 'yes');
  assert.equal(m.adminAt(A, t(201)), 'no');
  assert.equal(m.entryVerdict(B, t(999)), 'pending', 'no valid record names B');
  assert.equal(m.entryVerdict(C, t(999)), 'accept');
  assert.equal(m.validCount, 3);
  assert.deepEqual(
    m.members().map((x) => [x.feed[0], x.role, x.removed]),
    [
      [1, 'admin', false],
      [2, 'admin', true],
      [4, 'member', false],
    ],
  );
});

test('the view is a function of the set of records: any order, duplicates, same answers (property)', () => {
  const feeds = [ROOT, A, B, C];
  const arbRec = fc.record({
    author: fc.constantFrom(...feeds),
    subject: fc.constantFrom(A, B, C),
    ms: fc.integer({ min: 0, max: 50 }),
    action: fc.constantFrom('admit' as const, 'remove' as const),
    role: fc.constantFrom('admin' as const, 'member' as const),
  }).map((r) => rec(r.author, r.subject, r.ms, r.action, r.action === 'remove' ? 'member' : r.role));
  fc.assert(
    fc.property(fc.array(arbRec, { maxLength: 12 }), (records) => {
      const a = new Membership(ROOT, records);
      const b = new Membership(ROOT, [...records].reverse().concat(records.slice(0, 2)));
      assert.equal(a.fingerprint(), b.fingerprint());
      for (const f of feeds) for (let ms = 0; ms <= 52; ms += 4) {
        assert.equal(a.entryVerdict(f, t(ms)), b.entryVerdict(f, t(ms)));
        assert.equal(a.adminAt(f, t(ms)), b.adminAt(f, t(ms)));
      }
    }),
    { seed: 31337, numRuns: 300 },
  );
});

test('record documents: id and fields parse back; anything else is not a record', () => {
  const id = membershipRecordId(A, ROOT, t(5));
  assert.deepEqual(parseMembershipRecord(id, { action: 'admit', role: 'admin' }), { subject: A, author: ROOT, at: t(5), action: 'admit', role: 'admin' });
  assert.equal(parseMembershipRecord(id, { action: 'remove', role: 'admin' }), null);
  assert.equal(parseMembershipRecord(id, { action: 'admit', role: 'admin', extra: 1 }), null);
  assert.equal(parseMembershipRecord(id, { action: 'ban', role: 'member' }), null);
  assert.equal(parseMembershipRecord(id.toUpperCase(), { action: 'admit', role: 'member' }), null);
  assert.equal(parseMembershipRecord(id.slice(1), { action: 'admit', role: 'member' }), null);
});
