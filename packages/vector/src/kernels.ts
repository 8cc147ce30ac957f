/**
 * Loading the distance kernels: the SIMD WebAssembly build of `wasm/kernels.ts`, or the pure-TypeScript twin.
 *
 * The WASM bytes are embedded (base64) in the generated module `_kernels.wasm.ts`, which `node wasm/build.mjs`
 * (run by `npm run build` / `npm test`) writes from source, so loading needs no fetch and works the same in Node and
 * in a browser worker. Compilation is asynchronous and done once; each index then instantiates its own copy
 * synchronously (`new WebAssembly.Instance`), so that each index owns its linear memory. Browsers allow that in
 * workers, where Hearth runs; Chromium refuses synchronous instantiation of modules over 4 KiB on the main thread
 * (the module is about 5 KiB), so code on a page's main thread should use {@link TS_KERNELS}.
 *
 * @packageDocumentation
 */
import { Arena } from './_arena.js';

/** Which implementation computes distances. */
export type KernelKind = 'wasm' | 'ts';

/** A loaded kernel implementation; pass it to index constructors. Obtain with {@link loadKernels}. */
export interface Kernels {
  readonly kind: KernelKind;
  /** The compiled module (`wasm` only). */
  readonly module: WebAssembly.Module | undefined;
}

/** The TypeScript kernels: always available, no loading needed. */
export const TS_KERNELS: Kernels = Object.freeze({ kind: 'ts', module: undefined });

let compiled: Promise<WebAssembly.Module> | undefined;

/** Decodes base64 without Node's Buffer (so it runs in a browser worker too). */
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

async function compileWasm(): Promise<WebAssembly.Module> {
  let mod: { KERNELS_WASM_BASE64: string };
  try {
    mod = (await import('./_kernels.wasm.js')) as { KERNELS_WASM_BASE64: string };
  } catch (cause) {
    throw new Error(
      '@hearth/vector: the generated WASM kernels module packages/vector/src/_kernels.wasm.ts is missing; ' +
        'build it from source with `node wasm/build.mjs` (npm run build / npm test do this first)',
      { cause },
    );
  }
  const bytes = fromBase64(mod.KERNELS_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) {
    throw new Error('@hearth/vector: this runtime cannot validate the SIMD kernels (WebAssembly SIMD unsupported)');
  }
  return WebAssembly.compile(bytes);
}

/**
 * Loads distance kernels.
 *
 * - `'wasm'`: the SIMD WebAssembly kernels; rejects if the generated module is missing or the runtime lacks
 *   WebAssembly SIMD.
 * - `'ts'`: the TypeScript fallback (same results within float rounding).
 * - `'auto'` (default): WASM when the runtime supports it, else TypeScript. A missing generated module is a build
 *   error and still rejects: it is never silently replaced by the fallback.
 *
 * @throws Error when the generated module `_kernels.wasm.ts` is missing (run `node wasm/build.mjs`).
 */
export async function loadKernels(prefer: KernelKind | 'auto' = 'auto'): Promise<Kernels> {
  if (prefer === 'ts') return TS_KERNELS;
  if (prefer !== 'wasm' && prefer !== 'auto') throw new TypeError(`"prefer" expected 'wasm' | 'ts' | 'auto', got ${String(prefer)}`);
  if (prefer === 'auto' && typeof WebAssembly !== 'object') return TS_KERNELS;
  compiled ??= compileWasm();
  try {
    return Object.freeze({ kind: 'wasm' as const, module: await compiled });
  } catch (e) {
    if (prefer === 'auto' && e instanceof Error && e.message.includes('SIMD unsupported')) return TS_KERNELS;
    compiled = undefined;
    throw e;
  }
}

/** @internal A fresh arena over `kernels`, holding at least `bytes` bytes. */
export function createArena(kernels: Kernels, bytes: number): Arena {
  return new Arena(kernels.module, bytes);
}
