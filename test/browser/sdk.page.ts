/**
 * Page module of the SDK browser tests: exposes the SDK and the error classes as `globalThis.T` for the Node
 * tests to drive with `page.evaluate` (see `sdk-helpers.ts`).
 */
import * as sdk from '@hearth/sdk';
import { wrap } from 'comlink';
import { DbError } from '@hearth/db';
import { HearthError, IoError } from '@hearth/io';
import { LogError } from '@hearth/log';
import { QueryError } from '@hearth/query';

(globalThis as unknown as { T: unknown }).T = { ...sdk, wrap, DbError, HearthError, IoError, LogError, QueryError };
