/**
 * GroundstreamClient: the typed face of one groundstream connection. Connection (connection.ts)
 * keeps a WebSocket open, reconnecting with backoff; this class re-subscribes every live
 * subscription after each `hello` and routes what arrives to per-subscription observables.
 * Works in browsers and in Node 20.
 */
import { BehaviorSubject, Observable, ReplaySubject, Subject } from 'rxjs';
import { CLOSE_CODES } from '../protocol/close-codes.js';
import { encodeClientMessage } from '../protocol/encode.js';
import { decodeFrame, encodeFrame, sniffImageFormat } from '../protocol/frame-header.js';
import { DEFAULT_LIMITS, type ProtocolLimits } from '../protocol/limits.js';
import type {
  ClientMessage,
  ErrorMessage,
  FrameFormat,
  HelloMessage,
  ServerMessage,
  StatusMessage,
  StreamInfo,
} from '../protocol/messages.js';
import { parseServerMessage } from '../protocol/parse-server.js';
import { GroundstreamError } from '../protocol/protocol-error.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { Connection, type ConnectionState } from './connection.js';
import { resolveClientOptions, type GroundstreamClientOptions, type ResolvedClientOptions } from './options.js';
import { ConnectionRejectedError, RemoteError } from './remote-error.js';
import { applyStatus, streamsFromHello } from './streams.js';
import { StreamsApi } from './streams-api.js';
import { SubscriptionImpl, type SubscribeOptions, type Subscription } from './subscription.js';

export type { ConnectionState };

export interface PushFrameOptions {
  /** Default: read from the image's first bytes (JPEG, PNG or WebP). */
  readonly format?: FrameFormat;
  /** Frame number, a non-negative integer. Default: one more than the last pushed to this stream
   * by this client (0 for the first). */
  readonly seq?: number;
  /** Capture time, ms since the epoch. Default: Date.now(). */
  readonly capturedAt?: number;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The caller may drop the promise (`void client.connect()`); a later rejection must not crash.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class GroundstreamClient {
  /** Each `hello` (one per connection); replays the latest. */
  readonly hello$: Observable<HelloMessage>;
  /** Connection state; replays the current one; completes after `closed`. */
  readonly status$: Observable<ConnectionState>;
  /** The server's streams (from `hello`, kept current by `status`); replays the latest table. */
  readonly streams$: Observable<readonly StreamInfo[]>;
  /** Every stream `status` message as it arrives. */
  readonly streamStatus$: Observable<StatusMessage>;
  /** The server's stream API over HTTP, with this client's address and token: list(), get(id),
   * add({id, source, ...}), remove(id). Needs no WebSocket connection. */
  readonly streams: StreamsApi;
  /**
   * Errors no single request owns: RemoteError for server `error` messages not answering a
   * subscription request (e.g. a refused pushed frame), GroundstreamError for transport trouble.
   */
  readonly errors$: Observable<Error>;

  private readonly options: ResolvedClientOptions;
  private readonly state$ = new BehaviorSubject<ConnectionState>('idle');
  private readonly hellos = new ReplaySubject<HelloMessage>(1);
  private readonly streamTable = new BehaviorSubject<readonly StreamInfo[]>(Object.freeze([]));
  private readonly statuses = new Subject<StatusMessage>();
  private readonly errors = new Subject<Error>();
  private readonly subscriptions = new Map<string, SubscriptionImpl>();
  /** Answers (acks, `unsubscribed`, errors) still due to requests of subscriptions that ended
   * (see SubscriptionHost.expectStrayAnswers): they are nobody's news, and errors among them are
   * not reported on errors$. Ids are never reused, so a count cannot catch another's answer. */
  private readonly strays = new Map<string, number>();
  private readonly host = {
    isOpen: () => this.ready,
    send: (msg: ClientMessage) => this.send(msg),
    release: (id: string) => void this.subscriptions.delete(id),
    expectStrayAnswers: (id: string, n: number) => {
      if (n > 0) this.strays.set(id, (this.strays.get(id) ?? 0) + n);
    },
  };
  private readonly connection: Connection;
  private hello: HelloMessage | undefined;
  private nextId = 0;
  /** The next seq pushFrame() gives each stream when the caller names none. */
  private readonly pushSeq = new Map<string, number>();
  private waitingForHello: Deferred<HelloMessage> | undefined;

  /** Throws CONFIG_INVALID for a bad url or option. Nothing connects until connect(). */
  constructor(options: GroundstreamClientOptions) {
    this.options = resolveClientOptions(options);
    this.hello$ = this.hellos.asObservable();
    this.status$ = this.state$.asObservable();
    this.streams$ = this.streamTable.asObservable();
    this.streamStatus$ = this.statuses.asObservable();
    this.errors$ = this.errors.asObservable();
    const token = this.options.token;
    this.streams = new StreamsApi(this.options.url, async () => (typeof token === 'function' ? token() : token));
    this.connection = new Connection(this.options, {
      state: (state) => this.state$.next(state),
      data: (data) => this.receive(data),
      trouble: (error) => this.errors.next(error),
      closed: (error) => this.closed(error),
    });
  }

  /** `hello` arrived on the current socket. */
  private get ready(): boolean {
    return this.connection.state === 'open';
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The WebSocket URL in use (with `/v1/ws` filled in). */
  get url(): string {
    return this.options.url;
  }

  /**
   * Start connecting (once; later calls join in). Resolves with the next `hello`, or the current
   * one when open; keeps retrying per `reconnect` meanwhile. Rejects with CLIENT_CLOSED,
   * CLIENT_CONNECTION_REJECTED or CLIENT_RECONNECT_EXHAUSTED.
   */
  connect(): Promise<HelloMessage> {
    if (this.state === 'closed') return Promise.reject(new GroundstreamError('CLIENT_CLOSED', 'connect() after close()'));
    if (this.ready && this.hello) return Promise.resolve(this.hello);
    this.waitingForHello ??= deferred();
    this.connection.start();
    return this.waitingForHello.promise;
  }

  /**
   * Subscribe to results for `queries` on `stream`. Sent now when open, else on (re)connect;
   * re-sent after every reconnect until unsubscribed. Id is generated (`s1`, `s2`, ...).
   */
  subscribe(options: SubscribeOptions): Subscription {
    if (this.state === 'closed') throw new GroundstreamError('CLIENT_CLOSED', 'subscribe() after close()');
    const sub = new SubscriptionImpl(`s${++this.nextId}`, options, this.host);
    this.subscriptions.set(sub.id, sub);
    if (this.ready) sub.onOpen();
    return sub;
  }

  /**
   * Send one encoded image to `stream` as a binary frame. Returns false, dropping the frame,
   * when not connected or when more than `pushHighWaterMark` bytes still wait to be sent: live
   * video wants the newest frame, not a queue. Throws GroundstreamError (PROTOCOL_FRAME_*) for a
   * bad stream id, seq, time, or an image that is not the declared format. Without `seq`, frames
   * are numbered per stream from 0, dropped ones included, so gaps in the results' `seq` show
   * frames that never went.
   */
  pushFrame(stream: string, encoded: Uint8Array | ArrayBuffer, options: PushFrameOptions = {}): boolean {
    const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...this.hello?.limits };
    const image = encoded instanceof ArrayBuffer ? new Uint8Array(encoded) : encoded;
    if (!(image instanceof Uint8Array)) throw new GroundstreamError('PROTOCOL_FRAME_EMPTY', `the image must be encoded bytes (a Uint8Array, Buffer or ArrayBuffer), not ${describe(encoded)}`);
    if (options.capturedAt !== undefined && options.capturedAt >= 0 && options.capturedAt < PLAUSIBLE_EPOCH_MS) {
      // (seconds, or a clock since boot: results' ages and the tracker's timing would be nonsense)
      throw new GroundstreamError('PROTOCOL_FRAME_BAD_TIME', `capturedAt is ms since the epoch (as Date.now()); ${options.capturedAt} is before 1973: seconds?`);
    }
    const format = options.format ?? (image.byteLength ? sniffImageFormat(image) : 'jpeg'); // (empty: encodeFrame says so)
    if (!format) throw new GroundstreamError('PROTOCOL_FRAME_UNKNOWN_FORMAT', 'the image is not JPEG, PNG or WebP');
    const seq = options.seq ?? this.pushSeq.get(stream) ?? 0;
    const bytes = encodeFrame({ stream, seq, capturedAt: options.capturedAt ?? Date.now(), format }, image, limits);
    this.pushSeq.set(stream, seq + 1);
    if (this.connection.bufferedAmount > this.options.pushHighWaterMark) return false;
    return this.connection.send(bytes);
  }

  /** Close for good: complete every subscription and observable; never reconnects. Idempotent. */
  close(): void {
    this.connection.close();
  }

  /** Closed for good: end every subscription, settle connect(), complete every observable. */
  private closed(error: Error | undefined): void {
    for (const sub of [...this.subscriptions.values()]) sub.end(error);
    this.subscriptions.clear();
    this.waitingForHello?.reject(error ?? new GroundstreamError('CLIENT_CLOSED', 'close() before connected'));
    this.waitingForHello = undefined;
    if (error) this.errors.next(error);
    for (const s of [this.state$, this.hellos, this.streamTable, this.statuses, this.errors]) s.complete();
  }

  private send(msg: ClientMessage): boolean {
    return this.connection.send(encodeClientMessage(msg));
  }

  // ---------------------------------------------------------------- incoming

  private receive(data: unknown): void {
    if (typeof data === 'string') {
      const parsed = parseServerMessage(data);
      if (parsed.ok) this.dispatch(parsed.msg);
      // Unknown types are a newer server's additions: ignore them.
      else if (parsed.error.code !== 'PROTOCOL_UNKNOWN_TYPE') {
        this.errors.next(new GroundstreamError(parsed.error.code, 'in a server message'));
      }
      return;
    }
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (!bytes) return;
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) {
      this.errors.next(new GroundstreamError(decoded.error.code, 'in a server image'));
      return;
    }
    for (const sub of this.subscriptions.values()) {
      if (sub.stream === decoded.frame.stream && sub.settings.image !== undefined) sub.onImage(decoded.frame);
    }
  }

  private dispatch(msg: ServerMessage): void {
    switch (msg.type) {
      case 'hello':
        return this.onHello(msg);
      case 'subscribed':
        if (this.strayAnswer(msg.id)) return;
        return this.subscriptions.get(msg.id)?.onAck(msg);
      case 'unsubscribed':
        if (msg.reason === 'requested' && this.strayAnswer(msg.id)) return;
        return this.subscriptions.get(msg.id)?.endedByServer(msg.reason);
      case 'detections':
        return this.subscriptions.get(msg.subscription)?.onDetections(msg);
      case 'missed':
        return this.subscriptions.get(msg.subscription)?.onMissed(msg);
      case 'status':
        this.streamTable.next(applyStatus(this.streamTable.value, msg));
        return this.statuses.next(msg);
      case 'error':
        return this.onRemoteError(msg);
      case 'ping':
        this.send({ type: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(msg.t !== undefined ? { t: msg.t } : {}) });
        return;
      case 'pong':
        return; // liveness is any message arriving (Connection's heartbeat)
    }
  }

  private onHello(hello: HelloMessage): void {
    if (hello.protocolVersion !== PROTOCOL_VERSION) {
      // as the server itself closes a client of another version
      return this.connection.close(new ConnectionRejectedError(CLOSE_CODES.UNSUPPORTED_PROTOCOL, `server speaks protocol ${hello.protocolVersion}, this client ${PROTOCOL_VERSION}`));
    }
    this.hello = hello;
    this.strays.clear(); // answers due on the old connection will never come
    // Re-subscribe before anyone hears of the new connection, so their updates follow it.
    for (const sub of [...this.subscriptions.values()]) sub.onOpen();
    this.connection.ready();
    this.streamTable.next(streamsFromHello(hello));
    this.hellos.next(hello);
    this.waitingForHello?.resolve(hello);
    this.waitingForHello = undefined;
  }

  private onRemoteError(msg: ErrorMessage): void {
    const error = new RemoteError(msg);
    if (msg.ref !== undefined && this.subscriptions.get(msg.ref)?.onError(error)) return;
    if (msg.ref !== undefined && this.strayAnswer(msg.ref)) return;
    this.errors.next(error);
  }

  /** Whether a message answering a request of subscription `id` was one still due after it
   * ended (and counts it off). */
  private strayAnswer(id: string): boolean {
    const due = this.strays.get(id);
    if (due === undefined || this.subscriptions.has(id)) return false;
    if (due > 1) this.strays.set(id, due - 1);
    else this.strays.delete(id);
    return true;
  }
}

/** capturedAt below this (1973-03-03, in ms) is taken for seconds or a clock since boot. */
const PLAUSIBLE_EPOCH_MS = 1e11;

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}
