#!/usr/bin/env node
// Builds every workspace package: transpiles packages/*/src and apps/*/src to dist/ with esbuild (one file in, one
// file out, ESM), compiles wasm/ kernels when present, then type-checks the whole tree with tsc --noEmit.
// Usage: node scripts/build.mjs [--no-typecheck]
import { build } from 'esbuild';
import { readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const args = new Set(process.argv.slice(2));

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const t0 = Date.now();
// 1. WASM kernels first: packages may embed their output.
if (existsSync(join(root, 'wasm', 'build.mjs'))) {
  execFileSync(process.execPath, [join(root, 'wasm', 'build.mjs')], { stdio: 'inherit' });
}

// 2. Transpile each package's src/ to dist/.
for (const group of ['packages', 'apps']) {
  const groupDir = join(root, group);
  if (!existsSync(groupDir)) continue;
  for (const name of readdirSync(groupDir)) {
    const src = join(groupDir, name, 'src');
    if (!existsSync(src)) continue;
    const dist = join(groupDir, name, 'dist');
    rmSync(dist, { recursive: true, force: true });
    const entryPoints = walk(src);
    if (entryPoints.length === 0) continue;
    await build({
      entryPoints,
      outdir: dist,
      outbase: src,
      format: 'esm',
      platform: 'neutral',
      target: 'es2022',
      sourcemap: true,
      bundle: false,
      logLevel: 'warning',
    });
  }
}

// 3. Type-check everything (packages, apps, tests, benchmarks).
if (!args.has('--no-typecheck')) {
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], {
    stdio: 'inherit',
  });
}
console.log(`build: done in ${Date.now() - t0} ms`);
