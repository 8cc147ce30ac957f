/**
 * `encodeError`/`decodeError`: every Hearth error class and the built-in ones round-trip with class, code,
 * message, stack and data fields, also through structured clone (what postMessage does), also when a minifier
 * renamed the class; unknown errors degrade to HearthError (with a code) or Error, never throw.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HearthError, IoError, CorruptionError, InjectedCrashError } from '@hearth/io';
import { DbError } from '@hearth/db';
import { LogError, ForkError, FeedFrozenError } from '@hearth/log';
import { QueryError } from '@hearth/query';
import { ClockDriftError } from '@hearth/crdt';
import { SdkError, decodeError, encodeError } from '@hearth/sdk';

const roundTrip = (e: unknown): Error => decodeError(structuredClone(encodeError(e)));

function samples(): Error[] {
  return [
    new IoError('HEARTH_NOT_FOUND', 'missing', { path: 'a/b' }),
    new IoError('HEARTH_QUOTA_EXCEEDED', 'full'),
    new CorruptionError('bad block', { path: 'x.sst', offset: 4096 }),
    new InjectedCrashError('crash'),
    new DbError('HEARTH_INVALID_KEY', 'bad id', { collection: 'notes', id: '' }),
    new SdkError('HEARTH_WORKER_FAILED', 'gone'),
    new HearthError('HEARTH_SOMETHING', 'generic'),
    new TypeError('"x" expected a string'),
    new RangeError('out of range'),
    new Error('plain'),
  ];
}

test('wire errors: each class round-trips with class, code, message, stack and fields', () => {
  for (const e of samples()) {
    const d = roundTrip(e);
    assert.equal(Object.getPrototypeOf(d), Object.getPrototypeOf(e), `${e.name}: same class`);
    assert.equal(d.name, e.name);
    assert.equal(d.message, e.message);
    assert.equal(d.stack, e.stack);
    assert.equal((d as { code?: string }).code, (e as { code?: string }).code);
    for (const k of Object.keys(e)) assert.deepEqual((d as unknown as Record<string, unknown>)[k], (e as unknown as Record<string, unknown>)[k], `${e.name}.${k}`);
    assert.deepEqual(Object.keys(d).sort(), Object.keys(e).sort(), `${e.name}: same own enumerable fields`);
  }
  const q = roundTrip(new QueryError('HEARTH_INVALID_QUERY' as never, 'bad op'));
  assert.ok(q instanceof QueryError && q instanceof HearthError);
  assert.equal((q as QueryError).code, 'HEARTH_INVALID_QUERY');
  for (const cls of [LogError, ForkError, FeedFrozenError, ClockDriftError]) {
    const e = Object.create(cls.prototype) as Error;
    Object.assign(e, { code: 'HEARTH_X', name: cls.name });
    assert.ok(roundTrip(e) instanceof cls, cls.name);
  }
});

test('wire errors: causes are kept (depth-limited); non-cloneable fields are dropped, not fatal', () => {
  const inner = new IoError('HEARTH_IO', 'disk');
  const outer = new DbError('HEARTH_DB_FAILED', 'failed', { cause: inner });
  (outer as unknown as Record<string, unknown>).fn = () => 1;
  const d = roundTrip(outer);
  assert.ok(d.cause instanceof IoError);
  assert.equal((d.cause as IoError).code, 'HEARTH_IO');
  assert.equal((d as unknown as Record<string, unknown>).fn, undefined);
});

test('wire errors: a class renamed by a minifier is still found by prototype and gets its real name', () => {
  class Q extends DbError {}
  const e = new DbError('HEARTH_INVALID_KEY', 'x');
  Object.defineProperty(e, 'name', { value: 'Q', enumerable: true, writable: true, configurable: true });
  const w = encodeError(e);
  assert.equal(w.name, 'DbError');
  const d = decodeError(w);
  assert.ok(d instanceof DbError);
  assert.equal(d.name, 'DbError');
  // An unknown subclass is rebuilt as its nearest known meaning: a HearthError with the same name and code.
  const u = decodeError(encodeError(new Q('HEARTH_INVALID_KEY', 'y')));
  assert.ok(u instanceof HearthError);
  assert.equal((u as HearthError).code, 'HEARTH_INVALID_KEY');
});

test('wire errors: property: any message, code and data fields round-trip; any thrown value decodes to an Error', () => {
  const field = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 8 }));
  fc.assert(
    fc.property(fc.string(), fc.string({ minLength: 1 }), fc.dictionary(fc.string({ minLength: 1 }).filter((k) => !['code', 'name', 'message', 'stack', 'cause'].includes(k)), field), (message, code, fields) => {
      const e = new HearthError(code, message);
      Object.assign(e, fields);
      const d = roundTrip(e) as HearthError & Record<string, unknown>;
      assert.ok(d instanceof HearthError);
      assert.equal(d.code, code);
      assert.equal(d.message, message);
      for (const [k, v] of Object.entries(fields)) assert.deepEqual(d[k], v);
    }),
    { seed: 20261121, numRuns: 200 },
  );
  fc.assert(
    fc.property(fc.anything(), (v) => {
      assert.ok(roundTrip(v) instanceof Error);
    }),
    { seed: 7, numRuns: 200 },
  );
});
