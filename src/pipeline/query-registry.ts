/**
 * The queries of everyone watching one stream. The model runs once per frame on their union
 * (normalised, deduplicated); each subscriber then gets back only its own queries, above its own
 * threshold. Every change bumps the stream's version; each subscriber also has its own version,
 * which is what its results report (`queryVersion`), so a client knows when an update took effect.
 */
import { normalizeQuery } from '../domain/query.js';
import { GroundstreamError } from '../errors.js';
import type { Detection } from '../domain/types.js';

export interface SubscriberQueries {
  /** Normalised, deduplicated. */
  queries: readonly string[];
  /** Score threshold for this subscriber; undefined = the model's default. */
  threshold?: number;
}

/** One of a subscriber's query sets, as it was from stream version `stream` on. */
interface Version {
  /** The subscriber's own version number (from 1). */
  own: number;
  stream: number;
  queries: ReadonlySet<string>;
  threshold: number;
  /** Same for subscribers who would see the same detections (queries and threshold). */
  key: string;
}

interface Entry extends SubscriberQueries {
  /** Its recent query sets, oldest first (a result is filtered with the one it was computed for). */
  history: Version[];
  /** Stream version at which it subscribed: older results are not for it. */
  joined: number;
}

/** Query sets kept per subscriber for results still in flight. */
const HISTORY = 16;

export function normalizeAll(texts: readonly string[]): string[] {
  return [...new Set(texts.map(normalizeQuery).filter((t) => t.length > 0))];
}

export class QueryRegistry {
  private readonly subs = new Map<string, Entry>();
  private _version = 0;
  private unionCache: { version: number; texts: string[]; thresholds: Record<string, number> } | null = null;

  /** `maxUnion`: the most distinct queries the model takes at once (all subscribers together). */
  constructor(
    private readonly defaultThreshold: number,
    private readonly maxUnion = Infinity,
  ) {}

  /** Stream version: bumps on every add, update and removal. */
  get version(): number {
    return this._version;
  }

  get size(): number {
    return this.subs.size;
  }

  /**
   * Adds or replaces a subscriber's queries; returns the subscriber's new own version (from 1).
   * Throws LIMIT_QUERIES, changing nothing, when the union would pass what the model takes: one
   * subscriber must not make every frame fail for everyone on the stream.
   */
  set(id: string, q: SubscriberQueries): number {
    const queries = normalizeAll(q.queries);
    if (Number.isFinite(this.maxUnion)) {
      const union = new Set(queries);
      for (const [other, e] of this.subs) if (other !== id) for (const t of e.queries) union.add(t);
      if (union.size > this.maxUnion) {
        throw new GroundstreamError('LIMIT_QUERIES', `${union.size} distinct queries on this stream with yours; the model takes at most ${this.maxUnion}`);
      }
    }
    this._version++;
    const prev = this.subs.get(id);
    const own = (prev?.history.at(-1)?.own ?? 0) + 1;
    const threshold = q.threshold ?? this.defaultThreshold;
    const key = JSON.stringify([q.threshold ?? null, [...queries].sort()]);
    const version: Version = { own, stream: this._version, queries: new Set(queries), threshold, key };
    const history = [...(prev?.history ?? []), version].slice(-HISTORY);
    this.subs.set(id, { queries, threshold: q.threshold, history, joined: prev?.joined ?? this._version });
    return own;
  }

  get(id: string): SubscriberQueries | undefined {
    return this.subs.get(id);
  }

  /** A subscriber's query set now: its own version, its key (see select()), and the stream
   * version from which it is in force. */
  current(id: string): { own: number; key: string; since: number } | undefined {
    const h = this.subs.get(id)?.history.at(-1);
    return h && { own: h.own, key: h.key, since: h.stream };
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
  ): { version: number; key: string; queries: ReadonlySet<string>; detections: D[] } | null {
    const s = this.subs.get(id);
    if (!s || streamVersion < s.joined) return null;
    // The query set in force when the result was computed: its version, its queries, its
    // threshold (a result answers what was asked then, labelled as such). Past the kept history,
    // the oldest kept stands in.
    let h = s.history[0]!;
    for (let i = s.history.length - 1; i >= 0; i--) {
      if (s.history[i]!.stream <= streamVersion) {
        h = s.history[i]!;
        break;
      }
    }
    let mine = shared?.get(h.key);
    if (!mine) {
      mine = detections.filter((d) => h.queries.has(d.query) && d.score >= h.threshold);
      shared?.set(h.key, mine);
    }
    return { version: h.own, key: h.key, queries: h.queries, detections: mine };
  }
}
