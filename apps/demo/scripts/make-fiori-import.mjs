#!/usr/bin/env node
// Turns the npm package @sap-ux/fiori-docs-embeddings (778 SAP Fiori documentation chunks with their 384-d
// all-MiniLM-L6-v2 embeddings) into a Hearth Notes import file: JSON Lines with title, body, tags, vector
// (format: apps/demo/web/jsonl.ts, docs/demo.md).
//
// Input, from the package's data/embeddings/:
//   records.jsonl   one JSON object per document: id, title, content, category, tags_json, lastModified, ...
//   embeddings.bin  N × dim float32, little-endian, no header, in the order of records.jsonl
//   metadata.json   { dimensions, totalVectors, model, ... }
// The sizes are checked against each other; a mismatch is an error, never a silent truncation.
//
// Vectors are written with the fewest significant digits that read back to the same float32 (at most 9), so
// importing the file stores exactly the package's vectors.
//
// Usage: node apps/demo/scripts/make-fiori-import.mjs [out.jsonl] [--limit N] [--package-dir DIR]
//   default out: fiori-docs.jsonl in the current directory.
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@sap-ux/fiori-docs-embeddings';

function parseArgs(argv) {
  const opts = { out: 'fiori-docs.jsonl', limit: Infinity, packageDir: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--limit') {
      opts.limit = Number(argv[++i]);
      if (!Number.isInteger(opts.limit) || opts.limit < 1) throw new RangeError(`--limit expects a positive integer, got ${argv[i]}`);
    } else if (a === '--package-dir') opts.packageDir = argv[++i];
    else if (a === '--help' || a === '-h') {
      console.log('usage: make-fiori-import.mjs [out.jsonl] [--limit N] [--package-dir DIR]');
      process.exit(0);
    } else if (a.startsWith('--')) throw new RangeError(`unknown option ${a}`);
    else opts.out = a;
  }
  return opts;
}

/** The package directory: node_modules/<PACKAGE> in this directory or any parent (npm workspaces hoist). */
export function findPackageDir(from = dirname(fileURLToPath(import.meta.url))) {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const p = join(dir, 'node_modules', PACKAGE);
    if (existsSync(join(p, 'package.json'))) return p;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`${PACKAGE} is not installed (npm install -D ${PACKAGE} at the repository root)`);
}

/** Shortest decimal text (≤ 9 significant digits) that reads back to the float32 `x`. */
export function f32Text(x) {
  if (x === 0) return '0';
  for (let p = 1; p <= 9; p++) {
    const s = Number(x.toPrecision(p));
    if (Math.fround(s) === x) return String(s);
  }
  return String(x);
}

function tagsOf(rec) {
  const tags = [];
  if (typeof rec.category === 'string' && rec.category.trim() !== '') tags.push(rec.category);
  if (typeof rec.tags_json === 'string') {
    let t;
    try {
      t = JSON.parse(rec.tags_json);
    } catch (e) {
      throw new Error(`record ${rec.id}: tags_json is not JSON (${e.message})`);
    }
    if (!Array.isArray(t)) throw new Error(`record ${rec.id}: tags_json is not an array`);
    for (const x of t) if (typeof x === 'string') tags.push(x);
  }
  return tags;
}

/**
 * Writes the import file. Returns { count, dim }.
 * @throws Error when the files disagree (vector count or dimension) or a record lacks id/title/content.
 */
export async function makeFioriImport({ out, limit = Infinity, packageDir = null }) {
  const dir = join(packageDir ?? findPackageDir(), 'data', 'embeddings');
  const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
  const dim = meta.dimensions;
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`metadata.json: bad dimensions ${dim}`);
  const bin = readFileSync(join(dir, 'embeddings.bin'));
  if (bin.byteLength % (dim * 4) !== 0) throw new Error(`embeddings.bin: ${bin.byteLength} bytes is not a multiple of ${dim} float32s`);
  const vectors = bin.byteLength / (dim * 4);
  if (meta.totalVectors !== undefined && meta.totalVectors !== vectors) throw new Error(`embeddings.bin holds ${vectors} vectors, metadata.json says ${meta.totalVectors}`);
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const outStream = createWriteStream(out);
  const lines = createInterface({ input: createReadStream(join(dir, 'records.jsonl'), 'utf8'), crlfDelay: Infinity });
  let i = 0;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    if (i >= vectors) throw new Error(`records.jsonl has more records than embeddings.bin has vectors (${vectors})`);
    const rec = JSON.parse(line);
    if (typeof rec.id !== 'string' || typeof rec.content !== 'string') throw new Error(`record ${i + 1}: missing id or content`);
    if (i < limit) {
      const v = new Array(dim);
      for (let j = 0; j < dim; j++) v[j] = f32Text(view.getFloat32((i * dim + j) * 4, true));
      const t = Date.parse(rec.lastModified);
      const obj = {
        id: `fiori:${rec.id}`,
        title: typeof rec.title === 'string' && rec.title.trim() !== '' ? rec.title : rec.id,
        body: rec.content,
        tags: tagsOf(rec),
        ...(Number.isFinite(t) ? { created: t, updated: t } : {}),
      };
      const json = JSON.stringify(obj);
      // The vector is spliced in as text so each number keeps its shortest float32 form.
      if (!outStream.write(`${json.slice(0, -1)},"vector":[${v.join(',')}]}\n`)) await new Promise((r) => outStream.once('drain', r));
    }
    i++;
  }
  if (i !== vectors) throw new Error(`records.jsonl has ${i} records, embeddings.bin has ${vectors} vectors`);
  await new Promise((ok, fail) => outStream.end((e) => (e ? fail(e) : ok())));
  return { count: Math.min(i, limit), dim, model: meta.model };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const opts = parseArgs(process.argv.slice(2));
  const r = await makeFioriImport(opts);
  console.log(`wrote ${r.count} notes with ${r.dim}-d vectors (${r.model}) to ${opts.out}`);
}
