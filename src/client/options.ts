/** Client options: defaults filled in and checked once, then frozen. */
import { GroundstreamError } from '../protocol/protocol-error.js';
import { WS_PATH } from '../protocol/version.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { WebSocketConstructor } from './websocket.js';

export interface HeartbeatOptions {
  /** Send a `ping` this often while connected, ms. Default 15000. */
  readonly intervalMs: number;
  /** Drop the connection (and reconnect) when nothing arrived for intervalMs + timeoutMs. Default 10000. */
  readonly timeoutMs: number;
}

export interface GroundstreamClientOptions {
  /**
   * Server address: `ws(s)://` or `http(s)://`, absolute or (in a browser) relative to the page.
   * A bare origin gets the protocol path (`/v1/ws`) appended.
   */
  readonly url: string;
  /** Bearer token, or a function asked before every (re)connect so it can be refreshed. */
  readonly token?: string | (() => string | Promise<string>);
  /** WebSocket constructor. Default: globalThis.WebSocket, else the `ws` package (Node). */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnect backoff (see BackoffOptions for defaults); `false` never reconnects. */
  readonly reconnect?: Partial<BackoffOptions> | false;
  /** Liveness pings (see HeartbeatOptions for defaults); `false` turns them off. */
  readonly heartbeat?: Partial<HeartbeatOptions> | false;
  /** Give up on a connection attempt when `hello` has not arrived in this many ms. Default 10000. */
  readonly helloTimeoutMs?: number;
  /** pushFrame() drops frames while more than this many bytes wait to be sent. Default 4194304. */
  readonly pushHighWaterMark?: number;
}

export interface ResolvedClientOptions {
  readonly url: string;
  readonly token?: string | (() => string | Promise<string>);
  readonly WebSocket?: WebSocketConstructor;
  readonly reconnect: BackoffOptions;
  readonly heartbeat: HeartbeatOptions | false;
  readonly helloTimeoutMs: number;
  readonly pushHighWaterMark: number;
}

const DEFAULT_HEARTBEAT: HeartbeatOptions = Object.freeze({ intervalMs: 15_000, timeoutMs: 10_000 });

function invalid(detail: string): never {
  throw new GroundstreamError('CONFIG_INVALID', detail);
}

function checkNumber(name: string, value: number, min: number, max = Infinity): void {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    invalid(`client option ${name} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
}

/** The WebSocket URL for `url`; throws CONFIG_INVALID for anything but ws(s)/http(s). */
export function endpointUrl(url: string): string {
  let u: URL;
  try {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    u = new URL(url, base);
  } catch {
    return invalid(`client option url is not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') invalid(`client option url must be ws(s) or http(s), got ${u.protocol}`);
  if (u.pathname === '' || u.pathname === '/') u.pathname = WS_PATH;
  return u.toString();
}

export function resolveClientOptions(o: GroundstreamClientOptions): ResolvedClientOptions {
  const reconnect: BackoffOptions =
    o.reconnect === false ? { ...DEFAULT_BACKOFF, maxAttempts: 0 } : { ...DEFAULT_BACKOFF, ...o.reconnect };
  checkNumber('reconnect.initialMs', reconnect.initialMs, 0);
  checkNumber('reconnect.maxMs', reconnect.maxMs, reconnect.initialMs);
  checkNumber('reconnect.factor', reconnect.factor, 1);
  checkNumber('reconnect.jitter', reconnect.jitter, 0, 1);
  checkNumber('reconnect.maxAttempts', reconnect.maxAttempts, 0);
  const heartbeat = o.heartbeat === false ? false : { ...DEFAULT_HEARTBEAT, ...o.heartbeat };
  if (heartbeat) {
    checkNumber('heartbeat.intervalMs', heartbeat.intervalMs, 1, 2 ** 31 - 1);
    checkNumber('heartbeat.timeoutMs', heartbeat.timeoutMs, 1, 2 ** 31 - 1);
  }
  const helloTimeoutMs = o.helloTimeoutMs ?? 10_000;
  checkNumber('helloTimeoutMs', helloTimeoutMs, 1, 2 ** 31 - 1);
  const pushHighWaterMark = o.pushHighWaterMark ?? 4 * 1024 * 1024;
  checkNumber('pushHighWaterMark', pushHighWaterMark, 0);
  return Object.freeze({
    url: endpointUrl(o.url),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(o.WebSocket !== undefined ? { WebSocket: o.WebSocket } : {}),
    reconnect: Object.freeze(reconnect),
    heartbeat: heartbeat && Object.freeze(heartbeat),
    helloTimeoutMs,
    pushHighWaterMark,
  });
}
