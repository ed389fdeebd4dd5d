/**
 * Normalise query text before it is cached or compared: case, surrounding and repeated spaces.
 * Two clients asking for "Red  Circle" and "red circle" share one query.
 */
export function normalizeQuery(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}
