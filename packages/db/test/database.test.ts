import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryFileSystem } from '@hearth/io';
import { decodeOpsV1, Database, DbError, type CommitEvent, type Document } from '@hearth/db';

const open = (opts: Partial<Parameters<typeof Database.open>[0]> = {}) => Database.open({ fs: new MemoryFileSystem(), name: 'db', ...opts });
const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('put, get, getMany, patch, delete; values round-trip', async () => {
  const db = await open();
  const doc: Document = { title: 'hello', n: 1.5, ok: true, nil: null, tags: ['a', { b: [1, 2] }], bytes: new Uint8Array([0, 255]), vec: new Float32Array([0.25, -1, 3e38]), nested: { deep: { deeper: 'x' } } };
  await db.put('notes', 'a', doc);
  assert.deepEqual(db.get('notes', 'a'), doc);
  const got = db.get('notes', 'a')!;
  assert.ok(got.vec instanceof Float32Array && got.bytes instanceof Uint8Array && got.bytes.constructor === Uint8Array);
  assert.deepEqual(Object.keys(got), Object.keys(doc).sort(), 'fields in code point order');
  assert.equal(db.get('notes', 'missing'), undefined);
  assert.equal(db.get('other', 'a'), undefined, 'collections are separate');

  await db.patch('notes', 'a', { title: 'hi', n: null, extra: 7, ignored: undefined });
  const patched = db.get('notes', 'a')!;
  assert.equal(patched.title, 'hi');
  assert.equal(patched.extra, 7);
  assert.ok(!('n' in patched) && !('ignored' in patched));
  assert.deepEqual(patched.tags, doc.tags, 'untouched fields stay');

  await db.put('notes', 'a', { only: 1 });
  assert.deepEqual(db.get('notes', 'a'), { only: 1 }, 'put replaces the whole document');
  await db.delete('notes', 'a');
  assert.equal(db.get('notes', 'a'), undefined);
  await db.patch('notes', 'a', { revived: true });
  assert.deepEqual(db.get('notes', 'a'), { revived: true }, 'a patch after a delete creates the document with its fields');
  await db.put('notes', 'b', {});
  assert.deepEqual(db.get('notes', 'b'), {}, 'an empty document exists');
  assert.deepEqual(db.getMany('notes', ['b', 'zz', 'a']), [{}, undefined, { revived: true }]);
  await db.close();
});

test('iterate: id order (UTF-8 bytes), bounds, reverse, limit; deleted documents are skipped', async () => {
  const db = await open();
  const ids = ['b', 'a', 'c', 'ab', '\u{1F600}', '\uFF61', 'd'];
  for (const id of ids) await db.put('c', id, { id });
  await db.put('c2', 'a', { other: true });
  await db.delete('c', 'c');
  const all = [...db.iterate('c')].map(([id]) => id);
  assert.deepEqual(all, ['a', 'ab', 'b', 'd', '\uFF61', '\u{1F600}']);
  assert.deepEqual([...db.iterate('c', { reverse: true })].map(([id]) => id), [...all].reverse());
  assert.deepEqual([...db.iterate('c', { gt: 'a', lte: 'd' })].map(([id]) => id), ['ab', 'b', 'd']);
  assert.deepEqual([...db.iterate('c', { gte: 'b', lt: 'd', limit: 5 })].map(([id]) => id), ['b'], 'deleted c skipped');
  assert.deepEqual([...db.iterate('c', { limit: 2 })].map(([id]) => id), ['a', 'ab']);
  assert.deepEqual([...db.iterate('c', { limit: 0 })], []);
  const col = db.collection('c');
  assert.deepEqual([...col.iterate({ limit: 1 })], [['a', { id: 'a' }]]);
  await col.put('e', { x: 1 });
  await col.patch('e', { y: 2 });
  assert.deepEqual(col.get('e'), { x: 1, y: 2 });
  await col.delete('e');
  assert.deepEqual(col.getMany(['e', 'a']), [undefined, { id: 'a' }]);
  await db.close();
});

test('a transaction is one entry, all or nothing; tx.get sees its own writes', async () => {
  const db = await open();
  await db.put('acct', 'x', { balance: 10 });
  const before = db.stats().ownHead;
  const r = await db.transaction((tx) => {
    const x = tx.get('acct', 'x')!;
    tx.put('acct', 'x', { balance: (x.balance as number) - 3 });
    tx.patch('acct', 'y', { balance: 3 });
    assert.deepEqual(tx.get('acct', 'x'), { balance: 7 });
    assert.deepEqual(tx.get('acct', 'y'), { balance: 3 });
    tx.delete('acct', 'z');
    assert.equal(tx.get('acct', 'z'), undefined);
    return 'done';
  });
  assert.equal(r, 'done');
  assert.equal(db.stats().ownHead, before + 1, 'one entry');
  const [entry] = await db.entriesSince(db.feed, before);
  assert.deepEqual(decodeOpsV1(entry.ops).map((o) => o.kind), ['put', 'patch', 'delete']);
  assert.deepEqual(db.get('acct', 'x'), { balance: 7 });

  await assert.rejects(
    db.transaction(async (tx) => {
      tx.put('acct', 'x', { balance: 0 });
      tx.put('acct', 'w', { balance: 1 });
      throw new Error('abort');
    }),
    /abort/,
  );
  await assert.rejects(
    db.transaction((tx) => {
      tx.put('acct', 'x', { balance: 0 });
      tx.put('acct', 'w', { bad: () => 1 } as never);
    }),
    code('HEARTH_UNSUPPORTED_VALUE'),
  );
  assert.equal(db.stats().ownHead, before + 1, 'nothing written by the failed transactions');
  assert.deepEqual(db.get('acct', 'x'), { balance: 7 });
  assert.equal(db.get('acct', 'w'), undefined);
  assert.equal(await db.transaction(() => 5), 5, 'an empty transaction writes nothing');
  assert.equal(db.stats().ownHead, before + 1);
  let leaked: Parameters<Parameters<Database['transaction']>[0]>[0] | undefined;
  await db.transaction((tx) => {
    leaked = tx;
  });
  assert.throws(() => leaked!.put('acct', 'q', {}), TypeError);
  await db.close();
});

test('group commit: 10,000 concurrent unawaited puts form far fewer entries; the size cap splits entries', async () => {
  const db = await open();
  const ps: Promise<void>[] = [];
  for (let i = 0; i < 10000; i++) ps.push(db.put('burst', `k${i}`, { i, text: 'x'.repeat(20) }));
  await Promise.all(ps);
  const entries = db.stats().ownHead;
  assert.ok(entries >= 1 && entries <= 10, `10,000 puts made ${entries} entries`);
  assert.deepEqual(db.get('burst', 'k9999'), { i: 9999, text: 'x'.repeat(20) });
  assert.equal([...db.iterate('burst')].length, 10000);
  await db.close();

  const small = await open({ maxCommitBytes: 4096 });
  const qs: Promise<void>[] = [];
  for (let i = 0; i < 1000; i++) qs.push(small.put('burst', `k${i}`, { i, text: 'y'.repeat(50) }));
  await Promise.all(qs);
  const n = small.stats().ownHead;
  assert.ok(n >= 10 && n < 1000, `cap 4096 bytes: ${n} entries`);
  const all = await small.entriesSince(small.feed, 0);
  assert.equal(all.length, n);
  for (const e of all) assert.ok(e.ops.length <= 4096, `payload of ${e.ops.length} bytes`);
  assert.equal(all.reduce((s, e) => s + decodeOpsV1(e.ops).length, 0), 1000);
  await small.close();
});

test('onCommit remoteChanges: false skips the changes of ingested entries while no listener wants them; the list of listeners is per event', async () => {
  const a = await open();
  for (let i = 0; i < 4; i++) await a.put('c', `d${i}`, { i });
  const entries = (await a.entriesSince(a.feed, 0)).map((e) => e.bytes);
  const b = await open();
  const lean: CommitEvent[] = [];
  const offLean = b.onCommit((e) => lean.push(e), { remoteChanges: false });
  await b.ingest(entries.slice(0, 2));
  assert.deepEqual(lean.map((e) => [e.seq, e.local, e.changes.length]), [[1, false, 0], [2, false, 0]], 'ingested: events without changes');
  await b.put('c', 'mine', { v: 1 });
  assert.deepEqual(lean[2].changes.map((c) => [c.id, c.after]), [['mine', { v: 1 }]], 'a local commit carries its changes');
  // Another listener wanting changes: both get them; unsubscribing it makes ingest skip them again.
  const full: CommitEvent[] = [];
  const offFull = b.onCommit((e) => full.push(e));
  await b.ingest(entries.slice(2, 3));
  assert.deepEqual(lean[3].changes.map((c) => [c.id, c.after]), [['d2', { i: 2 }]]);
  assert.equal(full[0], lean[3], 'one event object per entry, delivered to every listener');
  offFull();
  offFull(); // idempotent
  await b.ingest(entries.slice(3));
  assert.equal(lean[4].changes.length, 0);
  assert.equal(full.length, 1);
  // The same function subscribed twice is called once per event; its options merge (changes if either asked).
  const twice: CommitEvent[] = [];
  const fn = (e: CommitEvent) => twice.push(e);
  b.onCommit(fn, { remoteChanges: false });
  const offTwice = b.onCommit(fn);
  const c = await open();
  const seen: string[] = [];
  // Subscribing and unsubscribing from inside a listener, within one ingest of several entries: each event goes to
  // the listeners subscribed when it is delivered, and one unsubscribed before its turn is not called (as DOM events).
  let late: (() => void) | null = null;
  const offFirst = c.onCommit((e) => {
    seen.push(`first ${e.seq}`);
    if (e.seq === 1) late = c.onCommit((e2) => seen.push(`late ${e2.seq}`), { remoteChanges: false });
    if (e.seq === 3) late!();
  });
  await c.ingest(entries);
  assert.deepEqual(seen, ['first 1', 'first 2', 'late 2', 'first 3', 'first 4']);
  offFirst();
  await b.put('c', 'again', { v: 2 });
  assert.equal(twice.length, 1);
  assert.deepEqual(twice[0].changes.map((x) => x.id), ['again']);
  offTwice();
  offLean();
  await b.put('c', 'after', {});
  assert.equal(twice.length, 1, 'one unsubscribe removes a twice-subscribed function');
  for (const d of [a, b, c]) await d.close();
});

test('onCommit: subscribing a listener again keeps its place in the delivery order', async () => {
  const db = await open();
  const order: string[] = [];
  const a = () => order.push('a');
  const offA = db.onCommit(a);
  const offB = db.onCommit(() => order.push('b'));
  db.onCommit(a, { remoteChanges: false });
  await db.put('c', 'x', {});
  assert.deepEqual(order, ['a', 'b']);
  offA();
  offB();
  await db.close();
});

test('read-your-writes: every awaited write is visible to the next read; writes resolve in order', async () => {
  const db = await open();
  const order: number[] = [];
  const ps = [];
  for (let i = 0; i < 50; i++) ps.push(db.put('c', 'x', { i }).then(() => order.push(i)));
  await Promise.all(ps);
  assert.deepEqual(order, [...Array(50).keys()]);
  assert.deepEqual(db.get('c', 'x'), { i: 49 }, 'the last write wins (stamps follow call order)');
  for (let i = 0; i < 20; i++) {
    await db.patch('c', 'x', { i: i * 2 });
    assert.equal(db.get('c', 'x')!.i, i * 2);
  }
  await db.close();
});

test('snapshot: a consistent view while writes continue; release', async () => {
  const db = await open();
  await db.put('c', 'a', { v: 1 });
  await db.put('c', 'b', { v: 1 });
  const snap = db.snapshot();
  const h = snap.stateHash();
  await db.put('c', 'a', { v: 2 });
  await db.delete('c', 'b');
  await db.put('c', 'c', { v: 3 });
  assert.deepEqual(snap.get('c', 'a'), { v: 1 });
  assert.deepEqual(snap.getMany('c', ['b', 'c']), [{ v: 1 }, undefined]);
  assert.deepEqual([...snap.iterate('c')].map(([id]) => id), ['a', 'b']);
  assert.deepEqual(snap.stateHash(), h);
  assert.notDeepEqual(db.stateHash(), h);
  assert.deepEqual([...db.iterate('c')].map(([id]) => id), ['a', 'c']);
  snap.release();
  assert.throws(() => snap.get('c', 'a'), code('HEARTH_CLOSED'));
  await db.close();
});

test('bad input gets a typed error and writes nothing', async () => {
  const db = await open({ maxDocumentBytes: 1000 });
  await db.put('c', 'ok', { v: 1 });
  const head = db.stats().ownHead;
  const hash = db.stateHash();
  const cases: [() => Promise<unknown>, string][] = [
    [() => db.put('', 'a', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put('a\u0000b', 'a', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put('x'.repeat(129), 'a', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put(5 as never, 'a', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put('c', '', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put('c', '\uD800', {}), 'HEARTH_INVALID_KEY'],
    [() => db.put('c', 'é'.repeat(513), {}), 'HEARTH_INVALID_KEY'],
    [() => db.delete('c', 7 as never), 'HEARTH_INVALID_KEY'],
    [() => db.put('c', 'a', { f: () => 1 } as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { s: Symbol('x') } as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { d: new Date() } as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { b: 1n } as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { m: new Map() } as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { _id: 'x' }), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', [1] as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', null as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.patch('c', 'a', 'str' as never), 'HEARTH_UNSUPPORTED_VALUE'],
    [() => db.put('c', 'a', { big: 'x'.repeat(2000) }), 'HEARTH_DOCUMENT_TOO_LARGE'],
    [() => db.patch('c', 'ok', { big: new Uint8Array(1001) }), 'HEARTH_DOCUMENT_TOO_LARGE'],
    [() => db.transaction((tx) => tx.put('c', 'a', { big: 'x'.repeat(2000) })), 'HEARTH_DOCUMENT_TOO_LARGE'],
  ];
  for (const [f, c] of cases) await assert.rejects(f(), (e: unknown) => e instanceof DbError && e.code === c, `${f} → ${c}`);
  assert.throws(() => db.collection(''), code('HEARTH_INVALID_KEY'));
  assert.throws(() => db.get('c', ''), code('HEARTH_INVALID_KEY'));
  assert.equal(db.stats().ownHead, head, 'no entry written');
  assert.deepEqual(db.stateHash(), hash);
  await db.close();
});

test('close commits queued writes; a closed database refuses everything with HEARTH_CLOSED', async () => {
  const db = await open();
  const p = db.put('c', 'a', { v: 1 });
  const closing = db.close();
  await assert.rejects(db.put('c', 'b', {}), code('HEARTH_CLOSED'));
  await p;
  await closing;
  await db.close(); // idempotent
  assert.throws(() => db.get('c', 'a'), code('HEARTH_CLOSED'));
  assert.throws(() => db.snapshot(), code('HEARTH_CLOSED'));
  assert.throws(() => db.stateHash(), code('HEARTH_CLOSED'));
  await assert.rejects(db.patch('c', 'a', {}), code('HEARTH_CLOSED'));
  await assert.rejects(db.transaction(() => 1), code('HEARTH_CLOSED'));
  await assert.rejects(db.ingest([]), code('HEARTH_CLOSED'));
});

test('onCommit delivers each applied entry with the changed documents, before and after; unsubscribe', async () => {
  const db = await open();
  await db.put('c', 'a', { v: 1 });
  const events: CommitEvent[] = [];
  const off = db.onCommit((e) => events.push(e));
  await db.transaction((tx) => {
    tx.patch('c', 'a', { w: 2 });
    tx.put('c', 'b', { v: 3 });
    tx.patch('c', 'a', { v: 5 });
    tx.delete('c', 'nothing-there');
  });
  assert.equal(events.length, 1);
  const ev = events[0];
  assert.equal(ev.local, true);
  assert.equal(ev.seq, db.stats().ownHead);
  assert.deepEqual(ev.feed, db.feed);
  assert.deepEqual(
    ev.changes.map((c) => ({ collection: c.collection, id: c.id, before: c.before, after: c.after })),
    [
      { collection: 'c', id: 'a', before: { v: 1 }, after: { v: 5, w: 2 } },
      { collection: 'c', id: 'b', before: undefined, after: { v: 3 } },
    ],
    'a delete of a missing document is not a visible change',
  );
  assert.deepEqual(structuredClone(ev.changes[1]), { collection: 'c', id: 'b', before: undefined, after: { v: 3 } }, 'changes survive structured cloning (postMessage)');
  assert.equal(ev.changes, ev.changes, 'changes are made once');
  await db.delete('c', 'b');
  // Changes first read after later writes still show the documents as that entry left them.
  await db.put('c', 'b', { v: 4 });
  assert.deepEqual(events[1].changes.map((c) => [c.id, c.before, c.after]), [['b', { v: 3 }, undefined]]);
  assert.deepEqual(events[2].changes.map((c) => [c.id, c.before, c.after]), [['b', undefined, { v: 4 }]]);
  const cloned = structuredClone(events[2]);
  assert.deepEqual(Object.keys(cloned), ['feed', 'seq', 'hlc', 'local', 'changes'], 'a whole event clones as plain data');
  assert.deepEqual(cloned.changes, [{ collection: 'c', id: 'b', before: undefined, after: { v: 4 } }]);
  assert.equal(JSON.stringify(events[2].changes), '[{"collection":"c","id":"b","after":{"v":4}}]');
  off();
  await db.put('c', 'z', {});
  assert.equal(events.length, 3);
  // a listener that throws does not break commits
  const errors: unknown[] = [];
  const g = globalThis as { reportError?: (e: unknown) => void };
  const saved = g.reportError;
  g.reportError = (e) => errors.push(e);
  try {
    const off2 = db.onCommit(() => {
      throw new Error('listener bug');
    });
    await db.put('c', 'y', { v: 1 });
    off2();
  } finally {
    g.reportError = saved;
  }
  assert.equal(errors.length, 1);
  assert.deepEqual(db.get('c', 'y'), { v: 1 });
  await db.close();
});
