#!/usr/bin/env node
// Runs every test with node's test runner (TypeScript through tsx, workspace packages resolved to their sources).
// Browser tests under test/browser/ drive Debian's Chromium through playwright-core from inside node tests, so one
// runner prints one closing summary.
// Usage: node scripts/test.mjs [--node-only] [path-filter ...]
//   path-filter: run only test files whose path contains one of these strings (e.g. packages/lsm).
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const argv = process.argv.slice(2);
const nodeOnly = argv.includes('--node-only');
const filters = argv.filter((a) => !a.startsWith('--'));

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

let files = [];
for (const group of ['packages', 'apps']) {
  const g = join(root, group);
  if (!existsSync(g)) continue;
  for (const name of readdirSync(g)) walk(join(g, name, 'test'), files);
}
walk(join(root, 'test'), files);
files = files.map((f) => relative(root, f)).sort();
if (nodeOnly) files = files.filter((f) => !f.startsWith('test/browser/'));
if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('test: no test files matched');
  process.exit(1);
}

const result = spawnSync(
  process.execPath,
  ['--conditions=hearth-source', '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...files],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '' } },
);
process.exit(result.status ?? 1);
