/**
 * The server's stream API (docs/http-api.md) for SDK users: list, add and remove streams over
 * HTTP with the client's own address and token, so that an app that pushes frames, or a test
 * harness that replays a clip, needs no HTTP code of its own. Uses the platform's fetch (browsers,
 * Node 20).
 */
import type { StreamInfo } from '../protocol/messages.js';
import { GroundstreamError } from '../protocol/protocol-error.js';
import { ID_PATTERN, isValidId } from '../protocol/limits.js';
import { WS_PATH } from '../protocol/version.js';
import { RemoteError } from './remote-error.js';

/** What `POST /v1/streams` takes (docs/http-api.md, "Adding a stream"). */
export interface StreamSpec {
  /** 1-64 characters: letters, digits, `.` `_` `:` `-`, starting with a letter or digit. */
  readonly id: string;
  /** A file path the server may read, a URL (`rtsp://`, `http(s)://`), or `push`. */
  readonly source: string;
  /** Files and finite URLs: play at the video's own rate (default true). */
  readonly realtime?: boolean;
  /** Files: start again at the end (default false). */
  readonly loop?: boolean;
  /** URLs: a live stream (default true), or false for a video file served over HTTP(S). */
  readonly live?: boolean;
  /** Live URLs and devices: open the source only while someone is subscribed (default false). */
  readonly onDemand?: boolean;
  /** RTSP: 'tcp' (default) or 'udp', for cameras that refuse TCP. */
  readonly rtspTransport?: 'tcp' | 'udp';
}

/** A stream as `GET /v1/streams` describes it. */
export interface StreamDetails extends StreamInfo {
  /** The source, camera credentials masked. */
  readonly source: string;
  readonly subscribers: number;
  readonly stats: {
    readonly framesIn: number;
    readonly framesProcessed: number;
    readonly framesDropped: number;
    readonly framesIdle: number;
    readonly inferenceErrors: number;
  };
  /** Why the source is in trouble, when it is. */
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * Where the HTTP API of a `ws(s)://` endpoint is: beside the WebSocket, under the same path prefix
 * (a proxy that mounts the server at `/gs/` serves `/gs/v1/ws` and `/gs/v1/streams`). The
 * endpoint's query string is not carried over.
 */
export function apiBase(endpoint: string): string {
  const u = new URL(endpoint);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  const prefix = u.pathname.endsWith(WS_PATH) ? u.pathname.slice(0, -WS_PATH.length) : u.pathname.replace(/\/$/, '');
  return u.origin + prefix;
}

/** The path of one stream. An id that is not one (`.` and `..` would even be taken by fetch as
 * steps in the path, and reach another resource) is refused here: PROTOCOL_STREAM_UNKNOWN. */
function streamPath(id: string): string {
  if (typeof id !== 'string' || !isValidId(id, 255)) {
    throw new GroundstreamError('PROTOCOL_STREAM_UNKNOWN', `${JSON.stringify(id)} is not a stream id (${ID_PATTERN})`);
  }
  return `/v1/streams/${encodeURIComponent(id)}`;
}

export class StreamsApi {
  constructor(
    private readonly endpoint: string,
    private readonly token: () => Promise<string | undefined>,
  ) {}

  /** Every stream. Needs the `watch` right where tokens are required. */
  async list(): Promise<StreamDetails[]> {
    return ((await this.call('GET', '/v1/streams')) as { streams: StreamDetails[] }).streams;
  }

  /** One stream; RemoteError PROTOCOL_STREAM_UNKNOWN when there is none by that id. */
  async get(id: string): Promise<StreamDetails> {
    return (await this.call('GET', streamPath(id))) as StreamDetails;
  }

  /**
   * Adds a stream (the `manage` right); resolves with it as it is now (usually `connecting`).
   * RemoteError with the server's code when refused: STREAM_EXISTS, LIMIT_STREAMS,
   * INGEST_PATH_REFUSED, INGEST_PROTOCOL_REFUSED, HTTP_BAD_REQUEST for a bad field, ...
   */
  async add(spec: StreamSpec): Promise<StreamInfo> {
    return (await this.call('POST', '/v1/streams', spec)) as StreamInfo;
  }

  /** Stops and removes a stream (the `manage` right); its subscribers get `unsubscribed`. */
  async remove(id: string): Promise<void> {
    await this.call('DELETE', streamPath(id));
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const token = await this.token();
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(apiBase(this.endpoint) + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    } catch (e) {
      throw new GroundstreamError('CLIENT_HTTP_FAILED', `${method} ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const err = json as { code?: unknown; message?: unknown } | undefined;
      const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
      const message = typeof err?.message === 'string' ? err.message : `${method} ${path}: ${res.status} ${res.statusText}`;
      throw new RemoteError({ code, message }, res.status);
    }
    return json;
  }
}
