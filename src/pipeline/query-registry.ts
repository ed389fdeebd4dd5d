/**
 * The queries of everyone watching one stream. The model runs once per frame on their union
 * (normalised, deduplicated); each subscriber then gets back only its own queries, above its own
 * threshold. Every change bumps the stream's version; each subscriber also has its own version,
 * which is what its results report (`queryVersion`), so a client knows when an update took effect.
 */
import { normalizeQuery } from '../domain/query.js';
import type { Detection } from '../domain/types.js';

export interface SubscriberQueries {
  /** Normalised, deduplicated. */
  queries: readonly string[];
  /** Score threshold for this subscriber; undefined = the model's default. */
  threshold?: number;
}

interface Entry extends SubscriberQueries {
  /** The subscriber's own version history: (its version, the stream version it took effect at). */
  history: { own: number; stream: number }[];
  own: ReadonlySet<string>;
  /** Same for subscribers who would see the same detections (queries and threshold). */
  key: string;
}

export function normalizeAll(texts: readonly string[]): string[] {
  return [...new Set(texts.map(normalizeQuery).filter((t) => t.length > 0))];
}

export class QueryRegistry {
  private readonly subs = new Map<string, Entry>();
  private _version = 0;
  private unionCache: { version: number; texts: string[]; thresholds: Record<string, number> } | null = null;

  constructor(private readonly defaultThreshold: number) {}

  /** Stream version: bumps on every add, update and removal. */
  get version(): number {
    return this._version;
  }

  get size(): number {
    return this.subs.size;
  }

  /** Adds or replaces a subscriber's queries; returns the subscriber's new own version (from 1). */
  set(id: string, q: SubscriberQueries): number {
    this._version++;
    const prev = this.subs.get(id);
    const own = (prev?.history.at(-1)?.own ?? 0) + 1;
    const history = [...(prev?.history ?? []), { own, stream: this._version }].slice(-8);
    const queries = normalizeAll(q.queries);
    const key = JSON.stringify([q.threshold ?? null, [...queries].sort()]);
    this.subs.set(id, { queries, threshold: q.threshold, history, own: new Set(queries), key });
    return own;
  }

  get(id: string): SubscriberQueries | undefined {
    return this.subs.get(id);
  }

  remove(id: string): boolean {
    const had = this.subs.delete(id);
    if (had) this._version++;
    return had;
  }

  /** The union of all queries, and for each the lowest threshold anyone asked for it with. */
  union(): { version: number; texts: string[]; thresholds: Record<string, number> } {
    if (this.unionCache?.version === this._version) return this.unionCache;
    const thresholds: Record<string, number> = {};
    for (const s of this.subs.values()) {
      const t = s.threshold ?? this.defaultThreshold;
      for (const q of s.queries) thresholds[q] = Math.min(thresholds[q] ?? Infinity, t);
    }
    this.unionCache = { version: this._version, texts: Object.keys(thresholds), thresholds };
    return this.unionCache;
  }

  /**
   * What subscriber `id` gets from a result computed at stream version `streamVersion`: its own
   * version then in force, and its own queries above its threshold. Null when the result predates
   * the subscriber (it is not told about frames computed before it joined).
   *
   * `shared`: one map per result; subscribers with the same queries and threshold then get the
   * same (read-only) array, which is filtered once and can be encoded once.
   */
  select<D extends Detection>(
    id: string,
    streamVersion: number,
    detections: readonly D[],
    shared?: Map<string, D[]>,
  ): { version: number; key: string; detections: D[] } | null {
    const s = this.subs.get(id);
    if (!s) return null;
    let h: { own: number; stream: number } | undefined;
    for (let i = s.history.length - 1; i >= 0 && !h; i--) if (s.history[i]!.stream <= streamVersion) h = s.history[i];
    if (!h) return null;
    let mine = shared?.get(s.key);
    if (!mine) {
      const t = s.threshold ?? this.defaultThreshold;
      // A result computed before the subscriber's latest update answers its older query set; the
      // older texts are not kept, so it gets the detections of the queries it still has.
      mine = detections.filter((d) => s.own.has(d.query) && d.score >= t);
      shared?.set(s.key, mine);
    }
    return { version: h.own, key: s.key, detections: mine };
  }
}
