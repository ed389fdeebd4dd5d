/**
 * The one door to the `ws` server: upgrades on one path, keep-alive pings, and plain callbacks
 * for the session layer. A client that misses two pings in a row is terminated.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE_CODES, SUBPROTOCOL } from '../protocol/index.js';
import { framedTarget, writeQueuedFrames, type FramedTarget } from './text-frames.js';

export interface WsHandlers {
  /**
   * Accept or refuse an upgrade (auth, origin, client limit): null accepts; `{ close, reason }`
   * completes the handshake and closes at once with that code, so that browsers, which cannot see
   * an HTTP refusal, learn why.
   */
  accept?(req: IncomingMessage): { close: number; reason: string; why?: string } | null;
  /** A client was refused once its handshake completed: `why` is accept()'s, or 'protocol' for
   * another version of the protocol. (An upgrade ws itself rejects, a malformed one, is not.) */
  refused?(why: string): void;
  /** `out`: where to send this client's messages (text goes out pre-framed: text-frames.ts). */
  open(socket: WebSocket, req: IncomingMessage, out: FramedTarget): {
    text(data: Buffer): void;
    binary(data: Buffer): void;
    close(code: number): void;
  };
}

export interface WsOptions {
  path: string;
  /** Largest message accepted, bytes (ws closes the socket with 1009 above it). */
  maxPayload: number;
  pingIntervalMs: number;
  /** See LagProbe (lag-probe.ts). */
  maxLagMs?: number;
}

/** Another version of our subprotocol (`groundstream.v2`): not ours, not a bearer token entry. */
const isOtherVersion = (p: string) => p !== SUBPROTOCOL && /^groundstream\.v\d+$/.test(p);

/** How long a refused client has to answer the close frame before its socket is dropped, ms. */
const REFUSED_CLOSE_MS = 1000;

/** Closes a refused connection with `code`. A client that never answers the close would hold its
 * socket for ws's 30 s closing timeout, and a cap on connections would then cap nothing (hundreds
 * of refused sockets from one address): it is dropped after REFUSED_CLOSE_MS. */
function refuse(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  const drop = setTimeout(() => ws.terminate(), REFUSED_CLOSE_MS);
  ws.once('close', () => clearTimeout(drop));
}

export function attachWebSocket(server: Server, opts: WsOptions, handlers: WsHandlers) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload,
    // (off: results are small and sent to many; text-frames.ts also relies on it)
    perMessageDeflate: false,
    // Browsers drop a connection whose offered subprotocol is not echoed: select ours when
    // offered (the token rides as a second subprotocol and is never echoed back). A client that
    // offers only another version of ours gets that one echoed, so that the handshake completes
    // and it can be told why it is refused: close 4010 (see the upgrade callback).
    handleProtocols: (offered) => {
      if (offered.has(SUBPROTOCOL)) return SUBPROTOCOL;
      return [...offered].find(isOtherVersion) ?? false;
    },
  });
  /** Pings sent since the last pong, per socket. */
  const missed = new WeakMap<WebSocket, number>();
  const targets = new WeakMap<WebSocket, FramedTarget>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== opts.path) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const refusal = handlers.accept?.(req) ?? null;
    wss.handleUpgrade(req, socket, head, (ws) => {
      // First, before any refusal: a bad frame that arrives while a refused socket closes makes
      // ws emit 'error', which would throw with no listener.
      ws.on('error', () => ws.terminate());
      if (refusal) {
        if (refusal.why) handlers.refused?.(refusal.why);
        return refuse(ws, refusal.close, refusal.reason.slice(0, 120));
      }
      if (isOtherVersion(ws.protocol)) {
        handlers.refused?.('protocol');
        return refuse(ws, CLOSE_CODES.UNSUPPORTED_PROTOCOL, `${ws.protocol} is not spoken here; this server speaks ${SUBPROTOCOL}`);
      }
      missed.set(ws, 0);
      ws.on('pong', () => missed.set(ws, 0));
      const target = framedTarget(ws, socket, opts.maxLagMs);
      targets.set(ws, target);
      const h = handlers.open(ws, req, target);
      ws.on('message', (data, isBinary) => {
        const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
        if (isBinary) h.binary(buf);
        else h.text(buf);
      });
      ws.on('close', (code) => h.close(code));
    });
  };
  server.on('upgrade', onUpgrade);

  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (ws.isPaused) {
        // we stopped reading it (its messages wait to be handled): its pongs are unread, not missing
        missed.set(ws, 0);
        continue;
      }
      const n = missed.get(ws) ?? 0;
      if (n >= 2) {
        ws.terminate(); // two pings in a row went unanswered
        continue;
      }
      missed.set(ws, n + 1);
      // (a lag probe: a client that answers only the newest of its pings answers those too)
      const t = targets.get(ws);
      if (t) t.lag.heartbeat();
      else ws.ping();
    }
  }, opts.pingIntervalMs);
  timer.unref();

  return {
    get clients(): number {
      return wss.clients.size;
    },
    /** Closes every client with `code` (1001 going away on shutdown) and stops accepting. */
    close(code = 1001, reason = 'server shutting down'): Promise<void> {
      clearInterval(timer);
      server.off('upgrade', onUpgrade);
      writeQueuedFrames(); // results sent before the close go before the close frame
      for (const ws of wss.clients) ws.close(code, reason);
      return new Promise((resolve) => {
        const deadline = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
        }, 2000);
        deadline.unref();
        wss.close(() => {
          clearTimeout(deadline);
          resolve();
        });
      });
    },
  };
}
