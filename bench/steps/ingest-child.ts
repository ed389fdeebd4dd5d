/**
 * The ingest benchmark's measurements (see ingest.ts), in a fresh plain-Node process so that the JS
 * side of FfmpegSource runs as it does in production (built code under node; under vite-node its
 * big heap brought a full garbage collection every 80-odd frames). Prints one JSON line: the runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ffmpegPath, openFfmpegSource, type DecodeArgs, type FfmpegSource } from '../../src/ingest/index.js';
import { benchInput } from '../lib/child-input.js';

const SIZE = 224;

/** CPU seconds of this process's reaped children so far (cutime + cstime, /proc/self/stat fields
 * 16 and 17, in USER_HZ = 100 ticks); NaN where there is no /proc. */
function childCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

interface SourceRun {
  frames: number;
  seconds: number;
  /** From start() to the first frame, ms (process start, probing, first decode). */
  firstFrameMs: number;
  /** CPU of this process (the JS side: pipe reads, framing, emitting), µs a frame. */
  jsCpuPerFrameUs: number;
  /** CPU of the ffmpeg process, µs a frame. */
  ffmpegCpuPerFrameUs: number;
  source: FfmpegSource;
}

interface AloneRun {
  seconds: number;
  /** CPU of ffmpeg, seconds. */
  cpu: number;
}

async function viaSource(clip: string, root: string): Promise<SourceRun> {
  const source = await openFfmpegSource(clip, { streamId: 'bench', size: { width: SIZE, height: SIZE }, pacing: 'fast', access: { fileRoots: [root] } });
  let frames = 0;
  let bytes = 0;
  let first = 0;
  source.frames$.subscribe((f) => {
    if (frames++ === 0) first = performance.now();
    bytes += f.data[0]!; // touch the frame as a consumer would
  });
  const done = new Promise<void>((resolve) => source.status$.subscribe({ complete: () => resolve() }));
  const c0 = process.cpuUsage();
  const k0 = childCpuSeconds();
  const t0 = performance.now();
  source.start();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  // The session waits for ffmpeg to be reaped before the source ends: its CPU is counted by now.
  const ffmpegCpu = childCpuSeconds() - k0;
  if (source.status.state !== 'ended') throw new Error(`source ${source.status.state}: ${source.status.detail ?? ''}`);
  void bytes;
  return { frames, seconds, firstFrameMs: first - t0, jsCpuPerFrameUs: (cpu.user + cpu.system) / frames, ffmpegCpuPerFrameUs: (ffmpegCpu * 1e6) / frames, source };
}

function viaFfmpegAlone(a: DecodeArgs): Promise<AloneRun> {
  // The same arguments, quieter, and the same raw frames to /dev/null instead of a pipe.
  const input = a.inputOptions.map((o) => (o === 'info' ? 'error' : o));
  const args = [...input, '-i', a.input, ...a.outputOptions, '-y', '/dev/null'];
  return new Promise((resolve, reject) => {
    const k0 = childCpuSeconds();
    const t0 = performance.now();
    const p = spawn(ffmpegPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('exit', (code) => {
      const seconds = (performance.now() - t0) / 1000;
      if (code === 0) resolve({ seconds, cpu: childCpuSeconds() - k0 });
      else reject(new Error(`ffmpeg exited ${code}: ${err}`));
    });
  });
}


const { clip, root, pairs } = benchInput<{ clip: string; root: string; pairs: number }>();
const warm = await viaSource(clip, root); // page cache, binary, JIT
const args = warm.source.commandLine;
await viaFfmpegAlone(args);
const runs = { ours: [] as number[], alone: [] as number[], frames: [] as number[], first: [] as number[], js: [] as number[], ffmpeg: [] as number[], cpuAlone: [] as number[] };
for (let r = 0; r < pairs; r++) {
  const aloneFirst = r % 2 === 1 ? await viaFfmpegAlone(args) : undefined;
  const v = await viaSource(clip, root);
  const a = aloneFirst ?? (await viaFfmpegAlone(args));
  runs.ours.push(v.frames / v.seconds);
  runs.frames.push(v.frames);
  runs.first.push(v.firstFrameMs);
  runs.js.push(v.jsCpuPerFrameUs);
  runs.ffmpeg.push(v.ffmpegCpuPerFrameUs);
  runs.alone.push(v.frames / a.seconds);
  runs.cpuAlone.push((a.cpu * 1e6) / v.frames);
}
console.log(JSON.stringify(runs));
process.exit(0);
