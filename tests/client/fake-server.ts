/**
 * A small groundstream server for client tests: real sockets (ws on 127.0.0.1, port 0), the real
 * protocol decoders, and just enough behaviour: hello, subscribe/update/unsubscribe with acks,
 * ping/pong, pushed frames. Tests drive results and failures by hand.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  decodeClientMessage,
  decodeFrame,
  DEFAULT_LIMITS,
  encodeServerMessage,
  errorMessage,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  tokenFromSubprotocols,
  type ClientMessage,
  type DecodedFrame,
  type HelloMessage,
  type ServerMessage,
  type SubscribedMessage,
} from '../../src/protocol/index.js';

export interface FakeConnection {
  readonly socket: WebSocket;
  readonly token: string | undefined;
  readonly protocol: string;
  readonly received: ClientMessage[];
  readonly subscriptions: Map<string, SubscribedMessage>;
}

export class FakeServer {
  readonly connections: FakeConnection[] = [];
  readonly frames: DecodedFrame[] = [];
  /** Stop answering pings (to exercise the client's heartbeat). */
  silent = false;
  /** Hold `update` messages until releaseUpdates() (to see what a client does meanwhile). */
  holdUpdates = false;
  private held: (() => void)[] = [];
  streams = ['cam1', 'cam2'];
  /** Leave subscribes unanswered (a server that goes before it acks). */
  ignoreSubscribes = false;
  /** Fields to override in the next hellos (e.g. another protocolVersion). */
  helloPatch: Partial<HelloMessage> = {};

  private constructor(private readonly wss: WebSocketServer) {}

  static async start(): Promise<FakeServer> {
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      path: '/v1/ws',
      handleProtocols: (offered) => (offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const server = new FakeServer(wss);
    wss.on('connection', (socket, req) => server.accept(socket, req.headers['sec-websocket-protocol'] ?? ''));
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  get last(): FakeConnection {
    return this.connections[this.connections.length - 1]!;
  }

  /** Every client message received, on every connection, in order. */
  get received(): ClientMessage[] {
    return this.connections.flatMap((c) => c.received);
  }

  hello(): HelloMessage {
    return {
      type: 'hello',
      serverVersion: '0.0.0-test',
      protocolVersion: PROTOCOL_VERSION,
      model: { name: 'fake', type: 'owlv2', threshold: 0.1 },
      streams: this.streams.map((id) => ({ id, state: 'live', width: 640, height: 480 })),
      limits: DEFAULT_LIMITS,
      ...this.helloPatch,
    };
  }

  send(msg: ServerMessage, conn = this.last): void {
    conn.socket.send(encodeServerMessage(msg));
  }

  /** A result for subscription `id` on the newest connection, at its current queryVersion unless given. */
  sendDetections(id: string, seq: number, queryVersion?: number): void {
    const sub = this.last.subscriptions.get(id);
    if (!sub) throw new Error(`no subscription ${id} on the last connection`);
    this.send({
      type: 'detections',
      subscription: id,
      stream: sub.stream,
      frame: { seq, pts: seq / 30, capturedAt: 1_700_000_000_000 + seq, width: 640, height: 480 },
      queryVersion: queryVersion ?? sub.queryVersion,
      timings: { decode: 1, infer: 2, total: 3 },
      detections: sub.queries.map((query, i) => ({ query, score: 0.9, box: [i, i, i + 10, i + 10] })),
    });
  }

  /** Handles the held updates, in order, and stops holding. */
  releaseUpdates(): void {
    this.holdUpdates = false;
    for (const h of this.held.splice(0)) h();
  }

  /** Kill every connection without a close handshake, as a crashed server or a cut cable would. */
  dropAll(): void {
    for (const c of this.connections) c.socket.terminate();
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket, offered: string): void {
    const conn: FakeConnection = {
      socket,
      token: tokenFromSubprotocols(offered.split(',')),
      protocol: socket.protocol,
      received: [],
      subscriptions: new Map(),
    };
    this.connections.push(conn);
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const r = decodeFrame(data);
        if (r.ok) this.frames.push({ ...r.frame, data: new Uint8Array(r.frame.data) });
        else this.send(errorMessage(r.error), conn);
        return;
      }
      const r = decodeClientMessage(data);
      if (!r.ok) return this.send(errorMessage(r.error), conn);
      conn.received.push(r.msg);
      this.handle(conn, r.msg);
    });
    this.send(this.hello(), conn);
  }

  private handle(conn: FakeConnection, msg: ClientMessage): void {
    const fail = (code: string, message: string, ref?: string) => this.send({ type: 'error', code, message, ...(ref ? { ref } : {}) }, conn);
    switch (msg.type) {
      case 'subscribe': {
        if (this.ignoreSubscribes) return; // never answered
        if (!this.streams.includes(msg.stream)) return fail('PROTOCOL_STREAM_UNKNOWN', `no such stream: ${msg.stream}`, msg.id);
        if (conn.subscriptions.has(msg.id)) return fail('PROTOCOL_SUBSCRIPTION_EXISTS', msg.id, msg.id);
        const { type: _, ...rest } = msg;
        const ack: SubscribedMessage = { ...rest, type: 'subscribed', threshold: msg.threshold ?? 0.1, queryVersion: 1 };
        conn.subscriptions.set(msg.id, ack);
        return this.send(ack, conn);
      }
      case 'update': {
        if (this.holdUpdates) return void this.held.push(() => this.handle(conn, msg));
        const sub = conn.subscriptions.get(msg.id);
        if (!sub) return fail('PROTOCOL_SUBSCRIPTION_UNKNOWN', msg.id, msg.id);
        if (msg.queries?.includes('forbidden')) return fail('QUERY_INVALID', 'invalid query: forbidden', msg.id);
        const next: SubscribedMessage = {
          ...sub,
          ...(msg.queries ? { queries: msg.queries } : {}),
          ...(msg.threshold !== undefined ? { threshold: msg.threshold } : {}),
          queryVersion: sub.queryVersion + 1,
        };
        conn.subscriptions.set(msg.id, next);
        return this.send(next, conn);
      }
      case 'unsubscribe':
        // as the real server answers (client-session.ts): an error for an id it does not have
        if (!conn.subscriptions.delete(msg.id)) return fail('PROTOCOL_SUBSCRIPTION_UNKNOWN', msg.id, msg.id);
        return this.send({ type: 'unsubscribed', id: msg.id, reason: 'requested' }, conn);
      case 'ping':
        if (!this.silent) this.send({ type: 'pong', ...(msg.id ? { id: msg.id } : {}), ...(msg.t ? { t: msg.t } : {}) }, conn);
        return;
      case 'pong':
        return;
    }
  }
}

/** Poll `check` until it returns something truthy; fail after `ms`. */
export async function until<T>(check: () => T | Promise<T>, ms = 5000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
