/**
 * Every frame of a clip, in order, none skipped: an ffmpeg source in `wait` mode read as fast as
 * the consumer takes frames. For evaluation and regression tests.
 */
import { dirname, resolve } from 'node:path';
import type { Frame } from '../domain/types.js';
import { GroundstreamError } from '../errors.js';
import { openFfmpegSource } from '../ingest/create-source.js';
import type { WorkingSize } from '../ingest/index.js';

export async function* clipFrames(path: string, size?: WorkingSize): AsyncGenerator<Frame> {
  const abs = resolve(path);
  const source = await openFfmpegSource(abs, {
    streamId: 'eval',
    size,
    pacing: 'fast',
    policy: 'wait',
    access: { fileRoots: [dirname(abs)] },
  });
  const queue: Frame[] = [];
  let done = false;
  let failure: GroundstreamError | null = null;
  let wake: (() => void) | null = null;
  const poke = () => {
    wake?.();
    wake = null;
  };
  const fsub = source.frames$.subscribe({ next: (f) => (queue.push(f), poke()), complete: () => ((done = true), poke()) });
  const ssub = source.status$.subscribe((s) => {
    // (the status's error message has its code's wording already: the detail, not it, is passed on)
    if (s.state === 'failed') failure = new GroundstreamError(s.error?.code ?? 'INGEST_DECODE_FAILED', s.detail ?? s.error?.message ?? path);
    if (s.state === 'ended' || s.state === 'failed') {
      done = true;
      poke();
    }
  });
  try {
    source.start();
    source.request(1);
    for (;;) {
      if (queue.length) {
        const f = queue.shift()!;
        yield f;
        source.request(1);
        continue;
      }
      if (done) break;
      await new Promise<void>((r) => (wake = r));
    }
    if (failure) throw failure;
  } finally {
    fsub.unsubscribe();
    ssub.unsubscribe();
    await source.stop();
  }
}
