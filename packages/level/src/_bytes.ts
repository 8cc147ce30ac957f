/** Internal byte helpers for the adapter. Not exported from the package. */

/**
 * Compares two byte arrays lexicographically by unsigned bytes, a shorter prefix first: the LSM's key order
 * (`@hearth/lsm`), and LevelDB's default comparator. Returns a negative number, 0 or a positive number.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Joins `/`-separated path segments of the `@hearth/io` path syntax, skipping empty ones. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== '').join('/');
}
