/**
 * Results go out as pre-framed WebSocket text frames, one socket write each.
 *
 * `ws.send(string)` builds a header in its own buffer and writes it and the string corked (a
 * writev, in which Node encodes the string): at hundreds of clients a frame, that per-socket work
 * is what fan-out costs beyond the system call itself (bench: "Fan-out floor"). Here the header
 * and the UTF-8 payload are laid out in one buffer and written once: from a string (control
 * messages), or from byte parts (FramedText: results, whose encoded bytes many clients share).
 *
 * Writing beside ws on its socket is safe only while ws's sender writes synchronously, in call
 * order: ws queues frames only while it compresses (permessage-deflate: attachWebSocket turns it
 * off, and a connection that negotiated any extension gets everything through ws) or reads a Blob
 * (never sent here). Everything else (control frames, binary messages, the closing handshake)
 * stays with ws, and nothing is written here unless ws says the socket is open. Result frames
 * wait for the end of the pass that queued them (see `queue`): whatever else goes through a
 * target writes them first, and whoever closes connections calls writeQueuedFrames() first. ws's
 * own pings and pongs may overtake a queued result, which the protocol allows.
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { SendTarget } from './outbox.js';

const FIN_TEXT = 0x81;

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
const probePayload = (id: number) => {
  const b = Buffer.allocUnsafe(5);
  b[0] = PROBE_TAG;
  b.writeUInt32BE(id >>> 0, 1);
  return b;
};
/** The same as a frame: FIN + ping, unmasked, 5 bytes of payload. */
const probeFrame = (id: number) => {
  const b = Buffer.allocUnsafe(7);
  b[0] = 0x89;
  b[1] = 5;
  b[2] = PROBE_TAG;
  b.writeUInt32BE(id >>> 0, 3);
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
/** A protocol `ping` probe unanswered for this many maxLagMs, while the client answers WebSocket
 * pings (the keep-alive's), means it stopped answering those: probes go as WebSocket pings again. */
const APP_ANSWER_TIMEOUT = 10;

/** Before a first answer, the link's round trip is unknown: a probe counts as late only past
 * this (ms), or maxLagMs if longer. */
const FIRST_ANSWER_GRACE_MS = 5000;

/** One unmasked, final text frame (server to client, RFC 6455 section 5.2) holding `text`. */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  writeHeader(frame, length, head);
  frame.write(text, head, 'utf8');
  return frame;
}

/** A text message already laid out as its frame; `text()` reads it back (for a connection that
 * must get its text through ws). */
export class FramedText {
  constructor(
    readonly frame: Buffer,
    private readonly head: number,
  ) {}

  text(): string {
    return this.frame.toString('utf8', this.head);
  }
}

/** One text frame whose payload is the UTF-8 bytes `parts` hold, in order: copies, no encoding. */
export function framedParts(...parts: Uint8Array[]): FramedText {
  let length = 0;
  for (const p of parts) length += p.length;
  const head = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + length);
  writeHeader(frame, length, head);
  let at = head;
  for (const p of parts) {
    frame.set(p, at);
    at += p.length;
  }
  return new FramedText(frame, head);
}

function writeHeader(frame: Buffer, length: number, head: number): void {
  frame[0] = FIN_TEXT;
  if (head === 2) frame[1] = length;
  else if (head === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
}

/** The last text framed, and its frame: a control message that goes to many clients in one pass
 * (a stream's status, to everyone) is framed once. Frames are never changed after they are made,
 * so one may sit in many sockets' queues. (Results are framed in result-frame.ts.) */
let last: { text: string; frame: Buffer } | null = null;

function frameOf(text: string): Buffer {
  if (last?.text !== text) last = { text, frame: textFrame(text) };
  return last.frame;
}

/** The outbox's view of a client: ws for state and everything but text, `raw` (the socket ws
 * upgraded) for text frames. A class, not an object literal with getters: the outbox reads
 * `bufferedAmount` and `readyState` of hundreds of these per result, and getters on a prototype
 * keep those reads monomorphic (per-object getter closures made every read an inline-cache miss). */
export class FramedTarget implements SendTarget {
  /** No extension negotiated (fixed at the handshake): text frames may be written here. */
  private readonly plain: boolean;
  /** The lag probes not yet answered, oldest first, with when each went (performance.now()). */
  private readonly probes: { id: number; at: number }[] = [];
  private nextProbe = 0;
  /** The shortest round trip a probe has had: the link's own delay, which is no lag. */
  private bestMs = Infinity;
  /** Lag is not measured for this client (it does not echo pings): bytes only. */
  private unmeasured = false;
  /** Called when a probe is answered (the outbox sends what waited for it). */
  private answeredHook: (() => void) | undefined;
  /** When the last lag probe went. */
  private lastProbe = -Infinity;
  /** Behind: results wait until the probe sent when that was found is answered. */
  private draining = false;
  /** Probes answered so far, and the round trip of the latest (ms). */
  private answers = { count: 0, lastMs: 0 };
  /** When the server last started reading this client again after pausing it (readingResumed):
   * its answers waited unread meanwhile, which is no lag of the client's. */
  private readAgainAt = -Infinity;
  /** The last thing written here is a probe (a result frame since clears it). */
  private probeIsLast = false;
  /** Probes go as the protocol's `ping` message (the client answered one: APP_PROBE). */
  private appProbes = false;
  /** The probe that went as the protocol's `ping` too, to see whether the client answers it
   * (-1: none yet); after APP_ANSWER_TIMEOUT, no more tries. */
  private appTrial = -1;
  private appGaveUp = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly raw: Duplex,
    /** Results are conflated while the lag probe has gone unanswered this long (ms). */
    private readonly maxLagMs = DEFAULT_MAX_LAG_MS,
  ) {
    this.plain = ws.extensions === '';
    ws.on('pong', (data: Buffer) => this.pong(data));
    // one probe at once, usually answered before the first result: the link's own round trip
    this.sendProbe(true);
  }

  /** The client's `pong` message (client-session.ts), answering an app-level probe if its id is one. */
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
      this.sendProbe(true); // its pong answers every probe before it
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
    const ms = performance.now() - sentAt;
    this.bestMs = Math.min(this.bestMs, ms);
    this.answers = { count: this.answers.count + 1, lastMs: ms };
    if (this.draining && !this.probes.length) this.draining = false; // it has read all it was sent
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

  /** The keep-alive's ping (ws-server.ts), sent as a probe (see PROBE_TAG). */
  heartbeat(): void {
    // (a keep-alive needs a WebSocket pong: with app-level probes it is a plain ping)
    if (this.unmeasured || this.appProbes) this.ws.ping();
    else this.sendProbe(true);
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
    if (!this.probes.length || this.ws.isPaused) return false; // (paused: its answers wait unread here)
    const out = performance.now() - Math.max(this.probes[0]!.at, this.readAgainAt);
    if (this.bestMs === Infinity ? out <= Math.max(this.maxLagMs, FIRST_ANSWER_GRACE_MS) : out - this.bestMs <= this.maxLagMs) return false;
    this.draining = true;
    writeQueuedFrames(); // what this pass queued goes before the ping
    this.sendProbe(!this.plain);
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
    writeQueuedFrames();
    if (!this.probeIsLast) this.sendProbe(!this.plain); // (one went behind that frame already)
  }

  /** Sends a lag probe after what was just written, when one is due (see lagging()). */
  private probe(viaWs: boolean): void {
    if (this.probes.length || performance.now() - this.lastProbe < this.maxLagMs / 2) return;
    this.sendProbe(viaWs);
  }

  private sendProbe(viaWs: boolean): void {
    if (this.unmeasured || this.ws.readyState !== WebSocket.OPEN) return;
    this.probeIsLast = true;
    this.lastProbe = performance.now();
    const id = this.nextProbe;
    this.nextProbe = (this.nextProbe + 1) >>> 0;
    this.probes.push({ id, at: this.lastProbe });
    if (!this.appProbes) {
      if (viaWs || !this.raw.writable) this.ws.ping(probePayload(id));
      else this.raw.write(probeFrame(id));
    }
    // (not the one sent from the constructor: hello must be the first message)
    if (this.appProbes || (this.appTrial < 0 && !this.appGaveUp && this.probes.length + this.answers.count > 1)) {
      if (this.appTrial < 0) this.appTrial = id;
      if (this.plain && this.raw.writable) this.raw.write(textFrame(appProbeText(id)));
      else this.ws.send(appProbeText(id));
    }
  }

  /** Bytes of result frames queued in this pass, not yet written. */
  private queuedBytes = 0;

  get bufferedAmount(): number {
    // (ws's count includes what is written here: it is the socket's own queue)
    return this.ws.bufferedAmount + this.queuedBytes;
  }

  get readyState(): number {
    return this.ws.readyState;
  }

  send(data: string | Uint8Array): void {
    writeQueuedFrames(); // results queued before this go first
    this.probeIsLast = false;
    if (this.plain && typeof data === 'string' && this.ws.readyState === WebSocket.OPEN && this.raw.writable) this.raw.write(frameOf(data));
    else this.ws.send(data);
  }

  /** Queues a result's frame; every frame queued in the same pass is written when it ends. */
  sendText(t: FramedText): void {
    if (this.plain && this.ws.readyState === WebSocket.OPEN && this.raw.writable) {
      if (!queue.length) queueMicrotask(writeQueuedFrames);
      queue.push(this, t.frame);
      this.queuedBytes += t.frame.length;
    } else {
      writeQueuedFrames();
      this.ws.send(t.text());
      this.probeIsLast = false;
      this.probe(true);
    }
  }

  terminate(): void {
    this.ws.terminate(); // (its queued frames are dropped: see write)
  }

  /** Writes a queued frame, unless the connection stopped being open since it was queued (frames
   * sent after ws began to close are dropped, as ws drops them). A write that throws ends this
   * connection only. */
  write(frame: Buffer): void {
    this.queuedBytes -= frame.length;
    if (this.ws.readyState !== WebSocket.OPEN || !this.raw.writable) return;
    try {
      this.probeIsLast = false;
      if (this.probes.length || performance.now() - this.lastProbe < this.maxLagMs / 2) this.raw.write(frame);
      else {
        // one system call for both (writev)
        this.raw.cork();
        this.raw.write(frame);
        this.probe(false);
        this.raw.uncork();
      }
    } catch {
      this.ws.terminate();
    }
  }
}

/**
 * Result frames queued in the current pass, as (target, frame) pairs, in order. A result goes to
 * hundreds of clients in one synchronous pass; writing their frames together afterwards, in one
 * loop, cost about 2 µs less per client at 200 clients than writing each as its result was handed
 * out (measured in turns, 11.1 against 13.4 µs): the system calls run back to back, with nothing of
 * ours between them. Anything else sent on a target writes the queue first, so each socket's
 * messages keep their order. (Socket writes do not call back into this synchronously: Node reports
 * errors and drains later.)
 */
const queue: (FramedTarget | Buffer)[] = [];

/** Writes the result frames queued so far. Besides the end of each pass, call it before closing
 * connections, so that what was sent before the close goes before the close frame. */
export function writeQueuedFrames(): void {
  if (!queue.length) return;
  const items = queue.splice(0, queue.length);
  for (let i = 0; i < items.length; i += 2) (items[i] as FramedTarget).write(items[i + 1] as Buffer);
}

export function framedTarget(ws: WebSocket, raw: Duplex, maxLagMs?: number): FramedTarget {
  return new FramedTarget(ws, raw, maxLagMs);
}
