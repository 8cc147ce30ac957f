/**
 * WebRTC between two pages of one browser profile, signalled over a BroadcastChannel (`webrtc-tabs.page.ts`): the
 * transport compliance suite, and a closed page closing the other end.
 */
import { test } from 'node:test';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';

test('WebRTC across two pages of one profile (BroadcastChannel signalling): compliance, page close', async (t) => {
  const names = transportComplianceCases({ pair: async () => { throw new Error('unused'); }, settle: async () => {} }).map((c) => c.name);
  const results = await withBrowser(async (b) => {
    const define = { __SPACE__: JSON.stringify('tabs-test') };
    await b.bundle('test/browser/webrtc-tabs-remote.page.ts', { name: 'webrtc-tabs-remote.js', define });
    b.addFile('webrtc-tabs-remote.html', '<!doctype html><meta charset="utf-8"><script type="module" src="/webrtc-tabs-remote.js"></script>\n');
    return b.runPage<CaseResult>(await b.bundle('test/browser/webrtc-tabs.page.ts', { define }), { timeoutMs: 120_000 });
  });
  await reportCases(t, results, [...names.map((n) => `webrtc across pages: ${n}`), 'webrtc across pages: closing the other page closes this end as remote']);
});
