/**
 * The `FileSystem` compliance suite: every backend (memory, Node fs, OPFS, fault-injecting) runs these cases.
 *
 * Framework-agnostic on purpose: it runs under node:test and inside a browser dedicated worker, so it imports
 * nothing from Node and carries its own tiny `assert`. A runner iterates {@link complianceCases}, skipping none:
 * cases that need a capability (`requires`) are left out of the list by {@link casesFor} for backends without it,
 * so every listed case runs and can fail.
 *
 * Each case gets a {@link ComplianceTarget} and must close every handle it opens (OPFS handles are exclusive).
 */
import { HearthError } from '@hearth/io';
import type { FileHandle, FileSystem } from '@hearth/io';

/** What a case runs against. */
export interface ComplianceTarget {
  /** A new, empty file system (a fresh root). */
  create(): Promise<FileSystem>;
  /**
   * A second instance over the same storage as `fs` (as after a process restart). Required when
   * `fs.supports.persistent` is true; the caller has closed every handle first.
   */
  reopen?(fs: FileSystem): Promise<FileSystem>;
}

/** One named case. */
export interface ComplianceCase {
  name: string;
  /** Capability the case needs; cases without it apply to every backend. */
  requires?: 'persistent';
  run(target: ComplianceTarget): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// A tiny assert (no node:assert: this file runs in a browser worker).

class AssertionFailed extends Error {
  override name = 'AssertionFailed';
}

function fmt(v: unknown): string {
  if (v instanceof Uint8Array) return `Uint8Array[${Array.from(v.subarray(0, 32)).join(',')}${v.length > 32 ? ',…' : ''}] (length ${v.length})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Assertion helpers; each throws an `AssertionFailed` with `label` and both values. */
export const assert = {
  ok(value: unknown, label: string): void {
    if (!value) throw new AssertionFailed(`${label}: expected truthy, got ${fmt(value)}`);
  },
  equal<T>(actual: T, expected: T, label: string): void {
    if (!Object.is(actual, expected)) {
      throw new AssertionFailed(`${label}: expected ${fmt(expected)}, got ${fmt(actual)}`);
    }
  },
  bytes(actual: Uint8Array, expected: Uint8Array | readonly number[], label: string): void {
    const exp = expected instanceof Uint8Array ? expected : Uint8Array.from(expected);
    if (!(actual instanceof Uint8Array)) throw new AssertionFailed(`${label}: expected a Uint8Array, got ${fmt(actual)}`);
    let same = actual.length === exp.length;
    for (let i = 0; same && i < exp.length; i++) same = actual[i] === exp[i];
    if (!same) throw new AssertionFailed(`${label}: expected ${fmt(exp)}, got ${fmt(actual)}`);
  },
  list(actual: readonly string[], expected: readonly string[], label: string): void {
    if (actual.length !== expected.length || actual.some((x, i) => x !== expected[i])) {
      throw new AssertionFailed(`${label}: expected ${fmt(expected)}, got ${fmt(actual)}`);
    }
  },
  /** `fn` must throw (or reject with) a `HearthError` with `code`. */
  async rejects(fn: () => unknown, code: string, label: string): Promise<void> {
    let threw = false;
    try {
      await fn();
    } catch (e) {
      threw = true;
      if (!(e instanceof HearthError) || e.code !== code) {
        const got = e instanceof HearthError ? `${e.name} ${e.code}: ${e.message}` : String(e);
        throw new AssertionFailed(`${label}: expected HearthError ${code}, got ${got}`);
      }
    }
    if (!threw) throw new AssertionFailed(`${label}: expected HearthError ${code}, but nothing was thrown`);
  },
  /** `fn` must throw (synchronously or by rejecting) an instance of `type` (TypeError, RangeError). */
  async throwsType(fn: () => unknown, type: ErrorConstructor, label: string): Promise<void> {
    let threw = false;
    try {
      await fn();
    } catch (e) {
      threw = true;
      if (!(e instanceof type)) throw new AssertionFailed(`${label}: expected ${type.name}, got ${String(e)}`);
    }
    if (!threw) throw new AssertionFailed(`${label}: expected ${type.name}, but nothing was thrown`);
  },
};

// ---------------------------------------------------------------------------------------------------------------

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

/** Deterministic pseudo-random bytes (xorshift32), so large-write cases need no RNG. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Opens, runs `fn`, and closes the handle whatever happens. */
async function withFile<T>(
  fs: FileSystem,
  path: string,
  opts: Parameters<FileSystem['open']>[1],
  fn: (h: FileHandle) => T | Promise<T>,
): Promise<T> {
  const h = await fs.open(path, opts);
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

async function writeFile(fs: FileSystem, path: string, data: Uint8Array): Promise<void> {
  await withFile(fs, path, { create: true, truncate: true }, async (h) => {
    h.write(0, data);
    await h.sync();
  });
}

async function readFile(fs: FileSystem, path: string): Promise<Uint8Array> {
  return withFile(fs, path, {}, (h) => h.read(0, h.size()));
}

function c(name: string, run: (t: ComplianceTarget) => Promise<void>, requires?: 'persistent'): ComplianceCase {
  return requires ? { name, run, requires } : { name, run };
}

/** Every case, in a stable order. */
export const complianceCases: readonly ComplianceCase[] = [
  c('declares name and supports', async (t) => {
    const fs = await t.create();
    assert.equal(typeof fs.name, 'string', 'name');
    assert.ok(fs.name.length > 0, 'name non-empty');
    assert.equal(typeof fs.supports.persistent, 'boolean', 'supports.persistent');
    assert.equal(fs.supports.atomicRename, true, 'supports.atomicRename');
  }),

  c('open: missing file without create is HEARTH_NOT_FOUND', async (t) => {
    const fs = await t.create();
    await assert.rejects(() => fs.open('nope'), 'HEARTH_NOT_FOUND', 'open missing');
    await assert.rejects(() => fs.open('nope', { truncate: true }), 'HEARTH_NOT_FOUND', 'open missing, truncate');
    assert.equal(await fs.exists('nope'), false, 'not created by a failed open');
  }),

  c('open: create makes an empty file; reopen sees it', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      assert.equal(h.path, 'a', 'handle.path');
      assert.equal(h.size(), 0, 'new file is empty');
    });
    assert.equal(await fs.exists('a'), true, 'exists after create');
    await withFile(fs, 'a', {}, (h) => assert.equal(h.size(), 0, 'reopened size'));
  }),

  c('open: create keeps existing content; truncate empties it', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(1, 2, 3));
    await withFile(fs, 'a', { create: true }, (h) => assert.bytes(h.read(0, 10), [1, 2, 3], 'create keeps'));
    await withFile(fs, 'a', { truncate: true }, (h) => assert.equal(h.size(), 0, 'truncate empties'));
    assert.bytes(await readFile(fs, 'a'), [], 'stays empty');
  }),

  c('open: exclusive creates, and fails with HEARTH_EXISTS on an existing file', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'x', { exclusive: true }, (h) => h.write(0, bytes(7)));
    await assert.rejects(() => fs.open('x', { exclusive: true }), 'HEARTH_EXISTS', 'exclusive on existing');
    await assert.rejects(() => fs.open('x', { exclusive: true, create: true }), 'HEARTH_EXISTS', 'exclusive+create');
    assert.bytes(await readFile(fs, 'x'), [7], 'content untouched by the failed exclusive open');
  }),

  c('open: missing parent directory is HEARTH_NOT_FOUND, even with create', async (t) => {
    const fs = await t.create();
    await assert.rejects(() => fs.open('d/a', { create: true }), 'HEARTH_NOT_FOUND', 'missing parent');
    await assert.rejects(() => fs.open('d/e/a', { exclusive: true }), 'HEARTH_NOT_FOUND', 'missing grandparent');
    await writeFile(fs, 'f', bytes(1));
    await assert.rejects(() => fs.open('f/a', { create: true }), 'HEARTH_NOT_FOUND', 'parent is a file');
  }),

  c('open: a directory is HEARTH_IO', async (t) => {
    const fs = await t.create();
    await fs.mkdir('d');
    await assert.rejects(() => fs.open('d'), 'HEARTH_IO', 'open dir');
    await assert.rejects(() => fs.open('d', { create: true }), 'HEARTH_IO', 'open dir with create');
  }),

  c('paths: malformed paths are RangeError, non-strings TypeError', async (t) => {
    const fs = await t.create();
    for (const p of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', 'a/./b', 'a\\b', 'a\0b']) {
      await assert.throwsType(() => fs.open(p, { create: true }), RangeError, `open ${JSON.stringify(p)}`);
    }
    await assert.throwsType(() => fs.mkdir('a//b'), RangeError, 'mkdir');
    await assert.throwsType(() => fs.remove('/a'), RangeError, 'remove');
    await assert.throwsType(() => fs.rename('a', '../b'), RangeError, 'rename to');
    await assert.throwsType(() => fs.list('/'), RangeError, 'list');
    await assert.throwsType(() => fs.exists('a/'), RangeError, 'exists');
    await assert.throwsType(() => fs.open(42 as unknown as string), TypeError, 'open(number)');
    assert.list(await fs.list(''), [], 'nothing was created');
  }),

  c('read: returns what was written, short at EOF, empty past EOF', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      h.write(0, bytes(10, 11, 12, 13, 14));
      assert.bytes(h.read(0, 5), [10, 11, 12, 13, 14], 'whole');
      assert.bytes(h.read(1, 2), [11, 12], 'middle');
      assert.bytes(h.read(3, 100), [13, 14], 'spanning EOF is short');
      assert.bytes(h.read(5, 4), [], 'at EOF');
      assert.bytes(h.read(1000, 4), [], 'past EOF');
      assert.bytes(h.read(2, 0), [], 'zero length');
      assert.bytes(h.read(0, 2 ** 40), [10, 11, 12, 13, 14], 'a huge length is clamped to the file');
      assert.bytes(h.read(2 ** 40, 2 ** 40), [], 'a huge offset reads nothing');
    });
  }),

  c('readInto (optional): fills the target, short at EOF, zero past EOF, same bytes as read', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, async (h) => {
      if (h.readInto === undefined) return;
      h.write(0, bytes(10, 11, 12, 13, 14));
      const target = new Uint8Array(4).fill(99);
      assert.equal(h.readInto(1, target), 4, 'whole target');
      assert.bytes(target, [11, 12, 13, 14], 'middle');
      target.fill(99);
      assert.equal(h.readInto(3, target), 2, 'spanning EOF is short');
      assert.bytes(target, [13, 14, 99, 99], 'only the bytes read are written');
      assert.equal(h.readInto(5, target), 0, 'at EOF');
      assert.equal(h.readInto(1000, target), 0, 'past EOF');
      assert.equal(h.readInto(0, new Uint8Array(0)), 0, 'empty target');
      const big = new Uint8Array(64);
      assert.equal(h.readInto(0, big.subarray(8, 16)), 5, 'into a subarray');
      assert.bytes(big.subarray(8, 13), [10, 11, 12, 13, 14], 'at the subarray start');
      await assert.throwsType(() => h.readInto!(-1, target), RangeError, 'negative offset');
      await assert.throwsType(() => h.readInto!(0, [1, 2] as unknown as Uint8Array), TypeError, 'not bytes');
    });
    const h = await fs.open('a');
    await h.close();
    if (h.readInto !== undefined) await assert.rejects(() => h.readInto!(0, new Uint8Array(1)), 'HEARTH_CLOSED', 'after close');
  }),

  c('read/write: buffers are copies in both directions', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      const data = bytes(1, 2, 3);
      h.write(0, data);
      data[0] = 99;
      assert.bytes(h.read(0, 3), [1, 2, 3], 'write copied its input');
      const r = h.read(0, 3);
      r[1] = 99;
      assert.bytes(h.read(0, 3), [1, 2, 3], 'read returned a copy');
      const big = new Uint8Array(8).fill(5);
      h.write(1, big.subarray(2, 4));
      assert.bytes(h.read(0, 10), [1, 5, 5], 'a subarray view writes only its own bytes');
    });
  }),

  c('write: overwrite in place, extend, and a gap reads as zeros', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      h.write(0, bytes(1, 2, 3, 4));
      h.write(1, bytes(9, 9));
      assert.bytes(h.read(0, 10), [1, 9, 9, 4], 'overwrite');
      h.write(3, bytes(7, 7));
      assert.bytes(h.read(0, 10), [1, 9, 9, 7, 7], 'overlap the end extends');
      h.write(8, bytes(5));
      assert.equal(h.size(), 9, 'size after gap write');
      assert.bytes(h.read(0, 20), [1, 9, 9, 7, 7, 0, 0, 0, 5], 'gap is zeros');
    });
  }),

  c('write: zero-length write never extends the file', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      h.write(0, bytes(1));
      h.write(100, new Uint8Array(0));
      assert.equal(h.size(), 1, 'size unchanged');
      assert.equal(h.append(new Uint8Array(0)), 1, 'empty append returns the end');
      assert.equal(h.size(), 1, 'size unchanged by empty append');
    });
  }),

  c('write: bad arguments are RangeError/TypeError and change nothing', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, async (h) => {
      h.write(0, bytes(1, 2));
      await assert.throwsType(() => h.write(-1, bytes(1)), RangeError, 'negative offset');
      await assert.throwsType(() => h.write(1.5, bytes(1)), RangeError, 'fractional offset');
      await assert.throwsType(() => h.write(0, [1, 2] as unknown as Uint8Array), TypeError, 'array data');
      await assert.throwsType(() => h.append('x' as unknown as Uint8Array), TypeError, 'string append');
      await assert.throwsType(() => h.read(-1, 1), RangeError, 'negative read offset');
      await assert.throwsType(() => h.read(0, -1), RangeError, 'negative read length');
      await assert.throwsType(() => h.read(0, Number.NaN), RangeError, 'NaN read length');
      await assert.throwsType(() => h.truncate(-3), RangeError, 'negative truncate');
      assert.bytes(h.read(0, 10), [1, 2], 'content unchanged');
    });
  }),

  c('append: returns each write offset and extends the file', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'log', { create: true }, (h) => {
      assert.equal(h.append(bytes(1, 2)), 0, 'first append at 0');
      assert.equal(h.append(bytes(3)), 2, 'second append at 2');
      h.write(6, bytes(9));
      assert.equal(h.append(bytes(4)), 7, 'append after a gap write goes at the end');
      assert.bytes(h.read(0, 100), [1, 2, 3, 0, 0, 0, 9, 4], 'content');
    });
    await withFile(fs, 'log', {}, (h) => assert.equal(h.append(bytes(5)), 8, 'append on a reopened file'));
  }),

  c('truncate: shrink, grow with zeros, stale bytes never reappear', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, (h) => {
      h.write(0, bytes(1, 2, 3, 4, 5, 6));
      h.truncate(2);
      assert.equal(h.size(), 2, 'shrunk');
      assert.bytes(h.read(0, 10), [1, 2], 'shrunk content');
      h.truncate(5);
      assert.bytes(h.read(0, 10), [1, 2, 0, 0, 0], 'grown with zeros, not old bytes');
      h.truncate(1);
      h.write(3, bytes(8));
      assert.bytes(h.read(0, 10), [1, 0, 0, 8], 'gap after shrink is zeros');
      h.truncate(4);
      assert.equal(h.size(), 4, 'same size is a no-op');
      h.truncate(0);
      assert.equal(h.size(), 0, 'to zero');
    });
  }),

  c('large writes round-trip and read back in pieces', async (t) => {
    const fs = await t.create();
    const big = pattern(1 << 20, 12345);
    await withFile(fs, 'big', { create: true }, async (h) => {
      h.write(0, big);
      await h.sync();
    });
    await withFile(fs, 'big', {}, (h) => {
      assert.equal(h.size(), big.length, 'size');
      for (let off = 0; off < big.length; off += 65536 + 7) {
        assert.bytes(h.read(off, 4099), big.subarray(off, off + 4099), `piece at ${off}`);
      }
      assert.bytes(h.read(0, big.length), big, 'whole');
    });
  }),

  c('sync: resolves on an open handle; content is unchanged by it', async (t) => {
    const fs = await t.create();
    await withFile(fs, 'a', { create: true }, async (h) => {
      h.write(0, enc.encode('hello'));
      await h.sync();
      await h.sync();
      assert.equal(dec.decode(h.read(0, 5)), 'hello', 'after sync');
    });
  }),

  c('closed handle: every byte op is HEARTH_CLOSED, close is idempotent', async (t) => {
    const fs = await t.create();
    const h = await fs.open('a', { create: true });
    h.write(0, bytes(1));
    await h.close();
    await h.close();
    await assert.rejects(() => h.read(0, 1), 'HEARTH_CLOSED', 'read');
    await assert.rejects(() => h.write(0, bytes(1)), 'HEARTH_CLOSED', 'write');
    await assert.rejects(() => h.append(bytes(1)), 'HEARTH_CLOSED', 'append');
    await assert.rejects(() => h.size(), 'HEARTH_CLOSED', 'size');
    await assert.rejects(() => h.truncate(0), 'HEARTH_CLOSED', 'truncate');
    await assert.rejects(() => h.sync(), 'HEARTH_CLOSED', 'sync');
    assert.bytes(await readFile(fs, 'a'), [1], 'file intact after use of a closed handle');
  }),

  c('exists: files, directories, root, missing', async (t) => {
    const fs = await t.create();
    await fs.mkdir('d/e');
    await writeFile(fs, 'd/f', bytes(1));
    assert.equal(await fs.exists(''), true, 'root');
    assert.equal(await fs.exists('d'), true, 'dir');
    assert.equal(await fs.exists('d/e'), true, 'nested dir');
    assert.equal(await fs.exists('d/f'), true, 'file');
    assert.equal(await fs.exists('d/g'), false, 'missing');
    assert.equal(await fs.exists('x/y/z'), false, 'missing parents');
    assert.equal(await fs.exists('d/f/x'), false, 'under a file');
  }),

  c('list: names only, sorted, files and directories, root', async (t) => {
    const fs = await t.create();
    assert.list(await fs.list(''), [], 'empty root');
    for (const name of ['b', 'a10', 'a2', 'C', '000012.sst']) await writeFile(fs, name, bytes(1));
    await fs.mkdir('dir/sub');
    await writeFile(fs, 'dir/x', bytes(1));
    await writeFile(fs, 'dir/sub/y', bytes(1));
    assert.list(await fs.list(''), ['000012.sst', 'C', 'a10', 'a2', 'b', 'dir'], 'root listing, code-unit order');
    assert.list(await fs.list('dir'), ['sub', 'x'], 'nested listing');
    assert.list(await fs.list('dir/sub'), ['y'], 'deeper listing');
  }),

  c('list: missing directory or a file is HEARTH_NOT_FOUND', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'f', bytes(1));
    await assert.rejects(() => fs.list('nope'), 'HEARTH_NOT_FOUND', 'missing');
    await assert.rejects(() => fs.list('f'), 'HEARTH_NOT_FOUND', 'a file');
  }),

  c('mkdir: recursive, idempotent, HEARTH_EXISTS over a file', async (t) => {
    const fs = await t.create();
    await fs.mkdir('a/b/c');
    await fs.mkdir('a/b/c');
    await fs.mkdir('a');
    assert.list(await fs.list('a'), ['b'], 'a');
    assert.list(await fs.list('a/b/c'), [], 'leaf empty');
    await writeFile(fs, 'a/f', bytes(1));
    await assert.rejects(() => fs.mkdir('a/f'), 'HEARTH_EXISTS', 'mkdir over a file');
    await assert.rejects(() => fs.mkdir('a/f/g'), 'HEARTH_EXISTS', 'mkdir under a file');
    await writeFile(fs, 'a/b/c/g', bytes(2));
    assert.bytes(await readFile(fs, 'a/b/c/g'), [2], 'file in a nested dir');
  }),

  c('rename: moves content, source is gone', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(1, 2));
    await fs.rename('a', 'b');
    assert.equal(await fs.exists('a'), false, 'source gone');
    assert.bytes(await readFile(fs, 'b'), [1, 2], 'target content');
    assert.list(await fs.list(''), ['b'], 'listing');
  }),

  c('rename: atomically replaces an existing target', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'MANIFEST.tmp', bytes(2, 2, 2));
    await writeFile(fs, 'MANIFEST', bytes(1, 1, 1, 1, 1));
    await fs.rename('MANIFEST.tmp', 'MANIFEST');
    assert.bytes(await readFile(fs, 'MANIFEST'), [2, 2, 2], 'replaced, not merged');
    assert.list(await fs.list(''), ['MANIFEST'], 'only the target remains');
  }),

  c('rename: across directories', async (t) => {
    const fs = await t.create();
    await fs.mkdir('a');
    await fs.mkdir('b/c');
    await writeFile(fs, 'a/x', bytes(3));
    await fs.rename('a/x', 'b/c/y');
    assert.list(await fs.list('a'), [], 'source dir empty');
    assert.bytes(await readFile(fs, 'b/c/y'), [3], 'moved');
  }),

  c('rename: onto itself is a no-op', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(4));
    await fs.rename('a', 'a');
    assert.bytes(await readFile(fs, 'a'), [4], 'unchanged');
  }),

  c('rename: errors', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(1));
    await fs.mkdir('d');
    await assert.rejects(() => fs.rename('nope', 'b'), 'HEARTH_NOT_FOUND', 'missing source');
    await assert.rejects(() => fs.rename('a', 'x/b'), 'HEARTH_NOT_FOUND', 'missing target dir');
    await assert.rejects(() => fs.rename('a', 'd'), 'HEARTH_IO', 'onto a directory');
    await assert.rejects(() => fs.rename('d', 'e'), 'HEARTH_IO', 'a directory');
    assert.bytes(await readFile(fs, 'a'), [1], 'source intact after failed renames');
    assert.list(await fs.list(''), ['a', 'd'], 'nothing created');
  }),

  c('remove: file, empty directory, HEARTH_NOT_FOUND when missing', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(1));
    await fs.mkdir('d');
    await fs.remove('a');
    await fs.remove('d');
    assert.list(await fs.list(''), [], 'both gone');
    await assert.rejects(() => fs.remove('a'), 'HEARTH_NOT_FOUND', 'missing');
    await assert.rejects(() => fs.remove('x/y'), 'HEARTH_NOT_FOUND', 'missing parent');
  }),

  c('remove: non-empty directory needs recursive', async (t) => {
    const fs = await t.create();
    await fs.mkdir('d/e/f');
    await writeFile(fs, 'd/e/f/x', bytes(1));
    await writeFile(fs, 'd/y', bytes(2));
    await writeFile(fs, 'keep', bytes(3));
    await assert.rejects(() => fs.remove('d'), 'HEARTH_IO', 'not empty');
    assert.bytes(await readFile(fs, 'd/e/f/x'), [1], 'nothing removed by the failed call');
    await fs.remove('d', { recursive: true });
    assert.equal(await fs.exists('d'), false, 'gone');
    assert.equal(await fs.exists('d/e/f/x'), false, 'descendants gone');
    assert.list(await fs.list(''), ['keep'], 'sibling kept');
    await fs.mkdir('d');
    assert.list(await fs.list('d'), [], 'recreated empty');
  }),

  c('remove then recreate: a new file starts empty', async (t) => {
    const fs = await t.create();
    await writeFile(fs, 'a', bytes(1, 2, 3));
    await fs.remove('a');
    await withFile(fs, 'a', { create: true }, (h) => assert.equal(h.size(), 0, 'fresh file'));
  }),

  c('persistence: files, content and directories survive a reopen', async (t) => {
    const fs = await t.create();
    if (!t.reopen) throw new Error('target declares supports.persistent but has no reopen()');
    await fs.mkdir('db/sst');
    await writeFile(fs, 'db/sst/000001.sst', pattern(10_000, 7));
    await writeFile(fs, 'db/CURRENT.tmp', enc.encode('MANIFEST-2'));
    await fs.rename('db/CURRENT.tmp', 'db/CURRENT');
    await withFile(fs, 'db/LOG', { create: true }, async (h) => {
      h.append(bytes(1, 2));
      h.append(bytes(3));
      await h.sync();
    });
    const again = await t.reopen(fs);
    assert.list(await again.list('db'), ['CURRENT', 'LOG', 'sst'], 'listing');
    assert.bytes(await readFile(again, 'db/sst/000001.sst'), pattern(10_000, 7), 'sst content');
    assert.equal(dec.decode(await readFile(again, 'db/CURRENT')), 'MANIFEST-2', 'renamed file');
    assert.bytes(await readFile(again, 'db/LOG'), [1, 2, 3], 'appended file');
    await again.remove('db/LOG');
    const third = await t.reopen(again);
    assert.list(await third.list('db'), ['CURRENT', 'sst'], 'removal persisted');
  }, 'persistent'),
];

/** The cases that apply to `fs` (those needing `supports.persistent` only when it is true). */
export function casesFor(fs: Pick<FileSystem, 'supports'>): ComplianceCase[] {
  return complianceCases.filter((x) => x.requires !== 'persistent' || fs.supports.persistent);
}
