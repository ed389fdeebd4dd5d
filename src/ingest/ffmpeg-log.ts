/**
 * Reads ffmpeg's stderr, one line at a time: the stream header (source size, frame rate, and the
 * size actually written to the pipe) and a short summary of what went wrong. Pure; the header
 * format is the same in ffmpeg 4.1 and 5.x/6.x.
 */
import { redactSecrets } from './url-policy.js';

/** One video stream as ffmpeg describes it. */
export interface VideoStreamInfo {
  readonly width: number;
  readonly height: number;
  /** Frames a second; undefined when ffmpeg prints none. */
  readonly fps?: number;
}

/** Lines that are never the reason for a failure. */
const NOISE = [
  /^\s/, // header details (Metadata, Stream, Duration), indented
  /^(Input|Output) #\d/,
  /^Stream mapping:/,
  /^Press \[q\]/,
  /^frame=\s*\d+/,
  /^video:\d/,
  /deprecated/i,
  /^\s*$/,
];

/** Lines that usually name the root cause; the lines after them are often consequences. */
const CAUSE = /not on whitelist|refused|denied|unauthori[sz]ed|forbidden|no such|not found|\b[45]\d\d\b|timed? ?out/i;

/** Lines worth showing first: errors, refusals, network failures. */
const NOTABLE = /error|invalid|fail|refused|denied|not on whitelist|not found|no such|timed? ?out|reset|unreachable|unauthori[sz]ed|forbidden|\b[45]\d\d\b|could not|cannot|unable/i;

/** `..., 1280x720 [SAR 1:1 DAR 16:9], 29.97 fps, ...` in a `Stream #0:0...: Video:` line. */
export function parseVideoStream(line: string): VideoStreamInfo | undefined {
  const m = /Stream #\d+:\d+.*?: Video: (.*)$/.exec(line);
  if (!m?.[1]) return undefined;
  const size = /, (\d{1,5})x(\d{1,5})(?=[\s,\]]|$)/.exec(m[1]);
  if (!size) return undefined;
  const fpsMatch = /, (\d+(?:\.\d+)?)(k?) fps\b/.exec(m[1]) ?? /, (\d+(?:\.\d+)?)(k?) tbr\b/.exec(m[1]);
  const fps = fpsMatch ? snapFps(Number(fpsMatch[1]) * (fpsMatch[2] ? 1000 : 1)) : undefined;
  return { width: Number(size[1]), height: Number(size[2]), ...(fps && { fps }) };
}

/** ffmpeg prints 30000/1001 as "29.97": snap such rates back to the exact NTSC fraction, so that
 * pts = seq / fps does not drift over a long clip. */
export function snapFps(fps: number): number {
  if (!(fps > 0)) return NaN;
  const n = Math.round((fps * 1001) / 1000);
  const ntsc = (n * 1000) / 1001;
  return Math.abs(ntsc - fps) < 0.006 && Math.abs(n - fps) > 0.01 ? ntsc : fps;
}

/** Collects stderr lines of one ffmpeg run. */
export class FfmpegLog {
  private section: 'none' | 'input' | 'output' = 'none';
  private readonly recent: string[] = [];
  private readonly notable: string[] = [];
  private cause: string | undefined;
  /** The first video stream of the input, once printed: upright, as ffmpeg decodes it (a 90 or
   * 270 degree display rotation, which ffmpeg applies by default, swaps the stored size). */
  input?: VideoStreamInfo;
  /** Lines since the first input video stream, until the next stream: its side data. */
  private inFirstInputStream = false;
  /** The stream written to the pipe (size after scaling; its rate), once printed. */
  output?: VideoStreamInfo;

  /** @param keep lines kept for the summary (each of recent and notable). Default 20. */
  /** `scrub`: applied to each line before it is cut to length (ffmpeg-source.ts names a file as it
   * was given there: a long real path cut in two would escape it). */
  constructor(
    private readonly keep = 20,
    private readonly scrub: (line: string) => string = (line) => line,
  ) {}

  /** Feeds one line. Returns true when this line completed the output stream header. */
  push(rawLine: string): boolean {
    const line = rawLine.replace(/\s+$/, '');
    if (/^Input #\d/.test(line)) this.section = 'input';
    else if (/^Output #\d/.test(line)) this.section = 'output';
    else if (/^Stream mapping:/.test(line)) this.section = 'none';
    const stream = this.section !== 'none' ? parseVideoStream(line) : undefined;
    if (this.section !== 'input' || /^\s*Stream #/.test(line)) this.inFirstInputStream = false;
    if (stream && this.section === 'input' && !this.input) {
      this.input = stream;
      this.inFirstInputStream = true;
    } else if (this.inFirstInputStream && this.input) {
      // `displaymatrix: rotation of -90.00 degrees` (4.1 and 5.x alike), under the stream's side data
      const rot = /displaymatrix: rotation of (-?\d+(?:\.\d+)?) degrees/.exec(line);
      if (rot) {
        this.inFirstInputStream = false;
        const quarter = Math.round(Number(rot[1]) / 90);
        if (Math.abs(quarter) % 2 === 1) this.input = { ...this.input, width: this.input.height, height: this.input.width };
      }
    }
    if (stream && this.section === 'output' && !this.output) {
      this.output = stream;
      return true;
    }
    if (NOISE.some((re) => re.test(line))) return false;
    const clean = redactSecrets(this.scrub(line.replace(/ @ 0x[0-9a-f]+\]/gi, ']'))).slice(0, 300);
    push(this.recent, clean, this.keep);
    if (NOTABLE.test(clean)) push(this.notable, clean, this.keep);
    if (CAUSE.test(clean)) this.cause = clean;
    return false;
  }

  /** The last few lines that explain a failure (errors first), led by the latest root cause
   * when it scrolled out of them; joined with " | "; '' if none. */
  summary(lines = 3): string {
    const src = this.notable.length > 0 ? this.notable : this.recent;
    const tail = src.slice(-lines);
    if (this.cause && !tail.includes(this.cause)) tail.unshift(this.cause);
    return tail.join(' | ');
  }
}

function push(ring: string[], line: string, keep: number): void {
  if (ring[ring.length - 1] === line) return; // ffmpeg repeats itself on every bad packet
  ring.push(line);
  if (ring.length > keep) ring.shift();
}
