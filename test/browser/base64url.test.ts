// @hearth/sync's base64url decoders in a Chromium dedicated worker, where the native decoder
// (Uint8Array.fromBase64) checks the alphabet itself: they refuse what the portable decoder refuses and decode the
// same bytes (the SSE transport's binary messages).
import { test } from 'node:test';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

const BASE64URL_BROWSER_CASES = [
  'the native decoder is there (Uint8Array.fromBase64), so the native path is the one tested',
  'non-canonical text is refused',
  'any text: the native and portable decoders agree (seeded property)',
  'any bytes round-trip through the native encoder and every decoder (seeded property)',
] as const;

test(`base64url on the browser's native decoder, in a Chromium worker (seed ${SEED})`, async (t) => {
  const results = await withBrowser(async (b) =>
    b.runWorker<CaseResult>(await b.bundle('test/browser/base64url.worker.ts', { define: { __SEED__: String(SEED) } }), { timeoutMs: 120_000 }),
  );
  await reportCases(t, results, [...BASE64URL_BROWSER_CASES]);
});
