#!/usr/bin/env node
// Runs abstract-level's own compliance suite (node_modules/abstract-level/test, with tape) against HearthLevel as
// a plain-Node user would load it: `@hearth/level` resolves to packages/level/dist (build first with
// `node scripts/build.mjs`), with no `--conditions=hearth-source` and no tsx. Each database gets a fresh directory under
// one temporary root, removed at the end. Prints TAP; exits non-zero when an assertion fails.
//
// Usage (from the repository root): node packages/level/test/abstract-level-suite.mjs
// Wrapped by packages/level/test/abstract-level.test.ts, which asserts the TAP summary shows zero failures.
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'tape';
import { HearthLevel } from '@hearth/level';

const require = createRequire(import.meta.url);
const suite = require('abstract-level/test');

const root = mkdtempSync(path.join(os.tmpdir(), 'hearth-level-suite-'));
let count = 0;

test.onFinish(() => rmSync(root, { recursive: true, force: true }));

suite({
  test,
  factory(options) {
    // The directory does not exist yet: HearthLevel creates it (createIfMissing) or refuses (createIfMissing: false).
    return new HearthLevel(path.join(root, `db-${++count}`), options);
  },
});
