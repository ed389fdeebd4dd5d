/**
 * Which colour each query's boxes get. `color` in the URL follows the URL's queries, in order,
 * while results name the server's queries: normalised and de-duplicated (`q=red+square&q=Red+Square`
 * is one query there). Colours are therefore looked up by normalised query, never by position in
 * the server's list, which shifts when it merges duplicates.
 */
import { normalizeQuery } from '../client/index.js';
import { PALETTE } from './draw-boxes.js';

/**
 * The colour of a query, by the list asked for (`requested`, in the URL's or the text field's
 * order) and the `color` list that goes with it: the i-th query asked for takes the i-th colour; a
 * query without one takes the palette in order of the distinct queries (so with no colours given,
 * the server's n-th query is the palette's n-th colour). A query asked for twice keeps its first
 * colour. A query not asked for (normalised otherwise than here) takes the next palette colour.
 */
export function queryColors(requested: readonly string[], colors: readonly string[] = []): (query: string) => string {
  const byQuery = new Map<string, string>();
  requested.forEach((q, i) => {
    const key = normalizeQuery(q);
    if (!byQuery.has(key)) byQuery.set(key, colors[i] ?? PALETTE[byQuery.size % PALETTE.length]!);
  });
  return (query) => {
    const key = normalizeQuery(query);
    let color = byQuery.get(key);
    if (color === undefined) byQuery.set(key, (color = PALETTE[byQuery.size % PALETTE.length]!));
    return color;
  };
}

/**
 * The `color` list for a URL naming `queries` (the server's, de-duplicated) so that each keeps the
 * colour `colorOf` gives it now; the trailing ones the palette would give anyway are left out.
 */
export function colorsForUrl(queries: readonly string[], colorOf: (query: string) => string): string[] {
  const colors = queries.map(colorOf);
  while (colors.length > 0 && colors[colors.length - 1] === PALETTE[(colors.length - 1) % PALETTE.length]) colors.pop();
  return colors;
}
