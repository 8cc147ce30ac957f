/**
 * WebRTC transport in Chromium (`webrtc-pair.page.ts`): the transport compliance suite over real data channels
 * (two peers in one page) and through the MessagePort bridge; large transfers with backpressure; failures.
 */
import { test } from 'node:test';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';
import { transportComplianceCases } from '../../packages/sync/test/transport-compliance.js';
import { WEBRTC_PAIR_CASES } from './webrtc-shared.js';

test('WebRTC transport in Chromium: compliance (direct and bridged), backpressure, failures', async (t) => {
  const names = transportComplianceCases({ pair: async () => { throw new Error('unused'); }, settle: async () => {} }).map((c) => c.name);
  const results = await withBrowser(async (b) => b.runPage<CaseResult>(await b.bundle('test/browser/webrtc-pair.page.ts'), { timeoutMs: 180_000 }));
  await reportCases(t, results, [...names.map((n) => `webrtc: ${n}`), ...names.map((n) => `webrtc via port bridge: ${n}`), ...WEBRTC_PAIR_CASES]);
});
