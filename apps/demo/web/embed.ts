/**
 * Hearth Notes' built-in text embedding: **lexical, not semantic**. It hashes words, word pairs and character
 * trigrams into a fixed number of dimensions (the "hashing trick", Weinberger et al., "Feature Hashing for Large
 * Scale Multitask Learning", ICML 2009) and L2-normalises the result, so the cosine of two embeddings measures how
 * many words and word fragments two texts share. "car" and "automobile" are unrelated to it; "index" and "indexes"
 * are close (shared trigrams). Apps that want meaning bring a real model through {@link Embedder}.
 *
 * Words in {@link STOP_WORDS} are dropped first.
 *
 * Invariants:
 * 1. Deterministic: the same text gives bit-identical vectors on every platform (FNV-1a over UTF-16 code units,
 *    float32 arithmetic in a fixed order).
 * 2. The result has length `dim` and L2 norm 1, or is all zeros for a text without a letter or digit.
 * @packageDocumentation
 */

/** A text embedding function and the space it maps into. */
export interface Embedder {
  /** Identifies the space: vectors of different embedders are never compared. Stored with each note. */
  readonly id: string;
  /** Length of every vector it returns. */
  readonly dim: number;
  /** Whether the vectors carry meaning (a trained model) or only shared words ({@link lexicalEmbedder}). */
  readonly kind: 'lexical' | 'semantic';
  /** The vector of `text` (length {@link dim}). May be async (a model in a worker, a remote service). */
  embed(text: string): Float32Array | Promise<Float32Array>;
}

/**
 * Total weight of a word's character trigrams (a whole word weighs 1). 2 lets variants of one word ("index",
 * "indexes": cosine 0.34) meet while whole words still dominate. Part of the embedder's definition: do not change
 * without changing its id.
 */
export const TRIGRAM_WEIGHT = 2;

/** Default dimension of the lexical embedding. 256 keeps collisions rare for note-sized texts (1 KiB per vector). */
export const LEXICAL_DIM = 256;

/**
 * Very common English words, left out of the embedding so that "the" and "and" do not make every two notes look
 * alike. Do not change without changing the embedder id: stored embeddings depend on it.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  'a an and are as at be but by for from has have he her his i in is it its of on or our she so that the their them they this to was we were what when which who will with you your'.split(' '),
);

/** FNV-1a, 32-bit, over UTF-16 code units, with a seed mixed into the offset basis. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Lower-cased words of letters and digits, diacritics removed. */
export function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0);
}

/**
 * The lexical embedding of `text` into `dim` dimensions: each word adds weight 1, each pair of adjacent words 0.5,
 * the character trigrams of `#word#` {@link TRIGRAM_WEIGHT} in all, spread evenly, at a hashed index with a hashed sign
 * (signed hashing keeps collisions from biasing similarities upward). Then sublinear term weighting
 * (sign(x)·log(1+|x|)) so a repeated word does not dominate, and L2 normalisation.
 * @throws RangeError if `dim` is not an integer in [8, 65536].
 */
export function lexicalEmbed(text: string, dim = LEXICAL_DIM): Float32Array {
  if (!Number.isInteger(dim) || dim < 8 || dim > 65536) throw new RangeError(`"dim" expected an integer in [8, 65536], got ${dim}`);
  if (typeof text !== 'string') throw new TypeError(`"text" expected a string, got ${typeof text}`);
  const v = new Float32Array(dim);
  const add = (feature: string, weight: number): void => {
    const h = fnv1a(feature, 0);
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
    v[h % dim] += sign * weight;
  };
  const ws = words(text).filter((w) => !STOP_WORDS.has(w));
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i];
    add('w:' + w, 1);
    if (i + 1 < ws.length) add('b:' + w + ' ' + ws[i + 1], 0.5);
    const padded = '#' + w + '#';
    const grams = Math.max(1, padded.length - 2);
    for (let j = 0; j + 3 <= padded.length; j++) add('c:' + padded.slice(j, j + 3), TRIGRAM_WEIGHT / grams);
  }
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    const x = v[i];
    const y = x === 0 ? 0 : Math.sign(x) * Math.log1p(Math.abs(x));
    v[i] = y;
    norm += y * y;
  }
  if (norm > 0) {
    const inv = 1 / Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i] *= inv;
  }
  return v;
}

/** The built-in embedder: {@link lexicalEmbed} at `dim` dimensions. */
export function lexicalEmbedder(dim = LEXICAL_DIM): Embedder {
  return { id: `hearth-lexical-v1-${dim}`, dim, kind: 'lexical', embed: (text) => lexicalEmbed(text, dim) };
}

/** Cosine similarity of two vectors of equal length (1 = same direction). 0 when either is all zeros. */
export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new RangeError(`vectors of different lengths: ${a.length} and ${b.length}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
