/** Case names shared by `vector-int8.worker.ts` (which runs them) and `vector-int8.test.ts` (which expects them). */
export const VECTOR_INT8_CASES = [
  'vector int8 on OPFS: codes in memory, rows read from the file; save over it, save elsewhere, remove, reopen',
  'vector int8 on IndexedDB: codes in memory, rows read from the file; save over it, save elsewhere, remove, reopen',
] as const;
