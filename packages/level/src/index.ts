/**
 * `@hearth/level`: an abstract-level (v3) database over Hearth's LSM tree, for code written for the Level
 * ecosystem. See {@link HearthLevel} for what it supports and, importantly, when writes are durable.
 * @packageDocumentation
 */
export { HearthLevel, LSM_DIR } from './level.js';
export type { HearthLevelOptions, HearthWriteOptions } from './level.js';
