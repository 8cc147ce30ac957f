/** Registers one node:test case per compliance case for a target. Used by the backend test files. */
import { test } from 'node:test';
import { casesFor, complianceCases } from './compliance.js';
import type { ComplianceTarget } from './compliance.js';
import type { FileSystem } from '@hearth/io';

/**
 * Declares `compliance: <backend>` with one subtest per applicable case. `probe` is a file system of the backend,
 * used only to read its `supports` manifest (which decides whether the persistence cases apply).
 */
export function runCompliance(backend: string, target: ComplianceTarget, probe: Pick<FileSystem, 'supports'>): void {
  const cases = casesFor(probe);
  if (cases.length === 0 || cases.length < complianceCases.length - 1) throw new Error('compliance: cases missing');
  test(`compliance: ${backend}`, async (t) => {
    for (const c of cases) await t.test(c.name, () => c.run(target));
  });
}
