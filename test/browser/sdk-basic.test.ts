/**
 * The Database behaviour suite through the SDK in a real page (headless Chromium): writes, reads, transactions,
 * errors keeping their class and code across the worker boundary, live values (callback, async iterator, store),
 * queries where the Database has them, backend choice (OPFS, IndexedDB) and `info()`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withBrowser } from './harness.js';
import { run, sdkPage, setupSdk } from './sdk-helpers.js';

test('sdk: behaviour through the SDK in a page', { timeout: 120_000 }, async (t) => {
  await withBrowser(async (b) => {
    await setupSdk(b);
    const page = await sdkPage(b);
    await run(page, `globalThis.db = await T.openDatabase('basic'); globalThis.notes = db.collection('notes');`);

    await t.test('put then get returns the document (strings, numbers, nested, bytes, vectors)', async () => {
      const r = await run<{ doc: unknown; isU8: boolean; isF32: boolean; missing: unknown }>(
        page,
        `await notes.put('n1', { title: 'hello', n: 3.5, tags: ['a', 'b'], meta: { x: [1, { y: null }] }, raw: new Uint8Array([1, 2, 3]), emb: new Float32Array([0.5, -1]) });
         const d = await notes.get('n1');
         return { doc: { ...d, raw: Array.from(d.raw), emb: Array.from(d.emb) }, isU8: d.raw instanceof Uint8Array, isF32: d.emb instanceof Float32Array, missing: await notes.get('nope') };`,
      );
      assert.deepEqual(r.doc, { title: 'hello', n: 3.5, tags: ['a', 'b'], meta: { x: [1, { y: null }] }, raw: [1, 2, 3], emb: [0.5, -1] });
      assert.equal(r.isU8, true);
      assert.equal(r.isF32, true);
      assert.equal(r.missing, undefined);
    });

    await t.test('patch merges top-level fields (null removes), delete removes, getMany and list', async () => {
      const r = await run(
        page,
        `await notes.put('p', { a: 1, b: 2, c: 3 });
         await notes.patch('p', { b: 20, c: null, d: 4 });
         const afterPatch = await notes.get('p');
         await notes.put('q', { a: 9 });
         await notes.delete('n1');
         const many = await notes.getMany(['p', 'n1', 'q']);
         const list = await notes.list();
         const rev = await notes.list({ reverse: true, limit: 1 });
         return { afterPatch, many, listIds: list.map(([id]) => id), rev: rev.map(([id]) => id) };`,
      );
      assert.deepEqual(r, { afterPatch: { a: 1, b: 20, d: 4 }, many: [{ a: 1, b: 20, d: 4 }, undefined, { a: 9 }], listIds: ['p', 'q'], rev: ['q'] });
    });

    await t.test('transaction: all writes commit as one entry; a throwing function writes nothing', async () => {
      const r = await run(
        page,
        `const before = await db.stats();
         const out = await db.transaction((tx) => {
           tx.put('tx', 'a', { v: 1 });
           tx.collection('tx').put('b', { v: 2 });
           tx.patch('tx', 'a', { w: 3 });
           tx.delete('tx', 'b');
           return 'result';
         });
         const after = await db.stats();
         const a = await db.collection('tx').get('a');
         const b = await db.collection('tx').get('b');
         let thrown = null;
         try {
           await db.transaction(async (tx) => { tx.put('tx', 'c', { v: 1 }); throw new RangeError('boom'); });
         } catch (e) { thrown = e.name + ':' + e.message; }
         const c = await db.collection('tx').get('c');
         let late = null;
         let saved;
         await db.transaction((tx) => { saved = tx; });
         try { saved.put('tx', 'd', {}); } catch (e) { late = e.name; }
         return { out, commits: after.commits - before.commits, ops: after.opsCommitted - before.opsCommitted, a, b: b ?? 'absent', thrown, c: c ?? 'absent', late };`,
      );
      assert.deepEqual(r, { out: 'result', commits: 1, ops: 4, a: { v: 1, w: 3 }, b: 'absent', thrown: 'RangeError:boom', c: 'absent', late: 'TypeError' });
    });

    await t.test('collection.transaction: a typed transaction on one collection', async () => {
      const r = await run(
        page,
        `const c = db.collection('ctx');
         const out = await c.transaction((tx) => { tx.put('a', { v: 1 }); tx.put('b', { v: 2 }); tx.patch('a', { w: 1 }); tx.delete('b'); return 7; });
         return { out, a: await c.get('a'), b: (await c.get('b')) ?? 'absent' };`,
      );
      assert.deepEqual(r, { out: 7, a: { v: 1, w: 1 }, b: 'absent' });
    });

    await t.test('transaction documents are copied when buffered', async () => {
      const r = await run(
        page,
        `const doc = { v: 1 };
         await db.transaction((tx) => { tx.put('tx', 'copy', doc); doc.v = 2; });
         return (await db.collection('tx').get('copy')).v;`,
      );
      assert.equal(r, 1);
    });

    await t.test('errors keep their class and code across the worker boundary', async () => {
      const r = await run<Record<string, unknown>>(
        page,
        `const out = {};
         const grab = async (k, f) => {
           try { await f(); out[k] = 'resolved'; }
           catch (e) { out[k] = { name: e.name, code: e.code, db: e instanceof T.DbError, hearth: e instanceof T.HearthError, io: e instanceof T.IoError, type: e instanceof TypeError, log: e instanceof T.LogError, hasStack: typeof e.stack === 'string', collection: e.collection, msg: typeof e.message === 'string' && e.message.length > 0 }; }
         };
         await grab('emptyId', () => notes.put('', { a: 1 }));
         await grab('date', () => notes.put('d', { when: new Date(0) }));
         await grab('fn', () => notes.put('f', { f: () => 1 }));
         await grab('array', () => notes.put('arr', [1, 2]));
         await grab('idType', () => notes.put(42, {}));
         await grab('tooBig', () => notes.put('big', { s: 'x'.repeat(1100000) }));
         await grab('method', () => db._call('close', []));
         return out;`,
      );
      const dbErr = (code: string) => ({ name: 'DbError', code, db: true, hearth: true, io: false, type: false, log: false, hasStack: true, collection: 'notes', msg: true });
      assert.deepEqual(r.emptyId, dbErr('HEARTH_INVALID_KEY'));
      assert.deepEqual(r.date, dbErr('HEARTH_UNSUPPORTED_VALUE'));
      assert.deepEqual(r.fn, dbErr('HEARTH_UNSUPPORTED_VALUE'));
      assert.deepEqual(r.array, dbErr('HEARTH_UNSUPPORTED_VALUE'));
      assert.deepEqual(r.tooBig, dbErr('HEARTH_DOCUMENT_TOO_LARGE'));
      assert.deepEqual(r.idType, { name: 'TypeError', code: undefined, db: false, hearth: false, io: false, type: true, log: false, hasStack: true, collection: undefined, msg: true });
      assert.deepEqual(r.method, { name: 'TypeError', code: undefined, db: false, hearth: false, io: false, type: true, log: false, hasStack: true, collection: undefined, msg: true });
      // A refused write wrote nothing.
      assert.deepEqual(await run(page, `return [await notes.get(''.concat('d')), await notes.get('f'), await notes.get('big')];`), [null, null, null].map(() => undefined));
    });

    await t.test('a live document: callback, store contract, async iterator', async () => {
      const r = await run(
        page,
        `const live = notes.watch('w');
         const seen = [];
         const off = live.listen((v) => seen.push(v === undefined ? 'absent' : v.v));
         const store = [];
         const offStore = live.subscribe((v) => store.push(v === undefined ? 'none' : v.v));
         await live.first();
         const it = notes.watch('w')[Symbol.asyncIterator]();
         const firstIt = await it.next();
         await notes.put('w', { v: 1 });
         const secondIt = await it.next();
         await notes.patch('w', { v: 2 });
         await notes.delete('w');
         await notes.put('other', { v: 9 });
         await notes.put('w', { v: 3 });
         await new Promise((r) => setTimeout(r, 50));
         off(); offStore();
         await it.return();
         await notes.put('w', { v: 4 });
         await new Promise((r) => setTimeout(r, 50));
         return { seen, store, firstIt: firstIt.value ?? 'absent', secondIt: secondIt.value.v };`,
      );
      assert.deepEqual(r, { seen: ['absent', 1, 2, 'absent', 3], store: ['none', 'none', 1, 2, 'none', 3], firstIt: 'absent', secondIt: 1 });
    });

    await t.test('queries, explain and live queries (callback, iterator) through the SDK; a bad query is a QueryError', async () => {
      const r = await run<Record<string, unknown>>(
        page,
        `const items = db.collection('items');
         await db.transaction((tx) => { for (let i = 0; i < 5; i++) tx.put('items', 'i' + i, { n: i, even: i % 2 === 0 }); });
         const q = { where: { op: 'eq', path: 'even', value: true }, sort: [{ path: 'n', dir: 'desc' }] };
         const res = await items.query(q);
         const plan = await items.explain(q);
         const snaps = [];
         const live = items.live(q, (r) => snaps.push(r.rows.map((x) => x.id)));
         await live.first();
         const it = items.live({ where: { op: 'gte', path: 'n', value: 3 } })[Symbol.asyncIterator]();
         const itFirst = (await it.next()).value.rows.map((x) => x.id);
         await items.put('i6', { n: 6, even: true });
         await items.put('i7', { n: 7, even: false });
         await items.delete('i0');
         await new Promise((r) => setTimeout(r, 100));
         const itLater = (await it.next()).value.rows.map((x) => x.id);
         await it.return();
         live.close();
         let bad;
         try { await items.query({ where: { op: 'near', path: 'n', value: 1 } }); } catch (e) { bad = { name: e.name, code: e.code, q: e instanceof T.QueryError, hearth: e instanceof T.HearthError }; }
         let liveBad;
         try { await items.live({ limit: -1 }).first(); } catch (e) { liveBad = { name: e.name, code: e.code }; }
         return { rows: res.rows.map((x) => x.id), docs: res.rows.map((x) => x.doc.n), access: typeof plan.access?.type, live: snaps, itFirst, itLater, bad, liveBad };`,
      );
      assert.deepEqual(r.rows, ['i4', 'i2', 'i0']);
      assert.deepEqual(r.docs, [4, 2, 0]);
      assert.equal(r.access, 'string');
      assert.deepEqual(r.live, [['i4', 'i2', 'i0'], ['i6', 'i4', 'i2', 'i0'], ['i6', 'i4', 'i2']]);
      assert.deepEqual(r.itFirst, ['i3', 'i4']);
      assert.deepEqual(r.itLater, ['i3', 'i4', 'i6', 'i7']);
      assert.deepEqual(r.bad, { name: 'QueryError', code: 'HEARTH_INVALID_QUERY', q: true, hearth: true });
      assert.deepEqual(r.liveBad, { name: 'QueryError', code: 'HEARTH_INVALID_QUERY' });
    });

    await t.test('secondary indexes through the SDK: createIndex, the planner uses it, indexes() lists it, dropIndex', async () => {
      const r = await run<Record<string, unknown>>(
        page,
        `await db.transaction((tx) => { for (let i = 0; i < 50; i++) tx.put('ix', 'k' + i, { size: i, tags: i % 2 ? ['odd'] : ['even'] }); });
         const info = await db.createIndex('ix', [['size']], { name: 'by-size' });
         await db.createIndex('ix', ['tags'], { multiEntry: true });
         const q = { collection: 'ix', where: { op: 'gte', path: 'size', value: 45 }, sort: [{ path: 'size', dir: 'asc' }] };
         const res = await db.query(q);
         const plan = await db.explain(q);
         const listed = (await db.indexes('ix')).map((x) => ({ name: x.name ?? null, origin: x.origin }));
         await db.dropIndex('by-size');
         const after = (await db.indexes('ix')).length;
         let bad;
         try { await db.createIndex('ix', [], {}); } catch (e) { bad = { name: e.name, code: e.code }; }
         return { created: { collection: info.collection, fields: info.fields }, rows: res.rows.map((x) => x.id), access: plan.access, listed, after, bad };`,
      );
      assert.deepEqual(r.created, { collection: 'ix', fields: [['size']] });
      assert.deepEqual(r.rows, ['k45', 'k46', 'k47', 'k48', 'k49']);
      assert.equal((r.access as { type: string }).type, 'index', JSON.stringify(r.access));
      assert.equal((r.listed as unknown[]).length, 2);
      assert.deepEqual((r.listed as { origin: string }[]).map((x) => x.origin), ['user', 'user']);
      assert.ok((r.listed as { name: string | null }[]).some((x) => x.name === 'by-size'), JSON.stringify(r.listed));
      assert.equal(r.after, 1);
      assert.deepEqual(r.bad, { name: 'QueryError', code: 'HEARTH_INVALID_QUERY' });
    });

    await t.test('vector search through the SDK: createVectorIndex, nearest (with a filter), explainNearest, errors typed', async () => {
      const r = await run<Record<string, unknown>>(
        page,
        `const v = db.collection('vecs');
         await db.transaction((tx) => {
           tx.put('vecs', 'east', { emb: new Float32Array([1, 0]), kind: 'a' });
           tx.put('vecs', 'north', { emb: new Float32Array([0, 1]), kind: 'b' });
           tx.put('vecs', 'northeast', { emb: new Float32Array([0.7, 0.7]), kind: 'a' });
         });
         let missing;
         try { await v.nearest('emb', new Float32Array([1, 0]), { k: 1 }); } catch (e) { missing = { name: e.name, code: e.code, db: e instanceof T.DbError }; }
         await db.createVectorIndex('vecs', 'emb', { dimension: 2, metric: 'cosine' });
         const hits = await v.nearest('emb', new Float32Array([1, 0.1]), { k: 2 });
         const filtered = await v.nearest('emb', new Float32Array([0, 1]), { k: 1, filter: { op: 'eq', path: 'kind', value: 'a' } });
         const explained = await db.explainNearest('vecs', 'emb', new Float32Array([0, 1]), { k: 1 });
         let dim;
         try { await v.nearest('emb', new Float32Array([1, 0, 0]), { k: 1 }); } catch (e) { dim = e.name; }
         return { missing, ids: hits.map((h) => h.id), docIsF32: hits[0].doc.emb instanceof Float32Array, filtered: filtered.map((h) => h.id), planned: explained.hits[0].id, dim };`,
      );
      assert.deepEqual(r, { missing: { name: 'DbError', code: 'HEARTH_NO_VECTOR_INDEX', db: true }, ids: ['east', 'northeast'], docIsF32: true, filtered: ['northeast'], planned: 'north', dim: 'RangeError' });
    });

    await t.test('info(): OPFS backend, leader, persistence asked, device feed', async () => {
      const r = await run<Record<string, unknown>>(page, `return await db.info();`);
      assert.equal(r.backend, 'opfs');
      assert.equal(r.isLeader, true);
      assert.equal(r.name, 'basic');
      assert.equal(r.keypairCreated, true);
      assert.equal(r.leader, r.client);
      assert.match(String(r.feed), /^[0-9a-f]{64}$/);
      assert.equal(typeof r.persisted, 'boolean');
    });

    await t.test('the IndexedDB backend serves the same API and reports itself', async () => {
      const r = await run(
        page,
        `const idb = await T.openDatabase('basic-idb', { backend: 'idb' });
         await idb.collection('c').put('x', { v: 1 });
         const got = await idb.collection('c').get('x');
         const info = await idb.info();
         await idb.close();
         return { got, backend: info.backend };`,
      );
      assert.deepEqual(r, { got: { v: 1 }, backend: 'idb' });
    });

    await t.test('argument checks are TypeError/RangeError on the main thread', async () => {
      const r = await run(
        page,
        `const out = [];
         for (const f of [() => T.openDatabase('bad/name'), () => T.openDatabase(''), () => T.openDatabase('x', { backend: 'disk' }), () => db.transaction(5)]) {
           try { await f(); out.push('resolved'); } catch (e) { out.push(e.name); }
         }
         return out;`,
      );
      assert.deepEqual(r, ['RangeError', 'RangeError', 'RangeError', 'TypeError']);
    });

    await t.test('a worker script that fails to load rejects openDatabase with SdkError HEARTH_WORKER_FAILED', async () => {
      const r = await run(
        page,
        `try { await T.openDatabase('noworker', { worker: () => new Worker('/no-such-worker.js', { type: 'module' }) }); return 'resolved'; }
         catch (e) { return { name: e.name, code: e.code, sdk: e instanceof T.SdkError }; }`,
      );
      assert.deepEqual(r, { name: 'SdkError', code: 'HEARTH_WORKER_FAILED', sdk: true });
    });

    await t.test('close(): later calls reject with HEARTH_CLOSED; a second open sees every write', async () => {
      const r = await run(
        page,
        `await db.close();
         let err;
         try { await notes.get('p'); } catch (e) { err = { name: e.name, code: e.code }; }
         const again = await T.openDatabase('basic');
         const p = await again.collection('notes').get('p');
         const info = await again.info();
         await again.close();
         return { err, p, created: info.keypairCreated };`,
      );
      assert.deepEqual(r, { err: { name: 'IoError', code: 'HEARTH_CLOSED' }, p: { a: 1, b: 20, d: 4 }, created: false });
    });
    await page.close();
  });
});
