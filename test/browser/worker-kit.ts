/**
 * The in-browser half of the harness protocol (see `harness.ts`): scripts bundled for a worker or a page import
 * this to post results back to the Node test. Imports nothing from Node.
 */

/** The outcome of one named case, as {@link runCase} posts it. */
export interface CaseResult {
  name: string;
  ok: boolean;
  /** The error's name, message and stack when `ok` is false. */
  error?: string;
  /** Wall time in milliseconds (informational only; tests never assert on it). */
  ms: number;
}

function post(message: unknown): void {
  const g = globalThis as unknown as { __hearthPost?: (m: unknown) => void; postMessage: (m: unknown) => void };
  if (typeof g.__hearthPost === 'function') g.__hearthPost(message); // page mode
  else g.postMessage(message); // dedicated worker
}

/** Posts one result value (structured-cloneable). */
export function emit(value: unknown): void {
  post({ kind: 'result', value });
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}${(e as { code?: unknown }).code ? ` ${String((e as { code?: unknown }).code)}` : ''}: ${e.message}\n${e.stack ?? ''}`;
  return String(e);
}

/** Runs `fn` as the case `name` and posts its {@link CaseResult}; never throws. */
export async function runCase(name: string, fn: () => Promise<void> | void): Promise<CaseResult> {
  const t0 = performance.now();
  let result: CaseResult;
  try {
    await fn();
    result = { name, ok: true, ms: performance.now() - t0 };
  } catch (e) {
    result = { name, ok: false, error: describe(e), ms: performance.now() - t0 };
  }
  emit(result);
  return result;
}

/** Runs the script body, then posts `done`; a throw posts `fatal` instead. Call once, at the top level. */
export function main(body: () => Promise<void>): void {
  body().then(
    () => post({ kind: 'done' }),
    (e) => post({ kind: 'fatal', message: describe(e) }),
  );
}
