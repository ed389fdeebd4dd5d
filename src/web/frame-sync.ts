/**
 * Pairs viewer images with results by frame `seq` (the server sends a frame's image just before
 * its result; see docs/protocol.md, "Viewer images"), so the viewer draws boxes only on the frame
 * they were computed on. Results without an image (images are rate-limited) pair with nothing.
 * Pure and generic over the decoded image type.
 */
export class FrameSync<Image> {
  private readonly images = new Map<number, Image>();

  /** `keep`: images waiting for their result, at most; older ones are dropped. Default 8. */
  constructor(
    private readonly keep = 8,
    private readonly dispose: (image: Image) => void = () => undefined,
  ) {}

  /** An image of frame `seq` arrived. */
  addImage(seq: number, image: Image): void {
    const old = this.images.get(seq);
    if (old !== undefined) this.dispose(old);
    this.images.set(seq, image);
    while (this.images.size > this.keep) {
      const [oldest, img] = this.images.entries().next().value as [number, Image];
      this.images.delete(oldest);
      this.dispose(img);
    }
  }

  /**
   * The result of frame `seq` arrived: its image, if one came, which is handed over (the caller
   * disposes of it). Images of earlier frames can no longer pair (results come in order) and go.
   */
  takeImage(seq: number): Image | undefined {
    const image = this.images.get(seq);
    this.images.delete(seq);
    for (const [s, img] of this.images) {
      if (s < seq) {
        this.images.delete(s);
        this.dispose(img);
      }
    }
    return image;
  }

  /** Drop everything (another stream was picked). */
  reset(): void {
    for (const img of this.images.values()) this.dispose(img);
    this.images.clear();
  }
}
