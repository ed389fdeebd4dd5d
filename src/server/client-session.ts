/**
 * One WebSocket client: decodes what it sends, runs its subscriptions, and sends it hello, acks,
 * results (through its Outbox), status and errors. Every failure it causes is answered with an
 * `error` message and affects only that request.
 */
import type { Observable, Subscription } from 'rxjs';
import { isGroundstreamError } from '../errors.js';
import { DEFAULT_MAX_PUSH_PIXELS, type PushedFrameSource } from '../ingest/pushed-source.js';
import type { GroundingModel } from '../model/index.js';
import type { SubscriberResult } from '../pipeline/stream-pipeline.js';
import {
  PROTOCOL_VERSION,
  decodeFrame,
  errorMessage,
  protocolError,
  type ClientMessageDecoder,
  type ImageOptions,
  type ProtocolLimits,
  type ServerMessage,
  type SubscribeMessage,
  type UpdateMessage,
} from '../protocol/index.js';
import { Outbox, type SendTarget } from './outbox.js';
import { resultFrame, subscriptionBytes } from './result-frame.js';
import type { StreamManager } from './streams.js';
import { encodeViewerImage, ImageGate } from './viewer-images.js';

export interface SessionContext {
  readonly clientId: string;
  readonly serverVersion: string;
  readonly model: GroundingModel;
  readonly streams: StreamManager;
  readonly decode: ClientMessageDecoder;
  readonly limits: ProtocolLimits;
  /** Most subscriptions one client may hold. */
  readonly maxSubscriptions: number;
  /** Most distinct queries one client may hold on one stream, over its subscriptions to it
   * (default: no cap of its own; the stream's budget still applies). */
  readonly maxQueriesPerClient?: number;
  readonly clientBufferBytes: number;
  /** This run of the server (hello.instance). */
  readonly instance: string;
  readonly onMissed?: (n: number) => void;
  /** Called with the code of each error message sent to this client (/metrics). */
  readonly onError?: (code: string) => void;
  /** What this client's token allows. */
  readonly rights: ReadonlySet<'watch' | 'push' | 'manage'>;
  /** Frames a second this client may push to one stream. */
  readonly maxPushFps: number;
  /** Largest image a client may push, in pixels (said in hello; the stream's source enforces it). */
  readonly maxPushPixels?: number;
}

interface ClientSub {
  id: string;
  stream: string;
  key: string;
  /** The id as it appears in messages, in UTF-8. */
  idBytes: Buffer;
  queries: readonly string[];
  threshold: number;
  maxRate?: number;
  /** Viewer images wanted, if any. */
  image?: ImageOptions;
  /** The query version last acknowledged. */
  version: number;
  /** Results waiting behind an image being encoded, so that they keep their order. */
  tail?: Promise<void>;
  rx: Subscription | null;
}

/** An unexpected failure whose request has already been answered with INTERNAL. */
export class AnsweredError extends Error {
  constructor(readonly original: unknown) {
    super(original instanceof Error ? original.message : String(original), { cause: original });
  }
}

export class ClientSession {
  readonly outbox: Outbox;
  private readonly subs = new Map<string, ClientSub>();
  private readonly images = new ImageGate();
  private closed = false;
  /** Per stream: a token bucket of pushed frames (maxPushFps a second, as many at once), and when
   * it was last filled. A fixed one-second window refused frames pushed at exactly the limit,
   * whenever jitter put one frame more into a window. */
  private readonly pushBucket = new Map<string, { tokens: number; at: number }>();
  /** The text messages still to handle, as one chain (see onText). */
  private inbox: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: SessionContext,
    socket: SendTarget,
  ) {
    this.outbox = new Outbox(socket, ctx.clientBufferBytes, ctx.onMissed);
  }

  get subscriptionCount(): number {
    return this.subs.size;
  }

  /** Whether this client may see the streams (the `watch` right): a push-only token (a camera
   * app) learns nothing of the others' streams, in hello or in status messages. */
  get watches(): boolean {
    return this.ctx.rights.has('watch');
  }

  hello(): void {
    const m = this.ctx.model.info;
    this.send({
      type: 'hello',
      serverVersion: this.ctx.serverVersion,
      protocolVersion: PROTOCOL_VERSION,
      instance: this.ctx.instance,
      model: { name: m.name, type: m.family, threshold: m.threshold, imageSize: m.imageSize },
      streams: this.watches ? this.ctx.streams.list().map((e) => this.ctx.streams.info(e)) : [],
      limits: this.ctx.limits,
      ...(this.ctx.rights.has('push') ? { push: { maxFps: this.ctx.maxPushFps, maxPixels: this.ctx.maxPushPixels ?? DEFAULT_MAX_PUSH_PIXELS } } : {}),
    });
  }

  send(msg: ServerMessage): void {
    if (this.closed) return;
    if (msg.type === 'error') this.ctx.onError?.(msg.code);
    this.outbox.send(msg);
  }

  /**
   * A text message from the client. Messages are handled one after another, in the order they
   * came: a `subscribe` that waits for its queries to be encoded holds back the `update` sent right
   * after it, so each is answered in order, exactly once (docs/protocol.md; the SDK pairs answers
   * with requests on it). The returned promise settles when this message has been handled.
   */
  onText(data: string | Uint8Array): Promise<void> {
    const run = this.inbox.then(() => this.handleText(data));
    this.inbox = run.catch(() => undefined); // a failure is reported by the caller, and the next message still runs
    return run;
  }

  private async handleText(data: string | Uint8Array): Promise<void> {
    if (this.closed) return;
    const r = this.ctx.decode(data);
    if (!r.ok) return this.send(errorMessage(r.error));
    const msg = r.msg;
    try {
      switch (msg.type) {
        case 'subscribe':
          return await this.subscribe(msg);
        case 'update':
          return await this.update(msg);
        case 'unsubscribe':
          return this.unsubscribe(msg.id, 'requested');
        case 'ping':
          return this.send({ type: 'pong', ...(msg.id !== undefined ? { id: msg.id } : {}), ...(msg.t !== undefined ? { t: msg.t } : {}) });
        case 'pong':
          return; // (one answering a lag probe was taken as it arrived: server.ts)
      }
    } catch (e) {
      const ref = 'id' in msg ? msg.id : undefined;
      if (isGroundstreamError(e)) return this.send(errorMessage({ code: e.code, message: e.message, ref }));
      // A fault of ours: the request still gets its one answer (the SDK pairs answers with
      // requests by ref), and the caller logs the error without answering again.
      this.send(errorMessage({ code: 'INTERNAL', message: 'internal error', ref }));
      throw new AnsweredError(e);
    }
  }

  /** A binary message: a pushed frame for a push stream. */
  async onBinary(data: Uint8Array): Promise<void> {
    const r = decodeFrame(data, this.ctx.limits);
    if (!r.ok) return this.send(errorMessage(r.error));
    const f = r.frame;
    const ref = `${f.stream}/${f.seq}`;
    if (!this.ctx.rights.has('push')) return this.send(errorMessage({ code: 'AUTH_FORBIDDEN', message: 'this token lacks the "push" right', ref }));
    // The stream first: rate windows exist only for real push streams, so made-up ids cost nothing.
    const entry = this.ctx.streams.get(f.stream);
    if (!entry) return this.send(errorMessage(protocolError('PROTOCOL_STREAM_UNKNOWN', JSON.stringify(f.stream), ref)));
    const src = entry.source as Partial<PushedFrameSource>;
    if (typeof src.push !== 'function') {
      return this.send(errorMessage(protocolError('PROTOCOL_STREAM_NOT_PUSHABLE', JSON.stringify(f.stream), ref)));
    }
    const now = performance.now();
    const max = this.ctx.maxPushFps;
    const b = this.pushBucket.get(f.stream) ?? { tokens: max, at: now };
    b.tokens = Math.min(max, b.tokens + ((now - b.at) / 1000) * max);
    b.at = now;
    this.pushBucket.set(f.stream, b);
    if (b.tokens < 1) return this.send(errorMessage({ code: 'LIMIT_PUSH_RATE', message: `at most ${max} frames a second`, ref }));
    b.tokens -= 1;
    const res = await src.push.call(entry.source, f.data, { seq: f.seq, capturedAt: f.capturedAt, pusher: this.ctx.clientId });
    if (res.status === 'error') this.send(errorMessage({ code: res.error.code, message: res.error.message, ref }));
  }

  private async subscribe(msg: SubscribeMessage): Promise<void> {
    if (!this.ctx.rights.has('watch')) return this.send(errorMessage({ code: 'AUTH_FORBIDDEN', message: 'this token lacks the "watch" right', ref: msg.id }));
    if (this.subs.has(msg.id)) return this.send(errorMessage(protocolError('PROTOCOL_SUBSCRIPTION_EXISTS', JSON.stringify(msg.id), msg.id)));
    if (this.subs.size >= this.ctx.maxSubscriptions) {
      return this.send(errorMessage(protocolError('PROTOCOL_SUBSCRIPTION_LIMIT', `at most ${this.ctx.maxSubscriptions}`, msg.id)));
    }
    const entry = this.ctx.streams.get(msg.stream);
    if (!entry) return this.send(errorMessage(protocolError('PROTOCOL_STREAM_UNKNOWN', JSON.stringify(msg.stream), msg.id)));
    if (entry.status.state === 'ended' || entry.status.state === 'failed') {
      // its results have completed: a subscription would be acknowledged and then never hear anything
      return this.send(errorMessage(protocolError('PROTOCOL_STREAM_ENDED', `${JSON.stringify(msg.stream)} is ${entry.status.state}`, msg.id)));
    }
    const below = belowModel(msg.threshold, this.ctx.model.info.minThreshold, msg.id);
    if (below) return this.send(errorMessage(below));
    // (before encoding anything: the queries are normalised already, by the decoder)
    const over = this.overQueryBudget(msg.stream, null, msg.queries);
    if (over) return this.send(errorMessage({ ...over, ref: msg.id }));
    // Reserve the id before waiting on the model: the stream may go meanwhile (streamGone sees it).
    const sub: ClientSub = {
      id: msg.id,
      stream: msg.stream,
      key: `${this.ctx.clientId}/${msg.id}`,
      idBytes: subscriptionBytes(msg.id),
      queries: [],
      threshold: msg.threshold ?? this.ctx.model.info.threshold,
      maxRate: msg.maxRate,
      ...(msg.image ? { image: msg.image } : {}),
      version: 0,
      rx: null,
    };
    this.subs.set(msg.id, sub);
    try {
      // validates the queries and warms the text-embedding cache before the first frame needs them
      sub.queries = (await this.ctx.model.prepareQueries(msg.queries)).texts;
    } catch (e) {
      this.subs.delete(msg.id);
      throw e;
    }
    if (this.closed || this.subs.get(msg.id) !== sub) return;
    let added: ReturnType<typeof entry.pipeline.subscribe>;
    try {
      added = entry.pipeline.subscribe(sub.key, sub.queries, { threshold: sub.threshold, smooth: msg.smooth, maxRate: sub.maxRate });
    } catch (e) {
      this.subs.delete(msg.id); // refused (LIMIT_QUERIES): the id is free again
      throw e;
    }
    const { version, results$ } = added;
    this.attach(sub, results$);
    this.ack(sub, version);
  }

  private async update(msg: UpdateMessage): Promise<void> {
    const sub = this.subs.get(msg.id);
    if (!sub) return this.send(errorMessage(protocolError('PROTOCOL_SUBSCRIPTION_UNKNOWN', JSON.stringify(msg.id), msg.id)));
    // Everything that can fail first; the subscription changes only once the update is known good.
    const below = belowModel(msg.threshold, this.ctx.model.info.minThreshold, msg.id);
    if (below) return this.send(errorMessage(below));
    const over = msg.queries && this.overQueryBudget(sub.stream, sub, msg.queries);
    if (over) return this.send(errorMessage({ ...over, ref: msg.id }));
    const queries = msg.queries ? (await this.ctx.model.prepareQueries(msg.queries)).texts : sub.queries;
    if (this.closed) return;
    // While the queries were encoded, the stream may have gone (and the subscription with it).
    if (this.subs.get(msg.id) !== sub) return this.send(errorMessage(protocolError('PROTOCOL_SUBSCRIPTION_UNKNOWN', JSON.stringify(msg.id), msg.id)));
    const entry = this.ctx.streams.get(sub.stream);
    if (!entry) return this.unsubscribe(msg.id, 'stream-removed');
    // Restating the settings in force (a UI sending its slider's value again) changes nothing:
    // the same version, no restart of the subscription's results.
    if (restates(msg, queries, sub)) return this.ack(sub, sub.version);
    // the pipeline first: it may refuse (LIMIT_QUERIES), and then nothing has changed
    const version = entry.pipeline.update(sub.key, {
      queries,
      threshold: msg.threshold ?? sub.threshold,
      ...(msg.maxRate !== undefined ? { maxRate: msg.maxRate } : {}),
    });
    sub.queries = queries;
    if (msg.threshold !== undefined) sub.threshold = msg.threshold;
    if (msg.image !== undefined) sub.image = msg.image ?? undefined;
    if (msg.maxRate !== undefined) sub.maxRate = msg.maxRate ?? undefined;
    this.ack(sub, version);
  }

  /**
   * LIMIT_CLIENT_QUERIES when `queries` (normalised), in place of `replacing`'s, would give this
   * client more distinct queries on `stream` than maxQueriesPerClient: one client must not take
   * the stream's whole budget (everyone's queries together, what the model takes in one run) and
   * leave others LIMIT_QUERIES.
   */
  private overQueryBudget(stream: string, replacing: ClientSub | null, queries: readonly string[]): { code: 'LIMIT_CLIENT_QUERIES'; message: string } | null {
    const max = this.ctx.maxQueriesPerClient;
    if (max === undefined || queries.length === 0) return null;
    const held = new Set(queries);
    for (const other of this.subs.values()) if (other !== replacing && other.stream === stream) for (const q of other.queries) held.add(q);
    if (held.size <= max) return null;
    return { code: 'LIMIT_CLIENT_QUERIES', message: `${held.size} distinct queries on ${JSON.stringify(stream)} over this connection's subscriptions with these; one client may hold at most ${max}` };
  }

  private attach(sub: ClientSub, results$: Observable<SubscriberResult>): void {
    // (the rate, if any, is applied inside the pipeline, before the track view)
    sub.rx = results$.subscribe((r) => this.deliver(sub, r));
  }

  private ack(sub: ClientSub, version: number): void {
    sub.version = version;
    this.send({
      type: 'subscribed',
      id: sub.id,
      stream: sub.stream,
      queries: sub.queries,
      threshold: sub.threshold,
      ...(sub.maxRate !== undefined ? { maxRate: sub.maxRate } : {}),
      ...(sub.image ? { image: sub.image } : {}),
      queryVersion: version,
    });
  }

  private deliver(sub: ClientSub, r: SubscriberResult): void {
    if (r.error) {
      this.send(errorMessage({ code: r.error.code, message: r.error.message, ref: `${r.stream}/${r.frame.seq}` }));
      return;
    }
    // capturedAt of a pushed frame is the client's clock: a clock ahead of ours must not give a negative age
    const framed = resultFrame(sub.idBytes, r, Math.max(0, Date.now() - r.frame.capturedAt));
    const due = sub.image && r.pixels ? this.images.take(r.stream, r.frame.seq, this.imageWants(r.stream)) : null;
    if (!due && !sub.tail) return this.outbox.offer(sub.id, framed);
    // The image goes just before its result (the outbox keeps the pair together); this
    // subscription's later results wait behind the encode so that results stay in order.
    const image =
      due && r.pixels
        ? encodeViewerImage(r.stream, r.frame, r.pixels, due.maxWidth, this.ctx.limits)
            .catch(() => undefined) // no picture this time; the result still goes
            .finally(() => this.images.done(r.stream))
        : undefined;
    const tail = (sub.tail ?? Promise.resolve()).then(async () => {
      const bytes = await image;
      if (!this.closed && this.subs.get(sub.id) === sub) this.outbox.offer(sub.id, framed, bytes);
    });
    sub.tail = tail;
    void tail.finally(() => {
      if (sub.tail === tail) sub.tail = undefined;
    });
  }

  /** Image options of this client's subscriptions on `stream` that want images. */
  private imageWants(stream: string): ImageOptions[] {
    const wants: ImageOptions[] = [];
    for (const s of this.subs.values()) if (s.stream === stream && s.image) wants.push(s.image);
    return wants;
  }

  /** Ends one subscription and tells the client why. */
  unsubscribe(id: string, reason: 'requested' | 'stream-ended' | 'stream-failed' | 'stream-removed'): void {
    const sub = this.subs.get(id);
    if (!sub) {
      if (reason === 'requested') this.send(errorMessage(protocolError('PROTOCOL_SUBSCRIPTION_UNKNOWN', JSON.stringify(id), id)));
      return;
    }
    sub.rx?.unsubscribe();
    this.subs.delete(id);
    this.outbox.drop(id);
    this.ctx.streams.get(sub.stream)?.pipeline.unsubscribe(sub.key);
    this.send({ type: 'unsubscribed', id, reason });
  }

  /** A stream ended, failed or was removed: end the subscriptions on it. */
  streamGone(stream: string, reason: 'stream-ended' | 'stream-failed' | 'stream-removed'): void {
    for (const s of [...this.subs.values()]) if (s.stream === stream) this.unsubscribe(s.id, reason);
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs.values()) {
      s.rx?.unsubscribe();
      this.ctx.streams.get(s.stream)?.pipeline.unsubscribe(s.key);
    }
    this.subs.clear();
    this.outbox.close();
    // the streams it pushed to may take another pusher at once
    for (const stream of this.pushBucket.keys()) (this.ctx.streams.get(stream)?.source as Partial<PushedFrameSource> | undefined)?.release?.(this.ctx.clientId);
  }
}

/** Whether an update (its queries already normalised) asks for exactly what `sub` has. */
function restates(msg: UpdateMessage, queries: readonly string[], sub: ClientSub): boolean {
  const sameImage = (a: ImageOptions | undefined, b: ImageOptions | undefined) => (!a && !b) || (!!a && !!b && a.maxWidth === b.maxWidth && a.maxRate === b.maxRate);
  return (
    queries.length === sub.queries.length &&
    queries.every((q, i) => q === sub.queries[i]) &&
    (msg.threshold === undefined || msg.threshold === sub.threshold) &&
    (msg.maxRate === undefined || (msg.maxRate ?? undefined) === sub.maxRate) &&
    (msg.image === undefined || sameImage(msg.image ?? undefined, sub.image))
  );
}

/** A threshold under the lowest the model answers (a replay's recorded threshold): refused, since
 * an ack would promise detections nobody has. */
function belowModel(threshold: number | undefined, min: number | undefined, ref: string) {
  if (threshold === undefined || min === undefined || threshold >= min) return undefined;
  return protocolError('PROTOCOL_INVALID_MESSAGE', `/threshold ${threshold} is below ${min}, the lowest this server can answer (a replay has nothing under the threshold it was recorded at)`, ref);
}
