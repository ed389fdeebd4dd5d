/**
 * A subscription that stays up: the SDK already reconnects and re-subscribes after a lost
 * connection; this also subscribes again when the server refuses or ends the subscription (the
 * stream is not there yet after a server restart, a finite stream ended), every `retryMs`, until
 * close() or until the client closes for good (bad token, gave up). A refusal that waiting cannot
 * mend (a query over the server's limits) is not tried again: it stops until the settings change.
 * Queries are checked against the limits the server announces before they are sent.
 */
import type {
  DecodedFrame,
  DetectionsMessage,
  GroundstreamClient,
  MissedMessage,
  SubscribeOptions,
  SubscribedMessage,
  Subscription,
  SubscriptionUpdate,
} from '../client/index.js';
import { CLOSE_CODES, ConnectionRejectedError, type HelloMessage } from '../client/index.js';
import { queryLimitError } from './query-limits.js';

/**
 * Refusals that waiting cannot mend (docs/protocol.md, docs/errors.md): the subscription as asked
 * is wrong for this server (a malformed or oversized message, a query it cannot take, more
 * distinct queries than it lets one client hold), or the token lacks the right to watch. Every
 * other refusal may clear by itself and is tried again: a stream not there yet
 * (PROTOCOL_STREAM_UNKNOWN) or ended until it is added again (PROTOCOL_STREAM_ENDED), the
 * stream's query budget taken by other clients (LIMIT_QUERIES), subscriptions not yet released
 * (PROTOCOL_SUBSCRIPTION_LIMIT, PROTOCOL_SUBSCRIPTION_EXISTS), and codes this page does not know.
 */
export const PERMANENT_REFUSALS: ReadonlySet<string> = new Set([
  'PROTOCOL_MESSAGE_TOO_LARGE',
  'PROTOCOL_BAD_JSON',
  'PROTOCOL_UNKNOWN_TYPE',
  'PROTOCOL_INVALID_MESSAGE',
  'QUERY_EMPTY',
  'QUERY_TOO_LONG',
  'QUERY_INVALID',
  'LIMIT_CLIENT_QUERIES',
  'AUTH_FORBIDDEN',
]);

/** True for an error whose code is one of PERMANENT_REFUSALS. */
export function isPermanentRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && PERMANENT_REFUSALS.has(code);
}

export interface LiveHandlers {
  detections(msg: DetectionsMessage): void;
  image?(frame: DecodedFrame): void;
  missed?(msg: MissedMessage): void;
  subscribed?(ack: SubscribedMessage): void;
  /** The subscription is down and will be tried again; `reason` is for people, `error` (when the
   * server refused it) has its code. */
  down?(reason: string, error?: Error): void;
  /** Refused for good (PERMANENT_REFUSALS, or over the limits in `hello`): not tried again until
   * update() changes the settings. `error.code` says why. */
  refused?(error: Error): void;
}

export class LiveSubscription {
  private sub: Subscription | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** Refused for good: nothing is tried until update(). */
  private stopped = false;
  private options: SubscribeOptions;
  /** The server's limits, from the latest hello; nothing is sent before one came. */
  private limits: HelloMessage['limits'] | undefined;
  private waitingForHello = false;
  private readonly hellos: { unsubscribe(): void };

  /** `retryMs`: wait before subscribing again. Default 2000. */
  constructor(
    private readonly client: GroundstreamClient,
    options: SubscribeOptions,
    private readonly handlers: LiveHandlers,
    private readonly retryMs = 2000,
  ) {
    this.options = options;
    this.hellos = client.hello$.subscribe((hello) => {
      this.limits = hello.limits;
      if (!this.waitingForHello) return;
      this.waitingForHello = false;
      this.start();
    });
    this.start();
  }

  get stream(): string {
    return this.options.stream;
  }

  /** The settings it asks for (and subscribes with again after a refusal or an end). */
  get settings(): SubscribeOptions {
    return this.options;
  }

  /**
   * Change queries, threshold, rate or images; rejects when refused. A change the server refuses
   * while the subscription lives is undone (its fields only, back to what the subscription has);
   * one that fails because the subscription ended stays, and the next subscribe carries it.
   * Queries over the server's limits are refused here, and change nothing. After a refusal for
   * good, a change subscribes again.
   */
  async update(change: SubscriptionUpdate): Promise<void> {
    const overLimits = change.queries && this.limits && queryLimitError(change.queries, this.limits);
    if (overLimits) throw overLimits;
    this.options = withChange(this.options, change);
    if (this.stopped) {
      this.stopped = false;
      return this.start();
    }
    const sub = this.sub;
    if (!sub || sub.closed) return; // the next subscribe carries it
    try {
      await sub.update(change);
    } catch (e) {
      if (this.sub === sub && !sub.closed) {
        const now = sub.settings; // acked, with any other change still pending on top
        const undone = withChange(this.options, {
          ...(change.queries !== undefined ? { queries: now.queries } : {}),
          ...(change.threshold !== undefined && now.threshold !== undefined ? { threshold: now.threshold } : {}),
          ...(change.maxRate !== undefined ? { maxRate: now.maxRate ?? null } : {}),
          ...(change.image !== undefined ? { image: now.image ?? null } : {}),
        });
        if (change.threshold !== undefined && now.threshold === undefined) delete (undone as { threshold?: number }).threshold;
        this.options = undone;
      }
      throw e;
    }
  }

  close(): void {
    this.closed = true;
    this.hellos.unsubscribe();
    clearTimeout(this.timer);
    this.sub?.unsubscribe();
    this.sub = null;
  }

  private start(): void {
    if (this.closed) return;
    if (!this.limits) {
      this.waitingForHello = true; // (the SDK would only queue it until then)
      return;
    }
    const overLimits = queryLimitError(this.options.queries, this.limits);
    if (overLimits) return this.stop(overLimits);
    let sub: Subscription;
    try {
      sub = this.client.subscribe(this.options);
    } catch {
      return; // the client closed for good
    }
    this.sub = sub;
    const h = this.handlers;
    sub.subscribed$.subscribe((ack) => h.subscribed?.(ack));
    sub.images$.subscribe((frame) => h.image?.(frame));
    sub.missed$.subscribe((m) => h.missed?.(m));
    sub.detections$.subscribe({
      next: (msg) => h.detections(msg),
      error: (e: unknown) => this.retry(sub, e instanceof Error ? e.message : String(e), e instanceof Error ? e : undefined),
      complete: () => this.retry(sub, sub.endReason === 'stream-removed' ? 'the stream was removed from the server' : sub.endReason === 'stream-ended' ? 'the stream ended' : 'subscription ended'),
    });
  }

  private retry(sub: Subscription, reason: string, error?: Error): void {
    if (this.closed || this.sub !== sub) return;
    this.sub = null;
    if (error && isPermanentRefusal(error)) return this.stop(error);
    this.handlers.down?.(reason, error);
    this.timer = setTimeout(() => this.start(), this.retryMs);
  }

  /** Refused for good: say so once, and wait for a change. */
  private stop(error: Error): void {
    this.stopped = true;
    this.handlers.refused?.(error);
  }
}

function withChange(o: SubscribeOptions, c: SubscriptionUpdate): SubscribeOptions {
  const next: { -readonly [K in keyof SubscribeOptions]: SubscribeOptions[K] } = { ...o };
  if (c.queries !== undefined) next.queries = c.queries;
  if (c.threshold !== undefined) next.threshold = c.threshold;
  if (c.maxRate === null) delete next.maxRate;
  else if (c.maxRate !== undefined) next.maxRate = c.maxRate;
  if (c.image === null) delete next.image;
  else if (c.image !== undefined) next.image = c.image;
  return next;
}

/**
 * Logs the client's errors, and calls `refused` with what to tell a person when one of them closed
 * the connection for good (a token: the pages stop then). The client reports `closed` before the
 * error that closed it, so the error is where the reason is.
 */
export function onErrors(client: GroundstreamClient, refused: (text: string, token: boolean) => void): void {
  client.errors$.subscribe((e) => {
    console.warn('groundstream:', e.message);
    if (client.state !== 'closed') return;
    // 4001: the token is missing or unknown (the server's reason says which)
    const token = e instanceof ConnectionRejectedError && e.closeCode === CLOSE_CODES.UNAUTHORIZED;
    const hint = !token
      ? ''
      : /unknown token/.test(e.closeReason)
        ? ' The token at the end of the address (#token=…) is not one this server knows.'
        : " Give the server's token at the end of the address: #token=YOUR_TOKEN (docs/web.md).";
    refused(`${e.message}.${hint}`, token); // (the message says "server refused the connection: …")
  });
}
