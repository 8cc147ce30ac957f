/**
 * Vector search over notes: "similar notes" and the search box.
 *
 * Two spaces are searched, never mixed:
 * - `embedding`: every note's vector from the app's {@link Embedder} (the built-in one is lexical), used for the
 *   search box and for "similar" when a note has no own vector;
 * - `vector`: a document's own vector (e.g. imported with it), used for "similar" among notes whose own vector has
 *   the same length.
 *
 * Where the search runs: the Database's `nearest` when the worker has a vector layer wired in (see
 * {@link NoteSearch.backend}); until then, in the page, with `@hearth/vector`'s exact `FlatIndex` per space, kept
 * current incrementally by a live query of every note's `updated` stamp (only notes whose stamp changed are
 * read again).
 *
 * Invariant: after {@link NoteSearch.ready} resolves and while no change is being applied, each page index holds
 * exactly the notes whose stored vector is in its space, under the note's id.
 * @packageDocumentation
 */
import type { CollectionHandle, HearthDatabase, Live } from '@hearth/sdk';
import type { QueryResult } from '@hearth/query';
import { FlatIndex, type VectorIndex } from '@hearth/vector';
import type { Embedder } from './embed.js';
import type { Note } from './notes.js';

/** One search hit. `score` is the cosine similarity (1 = same direction). */
export interface Hit {
  readonly id: string;
  readonly score: number;
}

type Space = string; // 'emb:<embedder id>' | 'vec:<dim>'

function isZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

/** Keeps page-side vector indexes of a notes collection and searches them. Create with {@link NoteSearch.start}. */
export class NoteSearch {
  /** Where searches run: `'database'` (the worker's `nearest`) or `'page'` (exact search in this tab). */
  backend: 'database' | 'page' = 'page';
  private readonly indexes = new Map<Space, VectorIndex>();
  /** Note id → its `updated` stamp and the spaces it is indexed in. */
  private readonly known = new Map<string, { updated: unknown; spaces: Space[] }>();
  private live: Live<QueryResult> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readyResolve!: () => void;
  /** Resolves once the first full load is indexed. */
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));
  /** Called after each change is indexed (for the UI's counters). */
  onChange: (() => void) | null = null;

  private constructor(
    private readonly db: HearthDatabase,
    private readonly notes: CollectionHandle<Note>,
    readonly embedder: Embedder,
  ) {}

  /** Starts following `notes`. */
  static start(db: HearthDatabase, notes: CollectionHandle<Note>, embedder: Embedder): NoteSearch {
    const s = new NoteSearch(db, notes, embedder);
    s.live = notes.live({ select: ['updated'] });
    s.live.listen(
      (r) => {
        s.queue = s.queue.then(() => s.sync(r)).catch((e: unknown) => console.error('search index update failed', e));
      },
      (e) => console.error('search live query failed', e),
    );
    return s;
  }

  /** Number of vectors indexed per space (for the UI). */
  sizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, ix] of this.indexes) out[k] = ix.size;
    return out;
  }

  close(): void {
    this.live?.close();
  }

  private async sync(r: QueryResult): Promise<void> {
    const seen = new Set<string>();
    const changed: string[] = [];
    for (const row of r.rows) {
      seen.add(row.id);
      const k = this.known.get(row.id);
      if (k === undefined || k.updated !== row.doc.updated) changed.push(row.id);
    }
    for (const [id, k] of this.known) {
      if (!seen.has(id)) {
        this.unindex(id, k.spaces);
        this.known.delete(id);
      }
    }
    for (let i = 0; i < changed.length; i += 256) {
      const ids = changed.slice(i, i + 256);
      const docs = await this.notes.getMany(ids);
      for (let j = 0; j < ids.length; j++) await this.index(ids[j], docs[j]);
    }
    this.readyResolve();
    this.onChange?.();
  }

  private unindex(id: string, spaces: Space[]): void {
    for (const s of spaces) this.indexes.get(s)?.remove(id);
  }

  private async indexFor(space: Space, dim: number): Promise<VectorIndex> {
    let ix = this.indexes.get(space);
    if (ix === undefined) {
      ix = await FlatIndex.create({ dim, metric: 'cosine' });
      this.indexes.set(space, ix);
    }
    return ix;
  }

  private async index(id: string, doc: Note | undefined): Promise<void> {
    const old = this.known.get(id);
    if (old !== undefined) this.unindex(id, old.spaces);
    this.known.delete(id);
    if (doc === undefined) return;
    const spaces: Space[] = [];
    const put = async (space: Space, v: unknown): Promise<void> => {
      if (!(v instanceof Float32Array) || v.length === 0 || isZero(v)) return;
      const ix = await this.indexFor(space, v.length);
      ix.add(id, v);
      spaces.push(space);
    };
    if (typeof doc.embedder === 'string') await put(`emb:${doc.embedder}`, doc.embedding);
    if (doc.vector instanceof Float32Array) await put(`vec:${doc.vector.length}`, doc.vector);
    this.known.set(id, { updated: doc.updated, spaces });
  }

  private async searchSpace(space: Space, q: Float32Array, k: number, exclude?: string): Promise<Hit[]> {
    await this.ready;
    await this.queue;
    const ix = this.indexes.get(space);
    if (ix === undefined || ix.size === 0 || isZero(q)) return [];
    const hits = ix.search(q, { k: Math.min(ix.size, k + (exclude ? 1 : 0)) });
    return hits
      .filter((h) => h.id !== exclude)
      .slice(0, k)
      .map((h) => ({ id: String(h.id), score: 1 - h.distance }));
  }

  /** Notes nearest to the text `text` in the embedder's space. */
  async searchText(text: string, k = 10): Promise<Hit[]> {
    const q = await this.embedder.embed(text);
    return this.searchSpace(`emb:${this.embedder.id}`, q, k);
  }

  /**
   * Notes similar to note `id`: by its own `vector` when it has one (among notes with vectors of that length),
   * else by its embedding. `space` tells which was used.
   */
  async similarTo(id: string, k = 5): Promise<{ space: 'vector' | 'embedding'; hits: Hit[] }> {
    const doc = await this.notes.get(id);
    if (doc === undefined) return { space: 'embedding', hits: [] };
    if (doc.vector instanceof Float32Array && !isZero(doc.vector)) {
      return { space: 'vector', hits: await this.searchSpace(`vec:${doc.vector.length}`, doc.vector, k, id) };
    }
    if (doc.embedding instanceof Float32Array && typeof doc.embedder === 'string') {
      return { space: 'embedding', hits: await this.searchSpace(`emb:${doc.embedder}`, doc.embedding, k, id) };
    }
    return { space: 'embedding', hits: [] };
  }

  /** @internal for tests: the database handle. */
  get database(): HearthDatabase {
    return this.db;
  }
}
