/** Names shared by `io-opfs.worker.ts` (which runs the cases) and `io-opfs.test.ts` (which expects them). */
import { casesFor } from '../../packages/io/test/compliance.js';

/** Backends the worker runs the compliance suite against (memory is the control). */
export const OPFS_BACKENDS = ['opfs(move)', 'opfs(journal)', 'memory'] as const;

/** OPFS-specific cases, beyond the compliance suite. */
export const OPFS_EXTRA_CASES = [
  'opfs: a second sync access handle on an open file is HEARTH_LOCKED',
  'opfs: a second instance over the same root gets HEARTH_LOCKED too',
  'opfs: renaming or removing an open file is HEARTH_LOCKED',
  'opfs: auto strategy uses move() where it exists',
  'opfs: the journal name is reserved and hidden',
  'opfs journal: open finishes a rename interrupted before the source was removed',
  'opfs journal: open finishes a rename interrupted after the source was removed',
  'opfs journal: a torn journal is discarded and nothing changes',
  'opfs: destroy removes the root and is idempotent',
  'opfs: the size a handle keeps matches the file through random writes, appends, truncates and reads',
] as const;

/** Every case name the worker must report, in order. */
export function expectedOpfsCases(): string[] {
  const compliance = casesFor({ supports: { persistent: true, atomicRename: true } }).map((c) => c.name);
  const memory = casesFor({ supports: { persistent: false, atomicRename: true } }).map((c) => c.name);
  return [
    ...compliance.map((n) => `opfs(move): ${n}`),
    ...compliance.map((n) => `opfs(journal): ${n}`),
    ...memory.map((n) => `memory: ${n}`),
    ...OPFS_EXTRA_CASES,
  ];
}
