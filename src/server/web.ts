/** Static pages (viewer at /, overlay at /overlay) and the browser client bundle. */
import type { Handler } from './http-api.js';

export function webHandler(): Handler {
  return (req, res, url) => {
    if (req.method !== 'GET' || (url.pathname !== '/' && url.pathname !== '/overlay')) return false;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>groundstream</title><p>groundstream is running. Pages arrive with the overlay and viewer issue.</p>');
    return true;
  };
}
