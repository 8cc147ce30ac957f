import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { HearthError } from '@hearth/io';
import { INVALID_IMPORT, ImportError, exportLine, importJsonl, parseImportLine, type ImportProgress, type ImportRecord } from '../web/jsonl.js';
import type { Note } from '../web/notes.js';

const fixture = new URL('./fixtures/notes-v1.jsonl', import.meta.url);

async function importAll(blob: Blob, batchSize = 2): Promise<{ records: ImportRecord[]; batches: number[]; progress: ImportProgress[]; result: ImportProgress }> {
  const records: ImportRecord[] = [];
  const batches: number[] = [];
  const progress: ImportProgress[] = [];
  const result = await importJsonl(blob, {
    batchSize,
    write: async (b) => {
      batches.push(b.length);
      records.push(...b);
    },
    onProgress: (p) => progress.push({ ...p, refused: [...p.refused] }),
  });
  return { records, batches, progress, result };
}

test('jsonl: the committed fixture imports its good lines and refuses each bad one with its line number and reason', async () => {
  const { records, batches, progress, result } = await importAll(new Blob([readFileSync(fixture)]));
  assert.equal(result.imported, 3);
  assert.deepEqual(batches, [2, 1]);
  assert.deepEqual(records[0], { id: 'n1', title: 'First note', body: 'Plain text body.', tags: ['Alpha', 'beta'], created: 1700000000000, updated: 1700000001000 });
  assert.equal(records[1].title, 'With a vector');
  assert.equal(records[1].body, 'Ünïcödé body — with an em dash and 🔥');
  assert.deepEqual(records[1].vector, new Float32Array([0.5, -0.25, 0.125]));
  assert.match(records[1].id, /^[0-9a-z]{9}-[0-9a-f]{16}$/, 'a generated id');
  assert.equal(records[2].title, 'Only a body', 'the title defaults to the first line of the body');
  assert.deepEqual(
    result.refused.map((e) => [e.line, e.message.replace(/ \(.*\)$/, '')]),
    [
      [5, 'line 5: not JSON'],
      [6, 'line 6: unknown field "colour"'],
      [7, 'line 7: "vector"[1] is not a finite number'],
      [8, 'line 8: "title" expected a string, got number'],
      [9, 'line 9: "tags" expected an array of strings'],
      [10, 'line 10: needs a "title" or a "body"'],
      [11, 'line 11: "id" expected 1 to 200 characters'],
      [12, 'line 12: "vector" expected an array of 1 to 4096 numbers'],
      [13, 'line 13: "created" expected ms since the epoch'],
      [14, 'line 14: expected a JSON object'],
    ],
  );
  for (const e of result.refused) {
    assert.ok(e instanceof ImportError && e instanceof HearthError);
    assert.equal(e.code, INVALID_IMPORT);
  }
  assert.equal(result.bytesRead, result.totalBytes);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].bytesRead >= progress[i - 1].bytesRead, 'progress never goes back');
});

test('jsonl: lines and multi-byte characters split across stream chunks, CRLF, no final newline', async () => {
  const line = (i: number): string => JSON.stringify({ title: `t${i} — ü🔥`, body: 'x'.repeat(i % 97) + 'é' });
  const text = Array.from({ length: 3000 }, (_, i) => line(i)).join('\r\n');
  const { records, progress, result } = await importAll(new Blob([text]), 64);
  assert.equal(result.imported, 3000);
  assert.deepEqual(result.refused, []);
  records.forEach((r, i) => assert.equal(r.title, `t${i} — ü🔥`));
  assert.ok(progress.some((p) => p.bytesRead > 0 && p.bytesRead < p.totalBytes), 'progress reported mid-file');
});

test('jsonl: a file that is not UTF-8 stops the import with ImportError', async () => {
  await assert.rejects(importAll(new Blob([new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a])])), (e: unknown) => e instanceof ImportError && e.code === INVALID_IMPORT);
});

test('jsonl: a failing write stops the import and propagates; an aborted signal stops it', async () => {
  const blob = new Blob(['{"title":"a"}\n{"title":"b"}\n']);
  await assert.rejects(importJsonl(blob, { batchSize: 1, write: async () => Promise.reject(new Error('disk full')) }), /disk full/);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(importJsonl(blob, { write: async () => undefined, signal: ac.signal }), { name: 'AbortError' });
  await assert.rejects(importJsonl(blob, { write: async () => undefined, batchSize: 0 }), RangeError);
});

test('jsonl: exportLine and parseImportLine round-trip any note (property)', () => {
  const f32 = fc.float({ noNaN: true, noDefaultInfinity: true });
  const note = fc.record({
    title: fc.string({ maxLength: 80 }),
    body: fc.string({ maxLength: 300 }),
    tags: fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }),
    created: fc.integer({ min: 0, max: 2 ** 45 }),
    updated: fc.integer({ min: 0, max: 2 ** 45 }),
    vector: fc.option(fc.array(f32, { minLength: 1, maxLength: 16 }), { nil: undefined }),
  });
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), note, (id, n) => {
      const doc: Note = { title: n.title, body: n.body || 'b', tags: n.tags, created: n.created, updated: n.updated };
      if (n.vector) doc.vector = new Float32Array(n.vector);
      const back = parseImportLine(exportLine(id, doc), 1);
      assert.equal(back.id, id);
      assert.equal(back.body, doc.body);
      assert.deepEqual(back.tags, doc.tags);
      assert.equal(back.created, doc.created);
      assert.equal(back.updated, doc.updated);
      if (doc.title !== '') assert.equal(back.title, doc.title);
      if (doc.vector) assert.deepEqual(new Uint8Array(back.vector!.buffer), new Uint8Array(doc.vector.buffer), 'vector bits');
      else assert.equal(back.vector, undefined);
    }),
    { seed: 11212026, numRuns: 300 },
  );
});
