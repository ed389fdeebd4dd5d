/**
 * One subscription as the client sees it: its settings, its streams of results, and the requests
 * (subscribe, updates) waiting for the server's answer. It outlives connections: after a
 * reconnect it subscribes again with the settings it wants now.
 */
import { Observable, ReplaySubject, Subject } from 'rxjs';
import type { DecodedFrame } from '../protocol/frame-header.js';
import type {
  ClientMessage,
  DetectionsMessage,
  ImageOptions,
  MissedMessage,
  SubscribedMessage,
  UnsubscribeReason,
} from '../protocol/messages.js';
import { GroundstreamError } from '../protocol/protocol-error.js';

export interface SubscribeOptions {
  readonly stream: string;
  readonly queries: readonly string[];
  /** Minimum score in [0, 1]. Default: the server's model threshold. */
  readonly threshold?: number;
  /** Results a second, at most. Default: every processed frame. */
  readonly maxRate?: number;
  /** Also receive the frames themselves (as `images$`). Default: off. */
  readonly image?: ImageOptions;
  /** Smoothed boxes and scores per track (for overlays). Default: off (raw, for robots). */
  readonly smooth?: boolean;
}

/** A change to a live subscription: absent fields stay, `null` clears. */
export interface SubscriptionUpdate {
  readonly queries?: readonly string[];
  readonly threshold?: number;
  readonly maxRate?: number | null;
  readonly image?: ImageOptions | null;
}

/**
 * The settings a subscription asks for: as requested and acked, with pending changes on top.
 * Fields left unset (threshold, maxRate) take the server's defaults; the acks say which.
 */
export interface SubscriptionSettings {
  readonly stream: string;
  readonly queries: readonly string[];
  readonly threshold?: number;
  readonly maxRate?: number;
  readonly image?: ImageOptions;
  readonly smooth?: boolean;
}

/** A live subscription. Its observables are hot: subscribe to them before results arrive. */
export interface Subscription {
  /** Client-chosen id, the same across reconnects. */
  readonly id: string;
  readonly stream: string;
  /**
   * Results, in order. Results computed for queries an acked update replaced are dropped. Completes
   * on unsubscribe(), client.close() or when the server ends the subscription (its stream ended);
   * errors with a RemoteError when the server refuses the subscription (e.g.
   * PROTOCOL_STREAM_UNKNOWN), or a GroundstreamError when the client gives up reconnecting.
   */
  readonly detections$: Observable<DetectionsMessage>;
  /** Back-pressure notices: results the server dropped because this client read too slowly. */
  readonly missed$: Observable<MissedMessage>;
  /** Viewer images (JPEG), when subscribed with `image`. `data` is a view: copy it to keep it. */
  readonly images$: Observable<DecodedFrame>;
  /** Every ack (subscribe, update, re-subscribe after a reconnect); replays the latest.
   * `queryVersion` here and in `detections$` keeps rising for the subscription's whole life: after
   * a reconnect the server counts from 1 again, and the SDK adds the versions shown before. */
  readonly subscribed$: Observable<SubscribedMessage>;
  /**
   * The server's first answer: resolves with its ack, or rejects with the RemoteError it refused
   * the subscription with (the error detections$ ends with), or CLIENT_CLOSED when the
   * subscription ended first. `await sub.accepted` before relying on it; leaving it unawaited is
   * safe (a rejection nobody awaits is not reported as unhandled).
   */
  readonly accepted: Promise<SubscribedMessage>;
  readonly settings: SubscriptionSettings;
  readonly closed: boolean;
  /** Why it ended, once closed: the server's `unsubscribed` reason (`stream-ended`,
   * `stream-failed`, `stream-removed`, `requested`), `unsubscribed` (our own unsubscribe()),
   * `closed` (the client closed), or `error` (refused: see detections$'s error). */
  readonly endReason: UnsubscribeReason | 'unsubscribed' | 'closed' | 'error' | undefined;
  /**
   * Change queries, threshold, rate or images. Resolves with the ack (new queryVersion); rejects
   * with a RemoteError when the server refuses it, and the old settings stay. While disconnected
   * the change waits and rides on the re-subscribe.
   */
  update(change: SubscriptionUpdate): Promise<SubscribedMessage>;
  /** Stop, tell the server if connected, and complete the observables. Idempotent. */
  unsubscribe(): void;
}

/** What a subscription needs from its client. */
export interface SubscriptionHost {
  /** True when `hello` has arrived on an open socket. */
  isOpen(): boolean;
  /** Send on the current socket, if any (onOpen runs just before isOpen() turns true). */
  send(msg: ClientMessage): boolean;
  release(id: string): void;
  /** `n` answers to requests of `id` (acks, `unsubscribed`, errors) will still come after it is
   * released: drop them. */
  expectStrayAnswers?(id: string, n: number): void;
}

interface PendingOp {
  readonly change: SubscriptionUpdate;
  resolve(ack: SubscribedMessage): void;
  reject(error: Error): void;
}

/** Requests on the wire, oldest first; the server answers in order, one ack or error each. */
interface InFlight {
  readonly kind: 'subscribe' | 'update';
  readonly ops: PendingOp[];
  /** An update re-sent after a reconnect: until it is answered, results are for settings the
   * caller has already changed, and are held back. */
  readonly replay?: boolean;
}

function apply(s: SubscriptionSettings, c: SubscriptionUpdate): SubscriptionSettings {
  const next: { -readonly [K in keyof SubscriptionSettings]: SubscriptionSettings[K] } = { ...s };
  if (c.queries !== undefined) next.queries = [...c.queries];
  if (c.threshold !== undefined) next.threshold = c.threshold;
  if (c.maxRate === null) delete next.maxRate;
  else if (c.maxRate !== undefined) next.maxRate = c.maxRate;
  if (c.image === null) delete next.image;
  else if (c.image !== undefined) next.image = { ...c.image };
  return next;
}

export class SubscriptionImpl implements Subscription {
  readonly detections$: Observable<DetectionsMessage>;
  readonly missed$: Observable<MissedMessage>;
  readonly images$: Observable<DecodedFrame>;
  readonly subscribed$: Observable<SubscribedMessage>;
  readonly accepted: Promise<SubscribedMessage>;

  private readonly detections = new Subject<DetectionsMessage>();
  private acceptance!: { resolve(ack: SubscribedMessage): void; reject(error: Error): void };
  private readonly missed = new Subject<MissedMessage>();
  private readonly images = new Subject<DecodedFrame>();
  private readonly acks = new ReplaySubject<SubscribedMessage>(1);
  /** Settings as requested and confirmed by an ack (queries normalised by the server). */
  private base: SubscriptionSettings;
  private inFlight: InFlight[] = [];
  /** Changes made while disconnected; the next subscribe carries them. */
  private waiting: PendingOp[] = [];
  /** queryVersion of the latest ack on this connection (the server's count); older results are stale. */
  private ackedVersion = 0;
  /** The server counts versions per connection; this is added to them so that the versions this
   * subscription shows keep rising across reconnects. */
  private versionOffset = 0;
  /** The highest version shown so far. */
  private shownVersion = 0;
  private done = false;
  private ended: Subscription['endReason'];

  constructor(
    readonly id: string,
    options: SubscribeOptions,
    private readonly host: SubscriptionHost,
  ) {
    this.base = apply({ stream: options.stream, queries: options.queries, ...(options.smooth !== undefined ? { smooth: options.smooth } : {}) }, options);
    this.detections$ = this.detections.asObservable();
    this.missed$ = this.missed.asObservable();
    this.images$ = this.images.asObservable();
    this.subscribed$ = this.acks.asObservable();
    this.accepted = new Promise<SubscribedMessage>((resolve, reject) => (this.acceptance = { resolve, reject }));
    this.accepted.catch(() => {}); // detections$ reports a refusal too: nobody has to await this
  }

  get stream(): string {
    return this.base.stream;
  }

  get closed(): boolean {
    return this.done;
  }

  get endReason(): Subscription['endReason'] {
    return this.ended;
  }

  get settings(): SubscriptionSettings {
    const pending = [...this.inFlight.flatMap((f) => f.ops), ...this.waiting];
    return pending.reduce((s, op) => apply(s, op.change), this.base);
  }

  update(change: SubscriptionUpdate): Promise<SubscribedMessage> {
    if (this.done) return Promise.reject(new GroundstreamError('CLIENT_CLOSED', `subscription ${this.id} is closed`));
    return new Promise<SubscribedMessage>((resolve, reject) => {
      const op: PendingOp = { change, resolve, reject };
      if (this.host.isOpen() && this.host.send({ type: 'update', id: this.id, ...change })) {
        this.inFlight.push({ kind: 'update', ops: [op] });
      } else {
        this.waiting.push(op);
      }
    });
  }

  unsubscribe(): void {
    if (this.done) return;
    // The server answers every request, in order: those still unanswered, then the unsubscribe.
    // Whatever it says to them (a refused subscribe or update included) is not news any more.
    if (this.host.isOpen() && this.host.send({ type: 'unsubscribe', id: this.id })) this.host.expectStrayAnswers?.(this.id, this.inFlight.length + 1);
    this.end(undefined, 'unsubscribed');
  }

  // ---------------------------------------------------------------- called by the client

  /**
   * A connection is ready: subscribe again with the settings the server last acked, then send
   * each change still unanswered (made while disconnected, or sent and lost with the old
   * connection) as its own update, in order. The server answers them in order, so a change it
   * refuses rejects only its own promise, as it would have on a live connection.
   */
  onOpen(): void {
    if (this.done) return;
    const ops = [...this.inFlight.flatMap((f) => f.ops), ...this.waiting];
    this.inFlight = [];
    this.waiting = [];
    this.ackedVersion = 0; // versions count per connection
    this.versionOffset = this.shownVersion; // ... and ours go on from the last one shown
    this.host.send({ type: 'subscribe', id: this.id, ...this.base });
    this.inFlight.push({ kind: 'subscribe', ops: [] });
    for (const op of ops) {
      if (this.host.send({ type: 'update', id: this.id, ...op.change })) this.inFlight.push({ kind: 'update', ops: [op], replay: true });
      else this.waiting.push(op);
    }
  }

  onAck(ack: SubscribedMessage): void {
    if (this.done) return;
    const answered = this.inFlight.shift();
    // Keep what the caller asked for (an unset threshold stays unset, so a re-subscribe gets the
    // server's default of the day), with the queries as the server normalised them.
    const committed = (answered?.ops ?? []).reduce((s, op) => apply(s, op.change), this.base);
    this.base = { ...committed, queries: ack.queries };
    this.ackedVersion = ack.queryVersion;
    const shown = this.rebased(ack);
    this.shownVersion = Math.max(this.shownVersion, shown.queryVersion);
    for (const op of answered?.ops ?? []) op.resolve(shown);
    this.acceptance.resolve(shown); // (only the first settles it)
    this.acks.next(shown);
  }

  /** An `error` answering this subscription's oldest request; false when none was waiting. */
  onError(error: Error): boolean {
    if (this.done) return false;
    const answered = this.inFlight.shift();
    if (!answered) return false;
    if (answered.kind === 'subscribe') {
      // The updates sent behind it will be refused too (no such subscription): not news, since
      // end() rejects their promises with this error. The host drops those answers.
      this.host.expectStrayAnswers?.(this.id, this.inFlight.length);
      this.inFlight.unshift(answered); // end() rejects it with the rest
      this.end(error);
    } else {
      for (const op of answered.ops) op.reject(error);
    }
    return true;
  }

  onDetections(msg: DetectionsMessage): void {
    if (this.done || msg.queryVersion < this.ackedVersion) return;
    if (this.inFlight.some((f) => f.replay)) return; // for settings already changed (see onOpen)
    this.detections.next(this.rebased(msg));
  }

  /** `msg` with its queryVersion counted on from earlier connections (itself on the first). */
  private rebased<T extends { readonly queryVersion: number }>(msg: T): T {
    return this.versionOffset ? { ...msg, queryVersion: msg.queryVersion + this.versionOffset } : msg;
  }

  onMissed(msg: MissedMessage): void {
    if (!this.done) this.missed.next(msg);
  }

  onImage(frame: DecodedFrame): void {
    if (!this.done) this.images.next(frame);
  }

  /** The server ended it (its stream ended, failed or was removed). Requests it had not answered
   * yet will be refused (no such subscription): not news, since end() rejects their promises. */
  endedByServer(reason: UnsubscribeReason): void {
    if (this.done) return;
    this.host.expectStrayAnswers?.(this.id, this.inFlight.length);
    this.end(undefined, reason);
  }

  /** The subscription is over: complete, or fail with `error`; reject whatever still waits. */
  end(error?: Error, reason: UnsubscribeReason | 'unsubscribed' | 'closed' = 'closed'): void {
    if (this.done) return;
    this.done = true;
    this.ended = error ? 'error' : reason;
    const pendingError = error ?? new GroundstreamError('CLIENT_CLOSED', `subscription ${this.id} ended (${reason})`);
    for (const op of [...this.inFlight.flatMap((f) => f.ops), ...this.waiting]) op.reject(pendingError);
    this.acceptance.reject(error ?? new GroundstreamError('CLIENT_CLOSED', `subscription ${this.id} ended (${reason}) before the server accepted it`));
    this.inFlight = [];
    this.waiting = [];
    this.host.release(this.id);
    for (const s of [this.missed, this.images, this.acks]) s.complete();
    if (error) this.detections.error(error);
    else this.detections.complete();
  }
}
