/**
 * The note model of Hearth Notes and how it is stored: one document per note in the collection {@link NOTES}.
 *
 * Stored fields (top-level fields are Hearth's last-writer-wins registers, so two devices editing the title and
 * the tags of one note concurrently both keep their change):
 * - `title` (string), `body` (string), `tags` (string[], lower-case, sorted, unique)
 * - `created`, `updated` (ms since the epoch)
 * - `embedding` (Float32Array): the configured embedder's vector of `title + body + tags`, `embedder` its id
 * - `vector` (Float32Array, optional): the document's own vector (e.g. from an import), any dimension
 * @packageDocumentation
 */
import type { Document } from '@hearth/db';
import type { Embedder } from './embed.js';

/** The collection holding notes. */
export const NOTES = 'notes';
/** Longest title, in UTF-16 code units (longer ones are cut on import). */
export const MAX_TITLE = 500;
/** Most tags per note. */
export const MAX_TAGS = 32;

/** A note as stored. */
export interface Note extends Document {
  title: string;
  body: string;
  tags: string[];
  created: number;
  updated: number;
  embedding?: Float32Array;
  embedder?: string;
  vector?: Float32Array;
}

/** What a person edits. */
export interface NoteInput {
  title: string;
  body: string;
  tags: readonly string[];
  vector?: Float32Array;
}

/** Tags as stored: trimmed, lower-case, without `#`, unique, sorted; empty ones dropped. */
export function normalizeTags(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const t of tags) {
    const s = String(t).trim().replace(/^#+/, '').toLowerCase().replace(/\s+/g, '-');
    if (s.length > 0) out.add(s.slice(0, 64));
  }
  return [...out].sort().slice(0, MAX_TAGS);
}

/** Tags from what a person typed: comma- or space-separated. */
export function parseTagInput(text: string): string[] {
  return normalizeTags(text.split(/[,\s]+/));
}

/** The text an embedder sees for a note. */
export function noteText(n: { title: string; body: string; tags: readonly string[] }): string {
  return `${n.title}\n${n.tags.join(' ')}\n${n.body}`;
}

/** A new random note id (time-ordered prefix, so ids of one device sort by creation). */
export function newNoteId(now = Date.now()): string {
  const rand = crypto.getRandomValues(new Uint8Array(8));
  let hex = '';
  for (const b of rand) hex += b.toString(16).padStart(2, '0');
  return `${now.toString(36).padStart(9, '0')}-${hex}`;
}

/** The document to store for `input`, embedding it with `embedder`. `created` is kept from `previous`. */
export async function makeNote(input: NoteInput, embedder: Embedder, previous?: Pick<Note, 'created'>, now = Date.now()): Promise<Note> {
  const tags = normalizeTags(input.tags);
  const title = input.title.slice(0, MAX_TITLE);
  const body = input.body;
  const embedding = await embedder.embed(noteText({ title, body, tags }));
  if (!(embedding instanceof Float32Array) || embedding.length !== embedder.dim) {
    throw new TypeError(`embedder ${embedder.id} returned ${describe(embedding)}, expected a Float32Array of length ${embedder.dim}`);
  }
  const note: Note = { title, body, tags, created: previous?.created ?? now, updated: now, embedding, embedder: embedder.id };
  if (input.vector !== undefined) note.vector = input.vector;
  return note;
}

function describe(v: unknown): string {
  if (v instanceof Float32Array) return `a Float32Array of length ${v.length}`;
  return v === null ? 'null' : typeof v;
}
