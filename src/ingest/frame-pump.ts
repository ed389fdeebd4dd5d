/**
 * The Writable that ffmpeg's stdout is piped into. It cuts frames (FrameReader) and releases each
 * one only when the consumer may take it (`wait` policy) and when it is due (native pacing). Until
 * then it holds the write callback: the pipe stops and ffmpeg blocks on its stdout, so what waits
 * is bounded by the pipe's own buffers (kernel pipe, one stream buffer) plus the frame being cut.
 * Also waits for the frame size, which ffmpeg prints on stderr before the first frame.
 */
import { Writable } from 'node:stream';
import { FrameReader, type FrameAllocator } from './frame-reader.js';

export interface PumpHooks {
  /** Whether the consumer may take a frame now. */
  canTake(): boolean;
  /** `now()` time before which the next frame must not be released; undefined: right away. */
  dueAt(): number | undefined;
  /** A whole frame, released. */
  deliver(data: Uint8Array): void;
  /** True while frames are held back for the consumer or the pacer (not ffmpeg's fault). */
  blocked(isBlocked: boolean): void;
  /** Monotonic clock in ms. Default performance.now. */
  now?(): number;
}

export class FramePump {
  /** Pipe ffmpeg's stdout here. Emits no 'close' (fluent-ffmpeg would take it for a failure). */
  readonly sink: Writable;
  private reader: FrameReader | undefined;
  private pendingChunk: Uint8Array | undefined;
  private pendingCallback: ((error?: Error | null) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private again = false;
  private disposed = false;
  private isBlocked = false;
  private readonly now: () => number;
  private resolveEnd!: (partialBytes: number) => void;
  /** Resolves when stdout has ended and every frame in it was released; with the bytes of a
   * truncated last frame (0 normally). */
  readonly ended: Promise<number> = new Promise((r) => (this.resolveEnd = r));

  constructor(
    private readonly hooks: PumpHooks,
    private readonly allocate?: FrameAllocator,
  ) {
    this.now = hooks.now ?? (() => performance.now());
    this.sink = new Writable({
      // One chunk at a time: write() returns false while we hold one, so pipe() pauses stdout.
      highWaterMark: 1,
      emitClose: false,
      write: (chunk: Buffer, _encoding, callback) => {
        this.pendingChunk = chunk;
        this.pendingCallback = callback;
        this.pump();
      },
      final: (callback) => {
        this.resolveEnd(this.reader?.partialBytes ?? 0);
        callback();
      },
    });
  }

  /** Sets the frame size once known; frames start flowing. */
  setFrameBytes(frameBytes: number): void {
    if (this.reader) return;
    this.reader = new FrameReader(frameBytes, this.allocate);
    this.pump();
  }

  /** Whether the frame size is known (ffmpeg printed its header). */
  get sized(): boolean {
    return this.reader !== undefined;
  }

  /** Re-checks the gates, e.g. after the consumer asked for more frames. */
  poke(): void {
    this.pump();
  }

  /** Stops releasing frames and lets go of the held chunk (the process is being killed). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.pendingChunk = undefined;
    this.pendingCallback = undefined;
    this.resolveEnd(0);
  }

  private setBlocked(b: boolean): void {
    if (b === this.isBlocked) return;
    this.isBlocked = b;
    this.hooks.blocked(b);
  }

  private pump(): void {
    // Re-entry comes from deliver() (consumer code calling poke or stop) and from the write
    // callback (Writable hands over its next chunk synchronously): note it and go round again.
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        if (!this.disposed && this.reader && this.pendingCallback) this.release(this.reader);
      } while (this.again);
    } finally {
      this.running = false;
    }
  }

  private release(reader: FrameReader): void {
    if (this.pendingChunk) {
      reader.feed(this.pendingChunk);
      this.pendingChunk = undefined;
    }
    while (reader.hasInput && !this.disposed) {
      if (reader.frameReady) {
        if (!this.hooks.canTake()) return this.setBlocked(true);
        const due = this.hooks.dueAt();
        const wait = due === undefined ? 0 : due - this.now();
        if (wait > 0) {
          clearTimeout(this.timer);
          this.timer = setTimeout(() => this.pump(), Math.ceil(wait));
          return this.setBlocked(true);
        }
      }
      const frame = reader.take();
      if (frame) {
        this.setBlocked(false);
        this.hooks.deliver(frame);
      }
    }
    if (this.disposed) return;
    this.setBlocked(false);
    const callback = this.pendingCallback;
    this.pendingCallback = undefined;
    callback?.();
  }
}
