/**
 * Normalise query text before it is cached or compared: case, surrounding and repeated spaces,
 * and invisible format characters (zero-width spaces and joiners, byte-order marks, soft hyphens:
 * Unicode's Cf), which would otherwise make a query that looks empty, or two that look alike but
 * are not. Two clients asking for "Red  Circle" and "red\u200b circle" share one query.
 */
export function normalizeQuery(text: string): string {
  return text.normalize('NFKC').replace(/\p{Cf}+/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();
}
