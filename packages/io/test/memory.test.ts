import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryFileSystem } from '@hearth/io';
import { runCompliance } from './_compliance-node.js';
import { casesFor, complianceCases } from './compliance.js';

runCompliance('memory', { create: async () => new MemoryFileSystem() }, new MemoryFileSystem());

test('memory fs: declares itself non-persistent, so the persistence cases do not apply', () => {
  const fs = new MemoryFileSystem();
  assert.equal(fs.name, 'memory');
  assert.equal(fs.supports.persistent, false);
  assert.equal(casesFor(fs).length, complianceCases.filter((c) => c.requires === undefined).length);
});

test('memory fs: a handle stays usable after its file is renamed (POSIX-like)', async () => {
  const fs = new MemoryFileSystem();
  const h = await fs.open('a', { create: true });
  h.append(new Uint8Array([1, 2, 3]));
  await fs.rename('a', 'b');
  h.append(new Uint8Array([4]));
  await h.close();
  const g = await fs.open('b');
  assert.deepEqual([...g.read(0, 10)], [1, 2, 3, 4]);
  await g.close();
});

test('memory fs: writes, reads and truncates across its 64 KiB pages agree with a flat-buffer model (property)', async () => {
  const PAGE = 64 * 1024;
  // Offsets and sizes cluster around page boundaries, where the paged file splits copies.
  const offset = fc.oneof(fc.integer({ min: 0, max: 3 * PAGE }), fc.integer({ min: -40, max: 40 }).chain((d) => fc.constantFrom(PAGE + d, 2 * PAGE + d).map((x) => Math.max(0, x))));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('write' as const), at: offset, len: fc.integer({ min: 1, max: PAGE + 100 }), fill: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('append' as const), len: fc.integer({ min: 1, max: 2000 }), fill: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: offset }),
    fc.record({ kind: fc.constant('read' as const), at: offset, len: fc.integer({ min: 0, max: PAGE + 100 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
      const fs = new MemoryFileSystem();
      const h = await fs.open('f', { create: true });
      let model = new Uint8Array(0);
      const grow = (n: number) => {
        if (n <= model.length) return;
        const next = new Uint8Array(n);
        next.set(model);
        model = next;
      };
      for (const o of ops) {
        if (o.kind === 'write' || o.kind === 'append') {
          // A distinct byte per position, so a piece copied to the wrong place shows.
          const data = Uint8Array.from({ length: o.len }, (_, i) => (o.fill + i) % 256 || 1);
          const at = o.kind === 'write' ? o.at : model.length;
          if (o.kind === 'write') h.write(at, data);
          else assert.equal(h.append(data), at);
          grow(at + data.length);
          model.set(data, at);
        } else if (o.kind === 'truncate') {
          h.truncate(o.at);
          if (o.at < model.length) model = model.slice(0, o.at);
          else grow(o.at);
        } else {
          const expected = model.subarray(Math.min(o.at, model.length), Math.min(o.at + o.len, model.length));
          assert.deepEqual(h.read(o.at, o.len), expected);
          const target = new Uint8Array(o.len).fill(7);
          const n = h.readInto!(o.at, target);
          assert.equal(n, expected.length);
          assert.deepEqual(target.subarray(0, n), expected);
        }
        assert.equal(h.size(), model.length);
      }
      assert.deepEqual(h.read(0, model.length), model, 'whole content');
      await h.close();
    }),
    { seed: 20261121, numRuns: 150 },
  );
});
