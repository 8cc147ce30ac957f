/**
 * Runs in a Chromium dedicated worker (bundled by the harness): `@hearth/sync`'s base64url decoders on the
 * browser's native path (the TC39 `Uint8Array.fromBase64`, which checks the alphabet itself, so no regular
 * expression runs first) refuse exactly what the portable decoder refuses and decode the same bytes. Cases:
 * BASE64URL_BROWSER_CASES in `base64url.test.ts`.
 */
import fc from 'fast-check';
import { fromBase64url, fromBase64urlPortable, toBase64url, toBase64urlPortable } from '../../packages/sync/src/sse/base64url.js';
import { main, runCase } from './worker-kit.js';

declare const __SEED__: number;

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`check failed: ${what}`);
}
const same = (a: Uint8Array | null, b: Uint8Array | null): boolean => (a === null ? b === null : b !== null && a.length === b.length && a.every((x, i) => x === b[i]));

main(async () => {
  await runCase('the native decoder is there (Uint8Array.fromBase64), so the native path is the one tested', () => {
    check(typeof (Uint8Array as unknown as { fromBase64?: unknown }).fromBase64 === 'function', 'Uint8Array.fromBase64 exists');
    check(typeof (globalThis as { Buffer?: unknown }).Buffer === 'undefined', 'no Buffer in the worker');
  });
  await runCase('non-canonical text is refused', () => {
    for (const bad of ['A', 'AB=', 'A+', 'A/', 'AB*C', 'AF', 'AAB', 'é', 'AAAA=', 'AA AA', 'AAAA\n', 'AAAAAF', 'AA==', 'AAA=', ' AAA', 'AAAA ', 'AA\tA', '=AAA']) {
      check(fromBase64urlPortable(bad) === null, `portable refuses ${JSON.stringify(bad)}`);
      check(fromBase64url(bad) === null, `native refuses ${JSON.stringify(bad)}`);
    }
    check(same(fromBase64url(''), new Uint8Array(0)), 'empty text is empty bytes');
  });
  await runCase('any text: the native and portable decoders agree (seeded property)', () => {
    const chars = 'AQgw_-Zz09+/= é\t\n'.split('');
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...chars), { maxLength: 14 }), (cs) => {
        const t = cs.join('');
        const p = fromBase64urlPortable(t);
        check(same(fromBase64url(t), p), `native vs portable on ${JSON.stringify(t)}`);
      }),
      { seed: __SEED__, numRuns: 3000 },
    );
  });
  await runCase('any bytes round-trip through the native encoder and every decoder (seeded property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64url(bytes);
        check(text === toBase64urlPortable(bytes), 'native and portable encoders agree');
        check(same(fromBase64url(text), bytes), 'native decode');
      }),
      { seed: __SEED__, numRuns: 500 },
    );
  });
});
