import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { f32Text, findPackageDir, makeFioriImport } from '../scripts/make-fiori-import.mjs';
import { parseImportLine } from '../web/jsonl.js';

test('make-fiori-import: the example package becomes an import file with the exact vectors, in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fiori-'));
  try {
    const out = join(dir, 'f.jsonl');
    const r = await makeFioriImport({ out, limit: 12 });
    assert.equal(r.count, 12);
    assert.equal(r.dim, 384);
    const data = join(findPackageDir(), 'data/embeddings');
    const bin = readFileSync(join(data, 'embeddings.bin'));
    const recs = readFileSync(join(data, 'records.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { id: string; title: string; content: string });
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 12);
    lines.forEach((line, i) => {
      const rec = parseImportLine(line, i + 1);
      assert.equal(rec.id, `fiori:${recs[i].id}`);
      assert.equal(rec.title, recs[i].title);
      assert.equal(rec.body, recs[i].content);
      assert.ok(rec.tags.length > 0);
      const want = new Float32Array(bin.buffer.slice(bin.byteOffset + i * 384 * 4, bin.byteOffset + (i + 1) * 384 * 4));
      assert.deepEqual(rec.vector, want);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('make-fiori-import: files that disagree are an error, not a truncated import', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-fiori-bad-'));
  try {
    const src = join(findPackageDir(), 'data/embeddings');
    const dst = join(dir, 'data/embeddings');
    mkdirSync(dst, { recursive: true });
    copyFileSync(join(src, 'records.jsonl'), join(dst, 'records.jsonl'));
    copyFileSync(join(src, 'metadata.json'), join(dst, 'metadata.json'));
    writeFileSync(join(dst, 'embeddings.bin'), readFileSync(join(src, 'embeddings.bin')).subarray(0, 384 * 4 * 10));
    await assert.rejects(makeFioriImport({ out: join(dir, 'o.jsonl'), packageDir: dir }), /embeddings\.bin holds 10 vectors, metadata\.json says 778/);
    writeFileSync(join(dst, 'embeddings.bin'), new Uint8Array(384 * 4 - 4));
    await assert.rejects(makeFioriImport({ out: join(dir, 'o.jsonl'), packageDir: dir }), /not a multiple/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('make-fiori-import: f32Text is the shortest text that reads back to the same float32 (property)', () => {
  fc.assert(
    fc.property(fc.float({ noNaN: true, noDefaultInfinity: true }), (x) => {
      if (Object.is(x, -0)) return;
      const t = f32Text(x);
      assert.equal(Math.fround(Number(t)), x);
      const significant = t.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '');
      assert.ok(significant.length <= 9, t);
    }),
    { seed: 778, numRuns: 2000 },
  );
});
