/**
 * The pages' queries checked against the limits the server announces (`hello.limits`) before they
 * are sent: the server would refuse them anyway (PROTOCOL_INVALID_MESSAGE, QUERY_TOO_LONG), and
 * its refusal does not say which query it was. Pure.
 */
import { GroundstreamError, normalizeQuery, type HelloMessage } from '../client/index.js';

type QueryLimits = Pick<HelloMessage['limits'], 'maxQueries' | 'maxQueryLength'>;

/** A query as a message names it: quoted, long ones cut short. */
function quote(q: string): string {
  const chars = [...q];
  return JSON.stringify(chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : q);
}

/**
 * The first way `queries` break `limits`, naming the query, as the error the server would answer
 * with: QUERY_INVALID for more than `maxQueries` (counted as sent, duplicates included),
 * QUERY_TOO_LONG for one over `maxQueryLength` code points, before or after normalisation (NFKC
 * may lengthen it). Undefined when they are within them.
 */
export function queryLimitError(queries: readonly string[], limits: QueryLimits): GroundstreamError | undefined {
  if (queries.length > limits.maxQueries) {
    const extra = queries[limits.maxQueries]!;
    return new GroundstreamError('QUERY_INVALID', `${quote(extra)} is query ${limits.maxQueries + 1} of ${queries.length}; this server takes at most ${limits.maxQueries} in one subscription`);
  }
  for (const q of queries) {
    const length = Math.max([...q].length, [...normalizeQuery(q)].length);
    if (length > limits.maxQueryLength) {
      return new GroundstreamError('QUERY_TOO_LONG', `${quote(q)} is ${length} characters long; this server takes at most ${limits.maxQueryLength}`);
    }
  }
  return undefined;
}
