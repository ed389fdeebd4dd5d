/**
 * The pages' URL parameters (documented in docs/web.md), read once into frozen options. Pure, so
 * it is tested in Node. Parameters come from the query string and from the fragment (`#token=…`):
 * the fragment never reaches the server, so a token there stays out of access logs.
 */
import cssColors from 'color-name';

/** How source pixels map onto the overlay's viewport. */
export type Fit = 'contain' | 'cover' | 'stretch';

export interface PageOptions {
  /** Stream id (`stream`). Required by the overlay; the viewer preselects it. */
  readonly stream?: string;
  /** Queries (`q`, repeatable), in order. */
  readonly queries: readonly string[];
  /** Score threshold in [0, 1] (`threshold`). Default: the server's model threshold. */
  readonly threshold?: number;
  /** Results a second, at most (`maxRate`). Default: every processed frame. */
  readonly maxRate?: number;
  /** Box colours, one per query in order (`color`, repeatable); the palette fills in the rest. */
  readonly colors: readonly string[];
  /** Label text size, CSS pixels (`labelSize`). Default 16; 0 hides labels. */
  readonly labelSize: number;
  /** Box line width, CSS pixels (`lineWidth`). Default 3. */
  readonly lineWidth: number;
  /** Show the score in labels (`scores`). Default true. */
  readonly scores: boolean;
  /** Box smoothing in [0, 0.95] (`smoothing`): how much of the old box a box keeps over 1/30 s (BoxSmoother). Default 0.3; 0 is off. */
  readonly smoothing: number;
  /** Clear boxes when no result came for this long, ms (`hold`). Default 3000. */
  readonly hold: number;
  /** Mapping of the video onto the page (`fit`). Default contain. */
  readonly fit: Fit;
  /** Bearer token (`token`; put it in the fragment). */
  readonly token?: string;
}

export const PAGE_DEFAULTS = Object.freeze({ labelSize: 16, lineWidth: 3, scores: true, smoothing: 0.3, hold: 3000, fit: 'contain' as Fit });

/** The options read, with defaults in place of bad values, and what was wrong (empty when all was well). */
export interface ParseResult {
  readonly options: PageOptions;
  readonly errors: readonly string[];
  /** Parameters the pages do not read and that look like none they do (a cache-buster such as
   * `v=2`, a tracking tag): left alone, and only logged. */
  readonly ignored: readonly string[];
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const HEX = /^#?([0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const FUNC = /^(rgb|rgba|hsl|hsla)\(\s*[-\d.%\s,/]+\)$/i;

/** A CSS colour from a URL: `#rrggbb`, `rrggbb` (no `#`, which URLs reserve), `rgb(…)`, `hsl(…)` or a CSS colour name. */
export function parseColor(value: string): string | undefined {
  const v = value.trim();
  if (HEX.test(v)) return v.startsWith('#') ? v : `#${v}`;
  if (FUNC.test(v)) return v;
  // a name: one CSS knows (a typo would leave the canvas drawing in the previous colour)
  const name = v.toLowerCase();
  return Object.hasOwn(cssColors, name) ? name : undefined;
}

/** The parameters the pages read; any other is reported as a mistake (a misspelt one would
 * otherwise be dropped without a word). */
export const PARAM_NAMES: readonly string[] = Object.freeze(['stream', 'q', 'threshold', 'maxRate', 'color', 'labelSize', 'lineWidth', 'scores', 'smoothing', 'hold', 'fit', 'token']);

/** Query and fragment parameters together; the fragment wins. The fragment is read as a query
 * string is (`+` a space, %-escapes), but for `token`, whose `+` is a plus: tokens are often
 * base64, and people paste them as they are. */
export function pageParams(search: string, hash: string): URLSearchParams {
  const out = new URLSearchParams(search);
  const frag = fragmentParams(hash.replace(/^#/, ''));
  for (const key of new Set(frag.map(([k]) => k))) out.delete(key);
  for (const [k, v] of frag) out.append(k, v);
  return out;
}

/** A fragment that fragmentParams() reads back as `entries` (every character but the unreserved
 * ones %-escaped, spaces and plus signs included). */
export function fragmentString(entries: Iterable<readonly [string, string]>): string {
  return [...entries].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
}

/** The fragment's parameters, in order (see pageParams). */
export function fragmentParams(fragment: string): [string, string][] {
  const decode = (s: string, plusIsSpace: boolean) => {
    const text = plusIsSpace ? s.replace(/\+/g, ' ') : s;
    try {
      return decodeURIComponent(text);
    } catch {
      return text; // a lone % (not an escape): as typed
    }
  };
  return fragment
    .split('&')
    .filter((part) => part.length > 0)
    .map((part): [string, string] => {
      const at = part.indexOf('=');
      const key = decode(at < 0 ? part : part.slice(0, at), true);
      return [key, at < 0 ? '' : decode(part.slice(at + 1), key !== 'token')];
    });
}

/** The fragment a page's rewritten address keeps: the token alone. Every other setting moves to
 * the query string, where the page writes what it uses now; one left in the fragment would win
 * over it on a reload. */
export function keptFragment(hash: string): string {
  const token = fragmentParams(hash.replace(/^#/, '')).filter(([k]) => k === 'token');
  return token.length ? `#${fragmentString(token)}` : '';
}

/**
 * Queries from text: split at commas (also semicolons and line breaks), trimmed, empty ones
 * dropped. The viewer's text field and `q` in the URL are read alike: `q=red+square,purple+circle`
 * is two queries, as typing "red square, purple circle" is.
 */
export function splitQueries(text: string): string[] {
  return text
    .split(/[,;\n]/)
    .map((q) => q.trim())
    .filter((q) => q.length > 0);
}

/** Edit distance (insertions, deletions, substitutions), for "did you mean". */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/** The known parameter an unknown one looks like, if any: the same but for case, or one or two
 * letters off a longer name (`treshold`, `labelsize`, `colour`, `Fit`). */
export function nearParam(key: string): string | undefined {
  const lower = key.toLowerCase();
  return (
    PARAM_NAMES.find((k) => k.toLowerCase() === lower) ??
    PARAM_NAMES.map((k) => ({ k, d: editDistance(lower, k.toLowerCase()) }))
      // (a name of one or two letters is a near miss of nearly anything short: `v` is not `q`)
      .filter(({ k, d }) => d <= (k.length > 4 ? 2 : k.length > 2 ? 1 : 0))
      .sort((x, y) => x.d - y.d)[0]?.k
  );
}

/**
 * Reads the page options. `requireStream`: the overlay needs `stream` and at least one `q`.
 * Every bad value is reported, not just the first, and replaced by its default.
 */
export function parsePageOptions(params: URLSearchParams, requireStream = false): ParseResult {
  const errors: string[] = [];
  const num = (key: string, min: number, max: number, fallback?: number): number | undefined => {
    const raw = params.get(key);
    if (raw === null || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      errors.push(`${key} must be a number in [${min}, ${max}], got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const raw = params.get(key);
    if (raw === null) return fallback;
    if (/^(1|true|yes|on|)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    errors.push(`${key} must be 1 or 0, got ${JSON.stringify(raw)}`);
    return fallback;
  };

  const stream = params.get('stream') ?? undefined;
  const badStream = stream !== undefined && !ID.test(stream);
  if (badStream) errors.push(`stream must be a stream id, got ${JSON.stringify(stream)}`);
  if (requireStream && stream === undefined) errors.push('stream is required, e.g. ?stream=demo');
  // A misspelt parameter is an error (the page would quietly run without it); one that looks like
  // none of ours (`v=2` to make OBS reload the page) is left alone.
  const ignored: string[] = [];
  for (const key of new Set(params.keys())) {
    if (PARAM_NAMES.includes(key)) continue;
    const near = nearParam(key);
    if (near) errors.push(`unknown parameter ${JSON.stringify(key)} (did you mean ${near}?)`);
    else ignored.push(key);
  }
  const queries = params.getAll('q').flatMap(splitQueries);
  if (requireStream && queries.length === 0) errors.push('at least one q is required, e.g. &q=red+circle');
  const colors: string[] = [];
  for (const c of params.getAll('color')) {
    const parsed = parseColor(c);
    if (parsed) colors.push(parsed);
    else errors.push(`color ${JSON.stringify(c)} is not a colour (write #rrggbb as %23rrggbb or rrggbb)`);
  }
  const fit = params.get('fit') ?? PAGE_DEFAULTS.fit;
  if (fit !== 'contain' && fit !== 'cover' && fit !== 'stretch') errors.push(`fit must be contain, cover or stretch, got ${JSON.stringify(fit)}`);
  const token = params.get('token') ?? undefined;

  const options: PageOptions = Object.freeze({
    ...(stream !== undefined && !badStream ? { stream } : {}),
    queries: Object.freeze(queries),
    ...optional('threshold', num('threshold', 0, 1)),
    ...optional('maxRate', num('maxRate', 0.1, 120)),
    colors: Object.freeze(colors),
    labelSize: num('labelSize', 0, 200, PAGE_DEFAULTS.labelSize)!,
    lineWidth: num('lineWidth', 0.5, 50, PAGE_DEFAULTS.lineWidth)!,
    scores: bool('scores', PAGE_DEFAULTS.scores),
    smoothing: num('smoothing', 0, 0.95, PAGE_DEFAULTS.smoothing)!,
    hold: num('hold', 0, 3_600_000, PAGE_DEFAULTS.hold)!,
    fit: fit === 'cover' || fit === 'stretch' ? fit : 'contain',
    ...(token ? { token } : {}),
  });
  return { options, errors, ignored };
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/** Page options an overlay URL carries when they differ from the defaults. */
export type OverlayStyle = Partial<Pick<PageOptions, 'labelSize' | 'lineWidth' | 'scores' | 'smoothing' | 'hold' | 'fit' | 'maxRate'>>;

/**
 * The overlay URL (relative to the server root) for these settings, styles that differ from the
 * defaults included; a token goes in the fragment, which browsers never send to the server.
 */
export function overlayUrl(o: PageQuery & { token?: string }): string {
  return `overlay?${pageQuery(o)}${o.token ? `#${fragmentString([['token', o.token]])}` : ''}`;
}

export interface PageQuery {
  stream: string;
  queries: readonly string[];
  threshold?: number;
  colors?: readonly string[];
  style?: OverlayStyle;
}

/** The query string (no `?`) of a page showing these settings: what differs from the defaults. */
export function pageQuery(o: PageQuery): string {
  const p = new URLSearchParams({ stream: o.stream });
  for (const q of o.queries) p.append('q', q);
  if (o.threshold !== undefined) p.set('threshold', String(o.threshold));
  for (const c of o.colors ?? []) p.append('color', c.replace(/^#/, ''));
  const defaults: Record<string, unknown> = PAGE_DEFAULTS;
  for (const [k, v] of Object.entries(o.style ?? {})) {
    if (v !== undefined && v !== defaults[k]) p.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
  }
  return p.toString();
}
