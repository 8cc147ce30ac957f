import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, openBrowser, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';

function portRefuses(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      done(false);
    });
    s.once('error', () => done(true));
  });
}

test('harness: runs a bundled module worker over http on 127.0.0.1 and collects results in order', async () => {
  let dirs: string[] = [];
  let port = 0;
  const out = await withBrowser(async (b) => {
    dirs = [b.serveDir, b.userDataDir];
    port = Number(new URL(b.origin).port);
    assert.match(b.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    const url = await b.bundle('test/browser/fixtures/harness-ok.worker.ts');
    return b.runWorker<unknown>(url);
  });
  assert.deepEqual(out[0], { n: 1, isWorker: true });
  assert.deepEqual(out[1], { n: 2, secure: true, isolated: true });
  const [pass, fail] = out.slice(2) as CaseResult[];
  assert.equal(pass.name, 'passes');
  assert.equal(pass.ok, true);
  assert.equal(fail.ok, false);
  assert.match(fail.error!, /RangeError: boom/);
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed on close`);
  assert.equal(await portRefuses(port), true, 'server closed');
});

test('harness: a fatal error, a module that throws, and a timeout all reject with a clear message', async () => {
  await withBrowser(async (b) => {
    await assert.rejects(b.runWorker(await b.bundle('test/browser/fixtures/harness-fatal.worker.ts')), /fatal on purpose/);
    await assert.rejects(b.runWorker(await b.bundle('test/browser/fixtures/harness-throw.worker.ts')), /worker error/);
    await assert.rejects(b.runWorker(await b.bundle('test/browser/fixtures/harness-hang.worker.ts'), { timeoutMs: 1500 }), /timed out after 1500 ms \(1 results so far\)/);
    await assert.rejects(b.runWorker('/no-such-file.js'), /worker error/);
  });
});

test('harness: cleans up when the test body throws', async () => {
  let dirs: string[] = [];
  await assert.rejects(
    withBrowser(async (b) => {
      dirs = [b.serveDir, b.userDataDir];
      throw new Error('body failed');
    }),
    /body failed/,
  );
  for (const d of dirs) assert.equal(existsSync(d), false, `${d} removed after a failure`);
});

test('harness: a missing browser fails with a clear message (never a skip)', async () => {
  await assert.rejects(openBrowser({ executablePath: '/nonexistent/chromium' }), /\/nonexistent\/chromium is missing.*never skip/s);
});

test('harness: a reused profile and port keep OPFS data across browser restarts', async () => {
  const profile = mkdtempSync(join(tmpdir(), 'hearth-profile-reuse-'));
  try {
    const port = await freePort();
    const bundle = 'test/browser/fixtures/opfs-persist.worker.ts';
    const first = await withBrowser(
      async (b) => b.runWorker(await b.bundle(bundle, { define: { MODE: '"write"' } })),
      { userDataDir: profile, port },
    );
    assert.deepEqual(first, ['written']);
    assert.equal(existsSync(profile), true, 'a caller-given profile is kept');
    const second = await withBrowser(
      async (b) => b.runWorker(await b.bundle(bundle, { define: { MODE: '"read"' } })),
      { userDataDir: profile, port },
    );
    assert.deepEqual(second, [{ names: ['kept'], text: 'survives a browser restart' }]);
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
