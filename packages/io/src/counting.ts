/**
 * A test aid beside {@link FaultFileSystem}: a view of a file system that counts the handles its `open` hands out
 * and that are not closed yet. Used to check that a failed open releases every handle it took (OPFS sync access
 * handles are exclusive: one left open blocks the next open of that file).
 * @packageDocumentation
 */
import type { FileSystem } from './types.js';

/** What {@link countHandles} returns. */
export interface HandleCount<T extends FileSystem> {
  /** `fs` with `open` counted (every other member is `fs`'s own, through the prototype). */
  readonly fs: T;
  /** Handles opened through `fs` and not closed yet (a second `close` of a handle counts once). */
  readonly open: number;
  /** Handles opened through `fs` in all. */
  readonly opened: number;
}

/**
 * Wraps `fs` (through its prototype chain, so it stays an instance of its class) so that {@link HandleCount.open}
 * tells how many of the handles opened through the wrapper are still open. Never throws of its own.
 */
export function countHandles<T extends FileSystem>(fs: T): HandleCount<T> {
  const counts = { open: 0, opened: 0 };
  const counted = Object.create(fs) as T;
  counted.open = async (path, options) => {
    const h = await fs.open(path, options);
    counts.open++;
    counts.opened++;
    const close = h.close.bind(h);
    let closed = false;
    h.close = async () => {
      if (!closed) counts.open--;
      closed = true;
      await close();
    };
    return h;
  };
  return {
    fs: counted,
    get open() {
      return counts.open;
    },
    get opened() {
      return counts.opened;
    },
  };
}
