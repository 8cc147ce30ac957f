// The batch SHA-256 of @hearth/log in a Chromium dedicated worker: the 4-lane WASM SIMD kernel (wasm/sha256.ts)
// loads there and is the path taken; it and the plain-JS fallback give the FIPS 180-2 / RFC 6234 digests in batches
// around the padding edges and equal @noble/hashes on seeded random batches; verifyRange uses the kernel.
import { test } from 'node:test';
import { reportCases, withBrowser } from './harness.js';
import type { CaseResult } from './harness.js';

const SEED = Number(process.env.HEARTH_SEED ?? 20261121);

const SHA256_MANY_BROWSER_CASES = [
  'the kernel loads (WebAssembly SIMD) and is the path for batches',
  'FIPS 180-2 / RFC 6234 vectors in batches of 1, 3, 4, 5, 9 with padding-edge lengths',
  'seeded random batches equal @noble/hashes on every path',
  'verifyRange hashes a run through the kernel; same hashes as signing; forced fallback agrees',
] as const;

test(`batch SHA-256 (WASM SIMD kernel and JS fallback) in a Chromium worker (seed ${SEED})`, async (t) => {
  const results = await withBrowser(async (b) =>
    b.runWorker<CaseResult>(await b.bundle('test/browser/sha256-many.worker.ts', { define: { __SEED__: String(SEED) } }), { timeoutMs: 120_000 }),
  );
  await reportCases(t, results, [...SHA256_MANY_BROWSER_CASES]);
});
