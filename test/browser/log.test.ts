import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { applyOp, emptyDocState, stateHash } from '@hearth/crdt';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';
import { LOG_BROWSER_CASES, crdtSampleOps } from './log.shared.js';

test('log and crdt in a Chromium dedicated worker: both ed25519 backends, feed store on OPFS, CRDT hash = Node', async (t) => {
  const msg = readFileSync(new URL('../../packages/log/test/fixtures/rfc8032-test1024-message.hex', import.meta.url), 'utf8').trim();
  const s = emptyDocState();
  for (const op of crdtSampleOps()) applyOp(s, op);
  const expected = Buffer.from(stateHash(s)).toString('hex');
  const results = await withBrowser(async (b) =>
    b.runWorker<CaseResult>(
      await b.bundle('test/browser/log.worker.ts', {
        define: { __TEST1024_MSG__: JSON.stringify(msg), __CRDT_STATE_HASH__: JSON.stringify(expected) },
      }),
      { timeoutMs: 120_000 },
    ),
  );
  await reportCases(t, results, [...LOG_BROWSER_CASES]);
});
