/**
 * How many frames a clip decodes to, counted the way a server's file source numbers them (the
 * same ffmpeg source, constant rate, every frame): the lap length of a looping stream, which
 * `eval --session` needs to match `seq` to truth frames when the truth does not say it.
 */
import { clipFrames } from './clip-frames.js';

/** Frames are scaled down to this before reaching JS: only their number matters. */
const TINY = { width: 16, height: 16, fit: 'stretch' as const };

export async function clipFrameCount(path: string): Promise<number> {
  let n = 0;
  for await (const _ of clipFrames(path, TINY)) n++;
  return n;
}
