/** Types of make-fiori-import.mjs (for tests that import it). */
/** The installed package's directory. @throws Error if it is not installed. */
export function findPackageDir(from?: string): string;
/** Shortest decimal text (≤ 9 significant digits) that reads back to the float32 `x`. */
export function f32Text(x: number): string;
/** Writes the import file; resolves with what it wrote. @throws Error when the package's files disagree. */
export function makeFioriImport(options: { out: string; limit?: number; packageDir?: string | null }): Promise<{ count: number; dim: number; model: string }>;
