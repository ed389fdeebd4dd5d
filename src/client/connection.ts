/**
 * One logical connection over many WebSockets: opens one, notices when it dies (close event,
 * silence past the heartbeat, no `hello` in time), and opens the next after an exponential
 * backoff with jitter. Knows nothing of messages beyond sending pings; the client tells it when
 * `hello` arrived (ready()) and gets everything received through `events.data`.
 */
import { clientSubprotocols } from '../protocol/auth.js';
import { CLOSE_CODES, isFatalCloseCode } from '../protocol/close-codes.js';
import { encodeClientMessage } from '../protocol/encode.js';
import { GroundstreamError } from '../protocol/protocol-error.js';
import { backoffDelay } from './backoff.js';
import type { ResolvedClientOptions } from './options.js';
import { ConnectionLostError, ConnectionRejectedError } from './remote-error.js';
import { resolveWebSocket, WS_OPEN, type WebSocketLike } from './websocket.js';

/**
 * `idle` until start(); `connecting` for the first attempt; `open` once ready() (after `hello`);
 * `reconnecting` while waiting out a backoff or retrying; `closed` for good (close(), a refused
 * connection, or reconnects exhausted).
 */
export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionEvents {
  state(state: ConnectionState): void;
  /** A message arrived: a string (text) or an ArrayBuffer (binary). */
  data(data: unknown): void;
  /** Trouble worth reporting that a reconnect will handle (a token function threw, ...). */
  trouble(error: Error): void;
  /** Closed for good; `error` says why unless close() was called. Called once. */
  closed(error: Error | undefined): void;
}

export class Connection {
  private current: ConnectionState = 'idle';
  private socket: WebSocketLike | undefined;
  /** Consecutive failed attempts since the last ready(). */
  private attempt = 0;
  private lastReceivedAt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** Fires when nothing has arrived for intervalMs + timeoutMs (re-armed for the time left). */
  private silenceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly events: ConnectionEvents,
  ) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** Bytes queued on the open socket but not yet sent; Infinity when there is none. */
  get bufferedAmount(): number {
    return this.current === 'open' && this.socket ? this.socket.bufferedAmount : Infinity;
  }

  /** Open the first socket; no-op unless idle. */
  start(): void {
    if (this.current !== 'idle') return;
    this.setState('connecting');
    void this.open();
  }

  /** `hello` arrived on the current socket: the connection is usable, backoff starts over. */
  ready(): void {
    clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.attempt = 0;
    this.lastClose = undefined;
    this.startHeartbeat();
    this.setState('open');
  }

  /** Send on the current socket; false when there is none open. */
  send(data: string | Uint8Array): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== WS_OPEN) return false;
    try {
      socket.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** Close for good (idempotent); with `error`, as a failure. */
  close(error?: Error): void {
    if (this.current === 'closed') return;
    const socket = this.socket;
    this.detach();
    clearTimeout(this.reconnectTimer);
    try {
      socket?.close(CLOSE_CODES.NORMAL, 'client closed');
    } catch {
      // already closing
    }
    this.setState('closed');
    this.events.closed(error);
  }

  private setState(state: ConnectionState): void {
    if (this.current === state || this.current === 'closed') return;
    this.current = state;
    this.events.state(state);
  }

  private async open(): Promise<void> {
    let Ctor;
    let token: string | undefined;
    try {
      Ctor = await resolveWebSocket(this.options.WebSocket);
    } catch (e) {
      return this.close(e as Error);
    }
    try {
      const t = this.options.token;
      token = typeof t === 'function' ? await t() : t;
    } catch (e) {
      this.events.trouble(e instanceof Error ? e : new Error(String(e)));
      return this.retry();
    }
    if (this.current === 'closed') return;

    let socket: WebSocketLike;
    try {
      socket = new Ctor(this.options.url, clientSubprotocols(token));
      socket.binaryType = 'arraybuffer';
    } catch (e) {
      this.events.trouble(e as Error);
      return this.retry();
    }
    this.socket = socket;
    this.helloTimer = setTimeout(() => this.abandon(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'no hello in time'), this.options.helloTimeoutMs);
    socket.onmessage = (event: { data: unknown }) => {
      if (socket !== this.socket) return;
      this.lastReceivedAt = Date.now();
      this.events.data(event.data);
    };
    socket.onclose = (event: { code: number; reason?: string }) => {
      if (socket === this.socket) this.lost(event.code, event.reason ?? '');
    };
    socket.onerror = () => undefined; // a close event follows; ws throws on errors nobody listens to
  }

  /** Stop using the current socket now: a dead peer may never finish the close handshake. */
  private abandon(code: number, reason: string): void {
    const socket = this.socket;
    if (!socket) return;
    this.detach();
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
    this.lost(code, reason);
  }

  private detach(): void {
    const socket = this.socket;
    if (socket) {
      socket.onmessage = null;
      socket.onclose = null;
      socket.onopen = null;
      socket.onerror = () => undefined;
    }
    this.socket = undefined;
    clearTimeout(this.helloTimer);
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.silenceTimer);
    this.helloTimer = undefined;
    this.heartbeatTimer = undefined;
    this.silenceTimer = undefined;
  }

  private lost(code: number, reason: string): void {
    this.detach();
    if (this.current === 'closed') return;
    if (isFatalCloseCode(code)) {
      return this.close(new ConnectionRejectedError(code, reason));
    }
    // A close the server explains (1013 "at most 3 clients from one address") is said on errors$,
    // and kept for the error that ends the retries; a restart (1001) or a plain drop (1006) is not news.
    this.lastClose = code !== CLOSE_CODES.GOING_AWAY && code !== 1005 && code !== 1006 && code !== CLOSE_CODES.NORMAL ? new ConnectionLostError(code, reason) : undefined;
    if (this.lastClose) this.events.trouble(this.lastClose);
    this.retry();
  }

  /** The last close the server explained, since the last connection that got its hello. */
  private lastClose: ConnectionLostError | undefined;

  private retry(): void {
    if (this.current === 'closed') return; // close() came while a token was being fetched
    const backoff = this.options.reconnect;
    if (this.attempt >= backoff.maxAttempts) {
      const n = this.attempt;
      const said = n === 0 ? 'the connection failed or was lost, and reconnecting is off' : `${n} ${n === 1 ? 'retry' : 'retries'} failed, after the connection failed or was lost`;
      const last = this.lastClose ? `; the server last said ${this.lastClose.message}` : '';
      return this.close(new GroundstreamError('CLIENT_RECONNECT_EXHAUSTED', said + last, ...(this.lastClose ? [{ cause: this.lastClose }] : [])));
    }
    const delay = backoffDelay(this.attempt, backoff);
    this.attempt++;
    this.setState('reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, delay);
  }

  private startHeartbeat(): void {
    const hb = this.options.heartbeat;
    if (!hb) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => this.send(encodeClientMessage({ type: 'ping', t: Date.now() })), hb.intervalMs);
    // Silence is judged on its own clock, not on the ping ticks (which would let it last up to
    // one more interval): one timer, re-armed for the time left, nothing done per message.
    const limit = hb.intervalMs + hb.timeoutMs;
    const check = () => {
      const left = this.lastReceivedAt + limit - Date.now();
      if (left <= 0) return this.abandon(CLOSE_CODES.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      this.silenceTimer = setTimeout(check, left + 1);
    };
    clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(check, Math.max(1, this.lastReceivedAt + limit - Date.now()));
  }
}
