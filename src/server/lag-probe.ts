/**
 * How far behind a client is, in time (docs/protocol.md, "Back-pressure"). Bytes waiting in this
 * process say little of that: the kernel's send buffer and the client's receive buffer hold
 * megabytes, thousands of small results, so a client that reads slower than results come would get
 * them later and later (a minute behind, in a robot's test) long before its socket's buffer grew.
 * So probes go behind its results, and how long each takes to be answered says how far behind it
 * is. One per connection, owned by its FramedTarget (text-frames.ts), which writes the frames; the
 * Outbox (outbox.ts) asks it whether to hold results back, and paces with it.
 */
import { WebSocket } from 'ws';
import type { LagMeter } from './outbox.js';

/** What a probe needs of its connection. */
export interface ProbeChannel {
  /** For pings, pongs, the socket's state, and what cannot go raw. */
  readonly ws: WebSocket;
  /** Writes a frame on the socket as it is, where the connection allows (text-frames.ts);
   * false when it does not, and the frame must go through ws. */
  writeRaw(frame: Buffer): boolean;
  /** Sends a text message after what was written, raw where the connection allows. */
  sendText(text: string): void;
  /** Writes the result frames queued in this pass: they go before a probe. */
  flushQueued(): void;
}

/** Default of the server's clientMaxLagMs. */
export const DEFAULT_MAX_LAG_MS = 1000;
/**
 * The lag probe: a ping whose payload is "p" and a number counting up per connection (32 bits,
 * big-endian). A pong echoes its ping's payload, and a client may answer only the newest of
 * several pings it has not answered yet (RFC 6455 5.5.3): a pong for probe k answers every probe
 * up to k. The keep-alive's pings are probes too (FramedTarget.heartbeat), so that a client that
 * answers only the newest ping answers ours.
 */
const PROBE_TAG = 0x70;
/** The payload of probe `id`, after `head` bytes left for the frame's header. */
const withPayload = (id: number, head: number) => {
  const b = Buffer.allocUnsafe(head + 5);
  b[head] = PROBE_TAG;
  b.writeUInt32BE(id >>> 0, head + 1);
  return b;
};
const probePayload = (id: number) => withPayload(id, 0);
/** The same as a frame: FIN + ping, unmasked, 5 bytes of payload. */
const probeFrame = (id: number) => {
  const b = withPayload(id, 2);
  b[0] = 0x89;
  b[1] = 5;
  return b;
};
/**
 * The same probe as the protocol's own `ping` message, id "lag<N>": every client of the protocol
 * answers it with `pong` (docs/protocol.md), and the SDK does so as it handles the message, after
 * the handlers of everything that came before it. A browser answers WebSocket pings in its network
 * stack, before the page has handled the messages before them; this one it answers from the page.
 * The first probe behind a result goes both ways; a client that answers this one is probed this
 * way from then on.
 */
const APP_PROBE = /^lag(\d{1,10})$/;
const appProbeText = (id: number) => `{"type":"ping","id":"lag${id}"}`;
/** The answer to probe N as the SDK writes it: `{"type":"pong","id":"lag<N>"}`. */
const APP_ANSWER_HEAD = Buffer.from('{"type":"pong","id":"lag');
const APP_ANSWER_TAIL = '"}';

/**
 * The probe id ("lag<N>") of a message that is exactly a probe's answer as the SDK writes it, or
 * undefined. Such a message asks nothing more of the server, so it need not wait its turn behind
 * the client's requests, nor be parsed and checked against the schema: hundreds of clients each
 * answer two probes a second, and that path cost more per client than writing their results
 * (bench: fan-out, clients that answer). Any other spelling goes the usual way (lagPongId).
 */
export function exactLagPong(d: Uint8Array): string | undefined {
  const head = APP_ANSWER_HEAD.length;
  const digits = d.length - head - APP_ANSWER_TAIL.length;
  if (digits < 1 || digits > 10) return undefined;
  for (let i = 0; i < head; i++) if (d[i] !== APP_ANSWER_HEAD[i]) return undefined;
  let id = 'lag';
  for (let i = head; i < head + digits; i++) {
    const c = d[i]!;
    if (c < 0x30 || c > 0x39) return undefined;
    id += String.fromCharCode(c);
  }
  return d[d.length - 2] === 0x22 && d[d.length - 1] === 0x7d ? id : undefined;
}
/** A protocol `ping` probe unanswered for this many maxLagMs, while the client answers WebSocket
 * pings (the keep-alive's), means it stopped answering those: probes go as WebSocket pings again. */
const APP_ANSWER_TIMEOUT = 10;

/** Probes out at once, at most, besides those the outbox sends while it paces. */
const MAX_OUT = 4;

/** Before a first answer, the link's round trip is unknown: a probe counts as late only past
 * this (ms), or maxLagMs if longer. */
const FIRST_ANSWER_GRACE_MS = 5000;

export class LagProbe implements LagMeter {
  /** The probes not yet answered, oldest first, with when each went (performance.now()). */
  private readonly probes: { id: number; at: number }[] = [];
  private nextProbe = 0;
  /** The shortest round trip a probe has had: the link's own delay, which is no lag. */
  private bestMs = Infinity;
  /** Lag is not measured for this client (it does not echo pings): bytes only. */
  private unmeasured = false;
  /** Called when a probe is answered (the outbox sends what waited for it). */
  private answeredHook: (() => void) | undefined;
  /** When the last probe went. */
  private lastProbe = -Infinity;
  /** Behind: results wait until the probe sent when that was found is answered. */
  private draining = false;
  /** Probes answered so far, and the round trip of the latest (ms). */
  private answers = { count: 0, lastMs: 0 };
  /** When the server last started reading this client again after pausing it (readingResumed):
   * its answers waited unread meanwhile, which is no lag of the client's. */
  private readAgainAt = -Infinity;
  /** The last thing written on the connection is a probe (a result or message since clears it). */
  private probeIsLast = false;
  /** Probes go as the protocol's `ping` message (the client answered one: APP_PROBE). */
  private appProbes = false;
  /** The probe that went as the protocol's `ping` too, to see whether the client answers it
   * (-1: none yet); after APP_ANSWER_TIMEOUT, no more tries. */
  private appTrial = -1;
  private appGaveUp = false;
  /** hello has gone (greeted): the protocol's ping may go now. */
  private helloSent = false;

  constructor(
    private readonly c: ProbeChannel,
    /** Results are held back while the client is this far behind (ms). */
    private readonly maxLagMs = DEFAULT_MAX_LAG_MS,
  ) {
    c.ws.on('pong', (data: Buffer) => this.pong(data));
    // one probe at once, usually answered before the first result: the link's own round trip
    this.send();
  }

  /** The client's `pong` message (taken as it arrives: server.ts), answering an app-level probe if its id is one. */
  appPong(id: string | undefined): void {
    const m = APP_PROBE.exec(id ?? '');
    if (!m) return;
    const n = Number(m[1]);
    // (the trial probe may be answered by its WebSocket pong first: its id still counts)
    if (this.answer(n) || (n === this.appTrial && !this.appGaveUp)) this.appProbes = true;
  }

  private pong(data: Buffer): void {
    if (!this.probes.length) return;
    if (this.appProbes && performance.now() - this.probes[0]!.at > APP_ANSWER_TIMEOUT * this.maxLagMs) {
      // it reads (it answers WebSocket pings), but has left the protocol's ping unanswered this
      // long: it stopped answering those. Back to WebSocket probes, or it would get nothing more.
      this.appProbes = false;
      this.appGaveUp = true;
      this.send(); // its pong answers every probe before it
    }
    if (data.length !== 5 || data[0] !== PROBE_TAG) {
      // A pong that echoes no probe while probes are out. As a client's first answer (to the
      // probe sent at connection open), it means the client does not echo: lag is not measured
      // for it (bytes only, as before probes). From a client that has echoed, it is a heartbeat
      // of its own (RFC 6455 allows it), and ignored.
      if (this.answers.count === 0) this.giveUpMeasuring();
      return;
    }
    this.answer(data.readUInt32BE(1));
  }

  /** Probe `id` was answered, and every one before it; false when it is no probe out (an id
   * never sent, or one answered already). */
  private answer(id: number): boolean {
    if (!this.probes.length) return false;
    const oldest = this.probes[0]!.id;
    if ((id - oldest) >>> 0 >= (this.nextProbe - oldest) >>> 0) return false;
    let sentAt: number | undefined;
    // every probe up to `id` (modulo 2^32: a probe is "up to" id when it is at most 2^31 before it)
    while (this.probes.length && (id - this.probes[0]!.id) >>> 0 < 0x80000000) sentAt = this.probes.shift()!.at;
    if (sentAt === undefined) return false;
    const now = performance.now();
    const ms = now - sentAt;
    this.bestMs = Math.min(this.bestMs, ms);
    this.answers = { count: this.answers.count + 1, lastMs: ms };
    if (this.draining && !this.probes.length) this.draining = false; // it has read all it was sent
    else if (!this.draining && now - Math.max(sentAt, this.readAgainAt) - this.bestMs > this.maxLagMs) {
      // Answered, but late: the client was that far behind when it answered, and what was sent
      // since waits in its buffers. Waiting for a later probe to be late too would let that
      // backlog grow for another maxLagMs or more (a page handling one message in three was
      // 6.6 s behind before results stopped, instead of 3.5, for a page emulated in Node).
      this.draining = true;
      this.c.flushQueued();
      this.send();
    }
    this.answeredHook?.();
    return true;
  }

  private giveUpMeasuring(): void {
    this.unmeasured = true;
    this.probes.length = 0;
    this.draining = false;
    this.answeredHook?.();
  }

  /** The server reads this client again after it stopped (server.ts, while too many of its
   * requests waited): answers it sent meanwhile are not its lag. */
  readingResumed(): void {
    this.readAgainAt = performance.now();
  }

  /** `hook` is called whenever a probe is answered. */
  onAnswered(hook: () => void): void {
    this.answeredHook = hook;
  }

  /**
   * hello has gone (server.ts): a probe goes now, as the protocol's `ping` too (APP_PROBE), before
   * any result. A client that handles messages after it reads them (a browser page) answers it
   * as its first turn comes, and is probed that way from its first result; tried later, behind
   * results, the answer came only after the page had handled them, and a slow page was seconds
   * behind before it was measured at all.
   */
  greeted(): void {
    this.helloSent = true;
    this.probeNow();
  }

  /** The keep-alive's ping (ws-server.ts), sent as a probe (see PROBE_TAG). */
  heartbeat(): void {
    // (a keep-alive needs a WebSocket pong: with app-level probes it is a plain ping)
    if (this.unmeasured || this.appProbes) this.c.ws.ping();
    else this.send();
  }

  /**
   * Whether the client is behind by more than maxLagMs. Bytes waiting in this process say little
   * of that: the kernel's send buffer and the client's receive buffer hold megabytes, thousands
   * of small results, so a client that reads slower than results come would get them later and
   * later (a minute behind, in a robot's test) long before bufferedAmount grew. So every
   * maxLagMs / 2, a result goes out with a ping behind it; every client must answer pings (RFC
   * 6455), and it answers once it has read what came before. A ping unanswered for maxLagMs means
   * the client is at least that far behind. Then no result goes until it has read everything it
   * was sent: one more ping goes at once, and results wait (the outbox keeps the newest) until
   * that one is answered. (Resuming when the late ping is answered would leave the results sent
   * after it still queued ahead of the newest.) The link's own round trip (the shortest a probe
   * has had) is not lag: a client across the world is not behind for being far.
   */
  lagging(): boolean {
    if (this.draining) return true;
    if (!this.probes.length || this.c.ws.isPaused) return false; // (paused: its answers wait unread here)
    const out = performance.now() - Math.max(this.probes[0]!.at, this.readAgainAt);
    if (this.bestMs === Infinity ? out <= Math.max(this.maxLagMs, FIRST_ANSWER_GRACE_MS) : out - this.bestMs <= this.maxLagMs) return false;
    this.draining = true;
    this.c.flushQueued(); // what this pass queued goes before the ping
    this.send();
    return true;
  }

  /** Lag probes answered so far, and the round trip of the latest (ms). */
  answered(): { readonly count: number; readonly lastMs: number } {
    return this.answers;
  }

  /** Lag probes sent and not yet answered. */
  probesOut(): number {
    return this.probes.length;
  }

  /** Sends a lag probe now, behind everything sent so far (the outbox paces a slow client with
   * these: one result, one probe, the next result when it is answered). */
  probeNow(): void {
    this.c.flushQueued();
    if (!this.probeIsLast) this.send(); // (one went behind that frame already)
  }

  /** A result or message was written (a probe is no longer the last thing sent). */
  wrote(): void {
    this.probeIsLast = false;
  }

  /** Whether a probe is due behind what was just written: every maxLagMs / 2, whether or not the
   * last is answered (a client falling behind is found maxLagMs after the first probe it is slow
   * to answer; waiting for each answer before the next probe let it fall another second or more
   * behind first), at most MAX_OUT at once. */
  due(): boolean {
    return !this.unmeasured && this.probes.length < MAX_OUT && performance.now() - this.lastProbe >= this.maxLagMs / 2;
  }

  /** Sends a probe behind what was just written (when due(): the framing side asks). */
  probe(): void {
    this.send();
  }

  private send(): void {
    if (this.unmeasured || this.c.ws.readyState !== WebSocket.OPEN) return;
    this.probeIsLast = true;
    this.lastProbe = performance.now();
    const id = this.nextProbe;
    this.nextProbe = (this.nextProbe + 1) >>> 0;
    this.probes.push({ id, at: this.lastProbe });
    if (!this.appProbes && !this.c.writeRaw(probeFrame(id))) this.c.ws.ping(probePayload(id));
    // (not before hello, which must be the first message)
    if (this.appProbes || (this.appTrial < 0 && !this.appGaveUp && this.helloSent)) {
      if (this.appTrial < 0) this.appTrial = id;
      this.c.sendText(appProbeText(id));
    }
  }
}
