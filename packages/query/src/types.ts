/**
 * The public contract of `@hearth/query`: the value model, the query AST, the storage interface the engine reads
 * through ({@link QueryStore}), index definitions, change sets and diffs, and the shape of `explain()`.
 *
 * The engine never imports `@hearth/db`. The Database implements {@link QueryStore} over one LSM snapshot (a read
 * view at one sequence number) and hands it to {@link execute}/{@link explain}/{@link createLiveQuery}; the
 * in-memory {@link MemoryQueryStore} implements the same interface for tests.
 *
 * Queries are plain data (an AST, no string parser). Semantics are specified in `docs/query.md`; the index key
 * encoding in `docs/formats/index-keys.md`.
 *
 * @packageDocumentation
 */

/**
 * A document value. The model is JSON plus byte strings: `null`, booleans, numbers (IEEE-754 f64, including
 * `NaN` and infinities), strings (well-formed UTF-16: no lone surrogates), `Uint8Array`, arrays and plain
 * objects, and `Float32Array` vectors (opaque to paths: a path does not descend into them). `undefined` means *missing* (a field that is absent); object properties whose value is `undefined`
 * are treated as absent. Anything else (Date, Map, other typed arrays, bigint) is outside the model and raises
 * `HEARTH_UNSUPPORTED_VALUE` where the engine has to order or encode it. (The same model as `@hearth/db`'s
 * documents.)
 */
export type Value = null | boolean | number | string | Uint8Array | Float32Array | Value[] | { [key: string]: Value | undefined };

/** A document: a plain object. Its id is not part of it; the virtual field `_id` resolves to the id. */
export type Doc = { [key: string]: Value | undefined };

/**
 * A field path: `'author.name'` or `['author', 'name']`. The string form splits on `.`; use the array form for
 * keys that contain a dot. A segment that is a canonical non-negative integer (`'0'`, `'12'`) indexes into an
 * array. The single-segment path `_id` is the document id.
 */
export type Path = string | readonly string[];

/** Comparison operators. `eq`/`ne` use the total order's equality; `gt gte lt lte` are type-bracketed. */
export type CompareOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

/** A filter node. See `docs/query.md` for the exact semantics of each operator. */
export type Filter =
  | { readonly op: CompareOp; readonly path: Path; readonly value: Value }
  | { readonly op: 'in' | 'nin'; readonly path: Path; readonly values: readonly Value[] }
  | { readonly op: 'contains'; readonly path: Path; readonly value: Value }
  | { readonly op: 'prefix'; readonly path: Path; readonly value: string }
  | { readonly op: 'exists'; readonly path: Path; readonly exists: boolean }
  | { readonly op: 'and' | 'or'; readonly filters: readonly Filter[] }
  | { readonly op: 'not'; readonly filter: Filter };

/** One sort key. `dir` defaults to `'asc'`. */
export interface SortKey {
  readonly path: Path;
  readonly dir?: 'asc' | 'desc';
}

/**
 * One traversal hop (join by value): for every document in the current set, take the value(s) at `from` (an array
 * is followed element by element) and find the documents of collection `to` whose field `toField` (default
 * `_id`) equals one of them, keeping those that match `where`. With `depth` n > 1 the hop is repeated from the
 * documents it reached (reading `from` on them), up to n times; the hop's result is every document reached at
 * levels 1..n, each once.
 */
export interface Hop {
  readonly from: Path;
  readonly to: string;
  readonly toField?: Path;
  readonly where?: Filter;
  readonly depth?: number;
}

/** An aggregate function. `count` without a path counts documents; with one, documents where it is present. */
export type AggregateSpec =
  | { readonly op: 'count'; readonly path?: Path }
  | { readonly op: 'sum' | 'avg' | 'min' | 'max'; readonly path: Path };

/** Aggregation: group the matching documents by `groupBy` (none: one group) and compute `values` per group. */
export interface Aggregate {
  readonly groupBy?: readonly Path[];
  readonly values: Readonly<Record<string, AggregateSpec>>;
}

/** A query. Only `collection` is required. */
export interface Query {
  /** Collection to start from. */
  readonly collection: string;
  /** Filter on the starting collection. */
  readonly where?: Filter;
  /** Hops to follow after filtering; the result is the last hop's documents. */
  readonly traverse?: readonly Hop[];
  /** Sort keys, applied to the final document set. Ties are broken by `_id` in the direction of the last key. */
  readonly sort?: readonly SortKey[];
  /** Maximum number of rows (a non-negative integer). */
  readonly limit?: number;
  /** Opaque cursor from a previous page's {@link QueryResult.cursor}: rows strictly after that position. */
  readonly after?: string;
  /** Projection: only these paths appear in each row's `doc`. */
  readonly select?: readonly Path[];
  /** Aggregation instead of rows. Excludes `sort`, `limit`, `after` and `select`. */
  readonly aggregate?: Aggregate;
}

/** One result row. For aggregate queries `id` is the hex of the group key's encoding. */
export interface Row {
  readonly id: string;
  readonly doc: Doc;
}

/** The result of {@link execute}. */
export interface QueryResult {
  readonly rows: Row[];
  /** Position of the last row (present when `rows` is non-empty and the query is not an aggregate). */
  readonly cursor?: string;
  /** Whether rows exist after the last one returned (at the snapshot read). */
  readonly hasMore: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Indexes and storage

/**
 * A secondary index definition. Every field is ascending (a reverse scan serves all-descending sorts).
 * A regular index has one entry per document: key = encode(value of each field, missing included) + encode(id).
 * A `multiEntry` index has exactly one field and one entry per distinct element of an array value (documents
 * whose value is not an array have none); it serves `contains`.
 */
export interface IndexDefinition {
  readonly collection: string;
  readonly fields: readonly Path[];
  readonly multiEntry?: boolean;
}

/** A registered, complete index as the store reports it. Fields are normalized to segment arrays. */
export interface IndexInfo {
  /** Store-assigned id, passed back to {@link QueryStore.scanIndex}. */
  readonly id: string;
  readonly collection: string;
  readonly fields: readonly (readonly string[])[];
  readonly multiEntry: boolean;
  /** Who asked for it: the application, or the adaptive policy. Default `'user'`. */
  readonly origin?: 'user' | 'adaptive';
}

/**
 * A key range over an index. Keys compare as unsigned bytes, a proper prefix first. Omitted bounds are open.
 * `reverse` iterates from the highest key down.
 */
export interface KeyRange {
  readonly gte?: Uint8Array;
  readonly gt?: Uint8Array;
  readonly lte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly reverse?: boolean;
}

/** One index entry: the full key (values + id) and the document id it names. */
export interface IndexEntry {
  readonly key: Uint8Array;
  readonly id: string;
}

/**
 * The read view the engine runs on: **one consistent snapshot** of documents and indexes. Every method must see
 * the same state; an index listed by {@link QueryStore.indexes} must be complete for that state (an index still
 * being built must not be listed).
 *
 * Contract (the Database implements it over an LSM snapshot):
 * 1. `getDoc(c, id)` returns the document or `undefined`. The engine does not mutate returned documents.
 * 2. `scan(c)` yields every document of `c` once, in any order.
 * 3. `scanIndex(id, range)` yields every entry of that index inside `range`, ascending by key (descending with
 *    `reverse`), each `id` naming a document that exists in this snapshot. Iteration may stop early (the engine
 *    calls `return()` on the iterator).
 * 4. The optional estimators may be approximate; they only steer the planner, never correctness.
 * 5. The optional partial readers `getDocFields`/`scanFields` behave as `getDoc`/`scan` except that a returned
 *    document needs to hold only the named top-level fields (with their whole values, as `getDoc` would return
 *    them); other fields may be missing. The engine uses them where it reads many documents to evaluate a filter,
 *    a sort or an aggregate over few fields, and it never hands a partial document to its caller (rows it returns
 *    are re-read with `getDoc`). A store that cannot read less than the whole document need not implement them.
 */
export interface QueryStore {
  getDoc(collection: string, id: string): Doc | undefined;
  scan(collection: string): Iterable<readonly [string, Doc]>;
  /** Contract 5: `getDoc`, reading only the top-level fields in `fields`. */
  getDocFields?(collection: string, id: string, fields: ReadonlySet<string>): Doc | undefined;
  /** Contract 5: `scan`, reading only the top-level fields in `fields`. */
  scanFields?(collection: string, fields: ReadonlySet<string>): Iterable<readonly [string, Doc]>;
  indexes(collection: string): readonly IndexInfo[];
  scanIndex(indexId: string, range: KeyRange): Iterable<IndexEntry>;
  /** Approximate number of documents in a collection. */
  countDocs?(collection: string): number;
  /** Approximate number of index entries inside a range. */
  estimateRange?(indexId: string, range: KeyRange): number;
}

// ---------------------------------------------------------------------------------------------------------------
// Changes and diffs (live queries)

/** One document write: insert (no `before`), delete (no `after`) or update (both). */
export interface Change {
  readonly collection: string;
  readonly id: string;
  readonly before?: Doc;
  readonly after?: Doc;
}

/**
 * The difference between two results of one query. Applying it ({@link applyDiff}): remove the rows named in
 * `removed` and `changed`, then insert the rows of `added` and `changed` at their new positions in ascending
 * order of position. `index`/`from` are positions in the old result, `index`/`to` in the new one.
 */
export interface Diff {
  readonly removed: { readonly id: string; readonly index: number }[];
  readonly added: { readonly id: string; readonly doc: Doc; readonly index: number }[];
  readonly changed: { readonly id: string; readonly doc: Doc; readonly from: number; readonly to: number }[];
}

// ---------------------------------------------------------------------------------------------------------------
// Plans and explain

/** How the documents of one collection are reached. */
export type Access =
  | { readonly type: 'scan' }
  | { readonly type: 'primary'; readonly ids: readonly string[] }
  /** A top-level `or` served branch by branch (each by the primary key or an index), ids deduplicated. */
  | { readonly type: 'union'; readonly branches: readonly Access[] }
  | {
      readonly type: 'index';
      readonly indexId: string;
      readonly fields: readonly (readonly string[])[];
      readonly multiEntry: boolean;
      /** Key ranges scanned, bounds in hex (for reading). */
      readonly ranges: readonly { gte?: string; lt?: string }[];
      /** Whether the index order is the query order (no sort step; limit stops the scan early). */
      readonly servesSort: boolean;
      readonly reverse: boolean;
      /** Number of leading index fields bound by equality. */
      readonly equalityFields: number;
      /** Whether a range (gt/gte/lt/lte/prefix) bounds the next field. */
      readonly rangeField: boolean;
    };

/** Statistics of one traversal hop. */
export interface HopExplain {
  readonly to: string;
  readonly toField: readonly string[];
  readonly access: 'primary' | 'index' | 'scan';
  readonly indexId?: string;
  /** Distinct values looked up, over all levels. */
  readonly lookups: number;
  /** Documents read from `to` (fetched or scanned). */
  readonly docsScanned: number;
  /** Documents reached (after the hop's filter), over all levels. */
  readonly reached: number;
  readonly levels: number;
}

/** What {@link explain} returns: the plan chosen, the alternatives considered, and the counts of one run. */
export interface Explain {
  readonly collection: string;
  readonly access: Access;
  /** Every access path considered with its estimated cost (lower is better); the chosen one first. */
  readonly candidates: readonly { readonly access: Access; readonly estimatedScanned: number; readonly cost: number }[];
  readonly estimatedScanned: number;
  /** Documents read from the starting collection (fetched by id or scanned). */
  readonly docsScanned: number;
  /** Index entries read. */
  readonly indexEntriesRead: number;
  /** Documents of the final set that matched (before limit and cursor). */
  readonly docsMatched: number;
  /** Rows returned. */
  readonly returned: number;
  /** Whether rows were sorted in memory (false when the access order is the query order). */
  readonly sortInMemory: boolean;
  readonly hops: readonly HopExplain[];
  /** Wall time of the run, in ms. */
  readonly ms: number;
  /** Fields the query filtered and sorted on, for the adaptive index policy. */
  readonly shape: QueryShape;
}

/** The shape of a query: which fields it constrains and how (values left out). Paths are segment arrays. */
export interface QueryShape {
  readonly collection: string;
  /** Fields under a top-level `eq` or `in`, sorted by their key. */
  readonly equality: readonly (readonly string[])[];
  /** Fields under a top-level `gt gte lt lte prefix`, sorted. */
  readonly range: readonly (readonly string[])[];
  /** Fields under a top-level `contains`, sorted. */
  readonly contains: readonly (readonly string[])[];
  /** Sort keys in order. */
  readonly sort: readonly { readonly path: readonly string[]; readonly dir: 'asc' | 'desc' }[];
  /** A stable string naming the shape (equal shapes, equal keys). */
  readonly key: string;
}
