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
import { LagProbe } from './lag-probe.js';
import type { SendTarget } from './outbox.js';

const FIN_TEXT = 0x81;

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
  /** How far behind the client is (lag-probe.ts). */
  readonly lag: LagProbe;

  constructor(
    private readonly ws: WebSocket,
    private readonly raw: Duplex,
    /** Results are conflated while the client is this far behind (ms). */
    maxLagMs?: number,
  ) {
    this.plain = ws.extensions === '';
    this.lag = new LagProbe(
      {
        ws,
        writeRaw: (frame) => {
          if (!this.plain || !this.raw.writable) return false;
          this.raw.write(frame);
          return true;
        },
        sendText: (text) => {
          if (this.plain && this.raw.writable) this.raw.write(textFrame(text));
          else this.ws.send(text);
        },
        flushQueued: writeQueuedFrames,
      },
      maxLagMs,
    );
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
    this.lag.wrote();
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
      this.lag.wrote();
      if (this.lag.due()) this.lag.probe();
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
      this.lag.wrote();
      if (!this.lag.due()) this.raw.write(frame);
      else {
        // one system call for both (writev)
        this.raw.cork();
        this.raw.write(frame);
        this.lag.probe();
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
