/**
 * Cuts ffmpeg's raw stdout into whole frames. Each frame's buffer is allocated once, at its final
 * size, before its bytes arrive, and the pipe's chunks are copied into it: exactly one copy per
 * byte, no concatenation, and every frame owns its memory (byteOffset 0), so a consumer may keep
 * it as long as it likes. Pure: fed with chunks, pulled for frames.
 */

/** Allocates the buffer of one frame. Default: Buffer.allocUnsafeSlow (unpooled, not zeroed;
 * every byte is overwritten before the frame is handed out). */
export type FrameAllocator = (bytes: number) => Uint8Array;

const allocUnpooled: FrameAllocator = (n) => Buffer.allocUnsafeSlow(n);

export class FrameReader {
  private chunk: Uint8Array | undefined;
  private offset = 0;
  private frame: Uint8Array | undefined;
  private filled = 0;

  /** @param frameBytes bytes of one frame: width * height * 3 for rgb24. */
  constructor(
    readonly frameBytes: number,
    private readonly allocate: FrameAllocator = allocUnpooled,
  ) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`frame size ${frameBytes}`);
  }

  /** Whether fed bytes remain; feed the next chunk only once this is false. */
  get hasInput(): boolean {
    return this.chunk !== undefined;
  }

  /** Whether the fed bytes complete a frame, i.e. the next `take()` returns one. */
  get frameReady(): boolean {
    return this.chunk !== undefined && this.filled + (this.chunk.length - this.offset) >= this.frameBytes;
  }

  /** Bytes of a frame begun but not finished (non-zero at the end of the stream: truncated). */
  get partialBytes(): number {
    return this.filled;
  }

  /** Hands over the next chunk of the pipe. The reader reads it in place; do not reuse it. */
  feed(chunk: Uint8Array): void {
    if (this.chunk) throw new Error('FrameReader.feed: previous chunk not consumed');
    if (chunk.length > 0) {
      this.chunk = chunk;
      this.offset = 0;
    }
  }

  /** The next whole frame, or undefined once the fed chunk is used up (its tail is kept). */
  take(): Uint8Array | undefined {
    const chunk = this.chunk;
    if (!chunk) return undefined;
    this.frame ??= this.allocate(this.frameBytes);
    const n = Math.min(this.frameBytes - this.filled, chunk.length - this.offset);
    this.frame.set(chunk.subarray(this.offset, this.offset + n), this.filled);
    this.filled += n;
    this.offset += n;
    if (this.offset === chunk.length) this.chunk = undefined;
    if (this.filled < this.frameBytes) return undefined;
    const done = this.frame;
    this.frame = undefined;
    this.filled = 0;
    return done;
  }
}
