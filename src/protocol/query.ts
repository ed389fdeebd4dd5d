/** How the server normalises a query, for clients: the pages match each result's query to the
 * one they asked for (the server merges queries that normalise alike) and check lengths as the
 * server counts them. */
export { normalizeQuery } from '../domain/query.js';
