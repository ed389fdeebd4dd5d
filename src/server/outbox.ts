/**
 * Per-client back-pressure. Control messages always go out; results go out while the client's
 * socket buffer is under the limit and the client is not behind in time (SendTarget.lag). When
 * either fails, each subscription keeps only its newest result
 * (conflation) and counts the ones it replaced; when the client has caught up, it gets a
 * `missed` notice with that count, then the newest result. A slow client therefore costs the
 * server one pending result per subscription, and never delays anyone else.
 *
 * Control messages are not conflated (acks, errors and status must not be lost), so a client
 * that sends requests but never reads the answers could make its buffer grow without end: past
 * hardLimit(limit), the connection is dropped (the client sees an abnormal
 * close, and reconnects if it is still alive).
 */
import type { MissedMessage, ServerMessage } from '../protocol/index.js';
import { encodeServerMessage } from '../protocol/index.js';
import type { FramedText } from './text-frames.js';

/** The part of a WebSocket the outbox needs. */
export interface SendTarget {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: string | Uint8Array): void;
  /** Sends a text message laid out as its frame (text-frames.ts writes it as is, where the
   * connection allows, when the pass that sent it ends). */
  sendText(text: FramedText): void;
  /** Drops the connection at once (ws: terminate()). */
  terminate(): void;
  /** How far behind the client is in time (lag-probe.ts). Absent: bytes only, and no pacing. */
  readonly lag?: LagMeter;
}

/** What the outbox needs of a LagProbe (lag-probe.ts). */
export interface LagMeter {
  /** Whether the client is further behind what it was sent than the server allows. */
  lagging(): boolean;
  /** Probes sent and not yet answered. */
  probesOut(): number;
  /** Sends a probe behind everything sent so far. */
  probeNow(): void;
  /** Probes answered so far, and the round trip of the latest, ms. */
  answered(): { readonly count: number; readonly lastMs: number };
  /** Calls `hook` whenever a probe is answered: what waited for it goes then. */
  onAnswered(hook: () => void): void;
}

/** A paced client whose window grows past this (it kept up with this many results in flight)
 * goes back to the full stream. */
const MAX_WINDOW = 8;
/** A round trip within this of the best one seen (x, + ms) means nothing queued at the client. */
const RTT_SLACK = 1.5;
const RTT_SLACK_MS = 5;

const OPEN = 1;
/** Bytes waiting in a client's socket buffer at which it is dropped: 4 times the limit, and at
 * least the limit plus HARD_LIMIT_MARGIN, since one result or viewer image may go out just under
 * the limit and take the buffer well over it while the client reads normally. */
export const HARD_LIMIT_FACTOR = 4;
export const HARD_LIMIT_MARGIN = 16 * 1024 * 1024;
export const hardLimit = (limit: number): number => Math.max(HARD_LIMIT_FACTOR * limit, limit + HARD_LIMIT_MARGIN);

export class Outbox {
  private readonly pending = new Map<string, { text: FramedText; missed: number; extra?: Uint8Array }>();
  private timer: NodeJS.Timeout | null = null;
  /**
   * Paced: the client fell behind in time (lagging). A client that reads slower than results come
   * would fall behind again at once, and each time be sent up to clientMaxLagMs of results it then
   * reads late. So, paced, each result goes with a probe behind it, and at most `window` results
   * are unanswered at once (the newest of each subscription; the rest are counted as missed).
   * The window starts at 1 and moves with the answers' round trips, as TCP Vegas does with its
   * own: a window's worth of answers near the best round trip seen (nothing queued at the client)
   * lets one more be in flight; one well above it (results wait in the client's buffers) takes
   * one away. A client slower than the stream settles at one or two in flight, each result about
   * one handler's time old; one that is only far away (a long round trip, but fast) grows its
   * window past MAX_WINDOW within a few round trips and goes back to the full stream.
   */
  private paced = false;
  private window = 1;
  /** Answers on time since the window last changed. */
  private onTime = 0;
  /** The best round trip since pacing began: one result's handling plus the link. (The target's
   * own best, which it subtracts from lag, is the link alone: measured while the client idled.) */
  private bestRtt = Infinity;
  private seenAnswers = 0;
  /** Results replaced before they could be sent, over the client's lifetime. */
  missedTotal = 0;

  /** `limit`: bytes in the socket's send buffer above which results are conflated. */
  constructor(
    private readonly socket: SendTarget,
    private readonly limit: number,
    private readonly onMissed?: (n: number) => void,
  ) {
    socket.lag?.onAnswered(() => {
      if (this.pending.size) this.flush();
    });
  }

  /** Sends a control message now (they are small and must not be lost). */
  send(msg: ServerMessage): void {
    if (this.socket.readyState !== OPEN) return;
    if (this.socket.bufferedAmount > hardLimit(this.limit)) {
      this.close();
      this.socket.terminate(); // it reads nothing, and the answers would pile up here
      return;
    }
    this.socket.send(encodeServerMessage(msg));
  }

  /** Offers the result of a subscription, as its encoded `detections` message (and optionally a
   * binary frame image that belongs to it). */
  offer(subscription: string, text: FramedText, image?: Uint8Array): void {
    if (this.socket.readyState !== OPEN) return;
    const key = subscription;
    const p = this.pending.get(key);
    if (!p && !this.behind()) {
      if (image) this.socket.send(image);
      this.socket.sendText(text);
      if (this.paced) this.socket.lag!.probeNow();
      return;
    }
    if (p) {
      p.missed++;
      this.missedTotal++;
      this.onMissed?.(1);
      // The newest wins, except that a result with a frame image is not replaced by one without:
      // a viewer shows a result only with its picture, and pictures come at a few a second, so a
      // paced viewer would hardly ever be sent one. It gets the newest pictured result instead.
      if (image || !p.extra) {
        p.text = text;
        p.extra = image;
      }
    } else {
      this.pending.set(key, { text, missed: 0, extra: image });
    }
    // (a result that waited while the client is no longer behind goes now, with this one)
    if (p && !this.behind()) this.flush();
    else this.schedule();
  }

  /** Forgets a subscription's pending result (it was unsubscribed). */
  drop(subscription: string): void {
    this.pending.delete(subscription);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }

  /** Results wait (conflated) while the client's buffer is over the limit, or while it is behind
   * in time: small results fill the kernel's buffers for a long while before the buffer here grows. */
  private behind(): boolean {
    if (this.socket.bufferedAmount > this.limit) return true;
    const lag = this.socket.lag;
    if (!lag) return false;
    if (lag.lagging()) {
      if (!this.paced) {
        this.paced = true;
        this.window = 1;
        this.onTime = 0;
        this.bestRtt = Infinity;
        this.seenAnswers = lag.answered().count;
      }
      return true;
    }
    if (!this.paced) return false;
    this.adjustWindow(lag);
    return this.paced && lag.probesOut() >= this.window;
  }

  /** Moves a paced client's window by its latest answer (see `paced`), and unpaces it when the
   * window has grown past MAX_WINDOW. */
  private adjustWindow(lag: LagMeter): void {
    const a = lag.answered();
    if (a.count === this.seenAnswers) return;
    this.seenAnswers = a.count;
    this.bestRtt = Math.min(this.bestRtt, a.lastMs);
    if (a.lastMs > RTT_SLACK * this.bestRtt + RTT_SLACK_MS) {
      this.window = Math.max(1, this.window - 1);
      this.onTime = 0;
    } else if (++this.onTime >= this.window) {
      // a window's worth of answers on time: one more in flight (growing by one per answer, a
      // slow reader's window swung between one and three, its results two handler times old)
      this.window++;
      this.onTime = 0;
      if (this.window > MAX_WINDOW) this.paced = false;
    }
  }

  private schedule(): void {
    // Waiting for an answer to a probe: the answer flushes (onAnswered). Waiting for bytes to
    // drain: ws emits no per-socket drain event, so poll while something waits (only then).
    if (this.socket.lag && this.socket.bufferedAmount <= this.limit) return;
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flush();
    }, 10);
  }

  private flush(): void {
    if (this.socket.readyState !== OPEN) return this.close();
    for (const [key, p] of this.pending) {
      if (this.behind()) break;
      this.pending.delete(key);
      if (p.missed > 0) this.send({ type: 'missed', subscription: key, count: p.missed } satisfies MissedMessage);
      if (p.extra) this.socket.send(p.extra);
      this.socket.sendText(p.text);
      if (this.paced) this.socket.lag!.probeNow();
    }
    if (this.pending.size) this.schedule();
  }
}
