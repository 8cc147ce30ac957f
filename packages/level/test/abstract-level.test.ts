/**
 * Runs abstract-level's compliance suite against HearthLevel in a child process with plain `node` (no tsx, no
 * `--conditions=hearth-source`), so it proves that the built package (`packages/level/dist`, and through it
 * `@hearth/lsm` and `@hearth/io` dist) works for an ordinary Node user. Requires `node scripts/build.mjs` first
 * (`npm test` does it).
 *
 * Asserts tape's TAP summary: at least one assertion passed and none failed; on failure, prints the names of the
 * failing assertions with the test they belong to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const runner = fileURLToPath(new URL('./abstract-level-suite.mjs', import.meta.url));

test('abstract-level compliance suite passes with zero failures (plain node, dist build)', { timeout: 600_000 }, () => {
  assert.ok(
    existsSync(new URL('../dist/index.js', import.meta.url)),
    'packages/level/dist/index.js is missing: run `node scripts/build.mjs` first',
  );
  const child = spawnSync(process.execPath, [runner], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    // A clean environment for the child: no tsx loader or source condition inherited from this runner.
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const out = child.stdout ?? '';
  const summary = parseTapSummary(out);
  const failures = failingAssertions(out);
  const detail =
    `exit status ${child.status}, signal ${child.signal}; tests ${summary.tests}, pass ${summary.pass}, ` +
    `fail ${summary.fail}\n` +
    (failures.length ? `failing assertions:\n  ${failures.slice(0, 100).join('\n  ')}\n` : '') +
    (child.stderr ? `stderr:\n${child.stderr.slice(-4000)}` : '');
  assert.ok(summary.tests !== undefined && summary.pass !== undefined, `no TAP summary in the output.\n${detail}\n${out.slice(-4000)}`);
  assert.equal(summary.fail ?? 0, 0, detail);
  assert.equal(failures.length, 0, detail);
  assert.ok(summary.pass! > 0, detail);
  assert.equal(child.status, 0, detail);
});

/** Reads tape's closing `# tests N`, `# pass N`, `# fail N` lines (`# fail` is absent when nothing failed). */
function parseTapSummary(tap: string): { tests?: number; pass?: number; fail?: number } {
  const num = (name: string): number | undefined => {
    const m = new RegExp(`^# ${name}\\s+(\\d+)\\s*$`, 'm').exec(tap);
    return m ? Number(m[1]) : undefined;
  };
  return { tests: num('tests'), pass: num('pass'), fail: num('fail') };
}

/** `<test name> :: <assertion>` for every `not ok` line, the test name being the last `# ...` comment before it. */
function failingAssertions(tap: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of tap.split('\n')) {
    if (line.startsWith('# ')) current = line.slice(2);
    else if (line.startsWith('not ok ')) out.push(`${current} :: ${line}`);
  }
  return out;
}
