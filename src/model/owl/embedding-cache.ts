/**
 * The text embeddings of queries seen so far, least recently used first out, kept in a few large
 * Float32Arrays (slabs of SLAB_ROWS rows) instead of one small array per query.
 *
 * Why slabs: a cache of small typed arrays gives the JavaScript heap one long-lived object (and one
 * array buffer outside it) per query. Query sets that keep changing (a never-seen query every few
 * frames) then keep adding survivors to V8's young generation, which V8 answers by doubling the
 * young generation: RSS stepped by about 20 MB after 5,000 to 19,000 detect() calls (bench:
 * memory). Here a new query costs its key string and a row in a slab; the LRU order holds row
 * numbers (small integers, which V8 does not allocate).
 *
 * A row is reused as soon as its query is evicted, so readers copy what they need before they
 * await anything (copyTo).
 */
import { LRUCache } from 'lru-cache';

/** Rows per slab: slabs are allocated as the cache fills, so a small cache of a wide model does
 * not reserve its whole size up front. */
const SLAB_ROWS = 256;

export class EmbeddingCache {
  private readonly rows: LRUCache<string, number>;
  private readonly slabs: Float32Array[] = [];
  /** Rows given back by evicted queries. */
  private readonly freeRows: number[] = [];
  /** Rows handed out so far (the next new one). */
  private used = 0;
  private dimension = 0;

  constructor(readonly max: number) {
    this.rows = new LRUCache<string, number>({ max, dispose: (row) => this.freeRows.push(row) });
  }

  /** Floats per embedding (0 until the first is stored). */
  get dim(): number {
    return this.dimension;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Copies the embedding of `text` into `out` at `offset` and returns true, or returns false when
   * it is not cached. */
  copyTo(text: string, out: Float32Array, offset: number): boolean {
    const row = this.rows.get(text);
    if (row === undefined) return false;
    const d = this.dimension;
    const slab = this.slabs[(row / SLAB_ROWS) | 0]!;
    const at = (row % SLAB_ROWS) * d;
    for (let k = 0; k < d; k++) out[offset + k] = slab[at + k]!;
    return true;
  }

  /** Stores `source[offset .. offset + dim)` as the embedding of `text`. */
  set(text: string, source: Float32Array, offset: number, dim: number): void {
    if (this.dimension !== dim) {
      // (one model, one width: a change means a new model, and nothing cached applies to it)
      this.clear();
      this.dimension = dim;
    }
    let row = this.rows.get(text);
    if (row === undefined) {
      // set() first, so an eviction it causes frees a row before one is taken
      this.rows.set(text, -1);
      row = this.freeRows.pop() ?? this.used++;
      this.rows.set(text, row, { noDisposeOnSet: true });
    }
    const k = (row / SLAB_ROWS) | 0;
    // (the last slab holds only the rows the cache can reach: a cache of 3 takes 3 rows, not 256)
    const slab = (this.slabs[k] ??= new Float32Array(Math.min(SLAB_ROWS, this.max - k * SLAB_ROWS) * dim));
    slab.set(source.subarray(offset, offset + dim), (row % SLAB_ROWS) * dim);
  }

  clear(): void {
    this.rows.clear();
    this.slabs.length = 0;
    this.freeRows.length = 0;
    this.used = 0;
  }
}
