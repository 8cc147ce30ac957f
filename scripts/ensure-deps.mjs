#!/usr/bin/env node
// Installs the npm dependencies when they are missing or older than package-lock.json, so that the quick start's
// two commands (`npm start`, `npm test`) work on a fresh clone. Runs `npm ci` (exact versions from the lockfile).
// Does nothing when node_modules is current. Imports nothing from node_modules.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const marker = join(root, 'node_modules', '.package-lock.json');
const lock = join(root, 'package-lock.json');
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.log('deps: node_modules is missing or older than package-lock.json; running npm ci');
  const r = spawnSync('npm', ['ci'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
