/**
 * The HTTP API: health, the streams (list, add, remove) and, through `extra`, pages and metrics.
 * Errors are JSON `{ code, message }` with the catalog's status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STREAM_SPEC_KEYS, streamOptionProblem, type StreamSpec } from '../config/config.js';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { streamStats, type StreamEntry, type StreamManager } from './streams.js';
import { redactSecrets } from '../ingest/url-policy.js';

export interface ApiContext {
  streams: StreamManager;
  /** The server's state; `req` decides how much of it (see GroundstreamServer.health). */
  health(req: IncomingMessage): { status: string } & Record<string, unknown>;
  /** Body size limit for POSTs, bytes. */
  maxBodyBytes: number;
  maxStreams: number;
  /** Who made a request, for the log: the name of its token (`anonymous` without auth). */
  who(req: IncomingMessage): string;
  log?: { info(o: object, m: string): void };
}

export type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> | boolean;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** `e` (a 405), with the Allow header it needs (RFC 9110) set on `res`. */
export function notAllowed(res: ServerResponse, allow: string, e: GroundstreamError): GroundstreamError {
  res.setHeader('allow', allow);
  return e;
}

export function sendError(res: ServerResponse, e: unknown): void {
  if (isGroundstreamError(e)) {
    // RFC 9110: a 401 names its scheme
    if (e.code === 'AUTH_REQUIRED') res.setHeader('www-authenticate', 'Bearer realm="groundstream"');
    return sendJson(res, e.status, { code: e.code, message: e.message });
  }
  sendJson(res, 500, { code: 'INTERNAL', message: 'internal error' });
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new GroundstreamError('HTTP_BAD_REQUEST', `body over ${max} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new GroundstreamError('HTTP_BAD_REQUEST', 'body is not JSON');
  }
}

const SPEC_KEYS = new Set(STREAM_SPEC_KEYS);

function parseSpec(body: unknown): StreamSpec {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b !== 'object' || Array.isArray(b)) throw new GroundstreamError('HTTP_BAD_REQUEST', 'expected a JSON object');
  const unknown = Object.keys(b).filter((k) => !SPEC_KEYS.has(k));
  if (unknown.length) throw new GroundstreamError('HTTP_BAD_REQUEST', `unknown field ${JSON.stringify(unknown[0])} (allowed: ${[...SPEC_KEYS].join(', ')})`);
  if (typeof b.id !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/.test(b.id)) {
    throw new GroundstreamError('HTTP_BAD_REQUEST', '"id" must be a short id (letters, digits, . _ : -)');
  }
  if (typeof b.source !== 'string' || !b.source) throw new GroundstreamError('HTTP_BAD_REQUEST', '"source" must be a path, a URL or "push"');
  const problem = streamOptionProblem({ ...b, source: b.source });
  if (problem) throw new GroundstreamError('HTTP_BAD_REQUEST', problem);
  return {
    id: b.id,
    source: b.source,
    realtime: (b.realtime as boolean | undefined) ?? true,
    loop: (b.loop as boolean | undefined) ?? false,
    ...(b.live !== undefined ? { live: b.live as boolean } : {}),
    ...(b.onDemand === true ? { onDemand: true } : {}),
    ...(b.rtspTransport !== undefined ? { rtspTransport: b.rtspTransport as 'tcp' | 'udp' } : {}),
  };
}

/** A stream as GET /v1/streams and GET /v1/streams/:id show it. */
function describeStream(ctx: ApiContext, e: StreamEntry) {
  return {
    ...ctx.streams.info(e),
    source: redactSecrets(e.spec.source), // a watch-only token must not learn a camera's password
    subscribers: e.pipeline.subscribers,
    stats: streamStats(e),
    ...(e.status.error ? { error: { ...e.status.error, message: redactSecrets(e.status.error.message) } } : {}),
  };
}

export function apiHandler(ctx: ApiContext): Handler {
  /** Streams being added (opening takes a while): they hold their place under maxStreams. */
  let adding = 0;
  return async (req, res, url) => {
    const path = url.pathname;
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw notAllowed(res, 'GET, HEAD', new GroundstreamError('HTTP_METHOD_NOT_ALLOWED', `${req.method} ${path}`));
      // 503 while shutting down, so that a load balancer or a readiness probe stops sending clients
      const health = ctx.health(req);
      sendJson(res, health.status === 'ok' ? 200 : 503, health);
      return true;
    }
    // HEAD is answered as GET (Node's server leaves the body out)
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    if (path === '/v1/streams') {
      if (method === 'GET') {
        sendJson(res, 200, { streams: ctx.streams.list().map((e) => describeStream(ctx, e)) });
        return true;
      }
      if (method === 'POST') {
        const spec = parseSpec(await readJson(req, ctx.maxBodyBytes));
        if (ctx.streams.list().length + adding >= ctx.maxStreams) throw new GroundstreamError('LIMIT_STREAMS', `at most ${ctx.maxStreams}`);
        adding++;
        let e: StreamEntry;
        try {
          e = await ctx.streams.add(spec);
        } finally {
          adding--;
        }
        const by = ctx.who(req);
        ctx.log?.info({ stream: e.id, by }, `stream ${e.id}: added by ${by}`);
        sendJson(res, 201, ctx.streams.info(e));
        return true;
      }
      throw notAllowed(res, 'GET, HEAD, POST', new GroundstreamError('HTTP_METHOD_NOT_ALLOWED', `${req.method} ${path}`));
    }
    const m = /^\/v1\/streams\/([^/]+)$/.exec(path);
    if (m) {
      let id: string;
      try {
        id = decodeURIComponent(m[1]!);
      } catch {
        throw new GroundstreamError('HTTP_BAD_REQUEST', 'the stream id in the path is not valid percent-encoding');
      }
      if (method === 'DELETE') {
        if (!(await ctx.streams.remove(id))) throw new GroundstreamError('PROTOCOL_STREAM_UNKNOWN', JSON.stringify(id));
        const by = ctx.who(req);
        ctx.log?.info({ stream: id, by }, `stream ${id}: removed by ${by}`);
        res.writeHead(204).end();
        return true;
      }
      if (method === 'GET') {
        const e = ctx.streams.get(id);
        if (!e) throw new GroundstreamError('PROTOCOL_STREAM_UNKNOWN', JSON.stringify(id));
        sendJson(res, 200, describeStream(ctx, e));
        return true;
      }
      throw notAllowed(res, 'GET, HEAD, DELETE', new GroundstreamError('HTTP_METHOD_NOT_ALLOWED', `${req.method} ${path}`));
    }
    return false;
  };
}
