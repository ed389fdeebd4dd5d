/**
 * Ingest benchmark: decode a 1280x720 H.264 clip to 224x224 RGB through FfmpegSource (fast
 * pacing), against ffmpeg alone writing the same raw frames to /dev/null. Median of several runs,
 * interleaved so that background load hits both alike.
 *
 *   npx vite-node bench/ingest.ts [--clip fixtures/clips/clip05-1280x720.mp4] [--runs 5] [--size 224] [--seconds 10]
 *
 * Targets (issue 4): at least 150 frames/s, and within 1.2x of ffmpeg alone.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { lastValueFrom } from 'rxjs';
import { buildDecodeArgs, ffmpegBinary, ffmpegVersion, openFfmpegSource, resolveSource, type WorkingSize } from '../src/ingest/index.js';

const { values } = parseArgs({
  options: {
    clip: { type: 'string' },
    runs: { type: 'string', default: '5' },
    size: { type: 'string', default: '224' },
    seconds: { type: 'string', default: '10' },
  },
});
const runs = Number(values.runs);
const side = Number(values.size);
const size: WorkingSize = { width: side, height: side, fit: 'stretch' };
const binary = ffmpegBinary();
const work = mkdtempSync(join(tmpdir(), 'gs-bench-'));

/** The clip given, else a 1280x720 testsrc2 clip (`--seconds` long; the fixtures are only 2.5 s,
 * so a run of them mostly measures process start-up). */
function findClip(): string {
  if (values.clip) return resolve(values.clip);
  const out = join(work, 'bench-720p.mp4');
  execFileSync(binary.path, [
    '-nostdin', '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${values.seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', out,
  ]);
  return out;
}

/** CPU seconds used so far by reaped child processes (cutime + cstime of /proc/self/stat): the
 * ffmpeg runs, measured without being disturbed by the machine's other load. */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100; // fields 16 and 17, in clock ticks (USER_HZ 100)
}

/** CPU seconds of this process (the JS side). */
function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function viaSource(clip: string): Promise<{ frames: number; seconds: number }> {
  const source = await openFfmpegSource(clip, { streamId: 'bench', pacing: 'fast', size, access: { fileRoots: [dirname(clip)] } });
  let frames = 0;
  source.frames$.subscribe(() => (frames += 1));
  const done = lastValueFrom(source.status$);
  const t0 = performance.now();
  source.start();
  const final = await done;
  if (final.state !== 'ended') throw new Error(`source ${final.state}: ${final.detail}`);
  return { frames, seconds: (performance.now() - t0) / 1000 };
}

async function ffmpegAlone(clip: string): Promise<number> {
  const input = await resolveSource({ kind: 'file', path: clip }, { fileRoots: [dirname(clip)] });
  const a = buildDecodeArgs(input, { size });
  const t0 = performance.now();
  await new Promise<void>((ok, fail) => {
    const p = spawn(binary.path, [...a.inputOptions, '-i', a.input, ...a.outputOptions, '-y', '/dev/null'], { stdio: 'ignore' });
    p.on('error', fail);
    p.on('exit', (code) => (code === 0 ? ok() : fail(new Error(`ffmpeg exited ${code}`))));
  });
  return (performance.now() - t0) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

try {
  const clip = findClip();
  console.log(`ffmpeg: ${binary.path} (${binary.origin}) — ${ffmpegVersion(binary.path) ?? 'version unknown'}`);
  console.log(`clip: ${clip}; working size ${side}x${side}; ${runs} runs; ${cpus().length} CPUs`);
  await viaSource(clip); // warm-up: fluent-ffmpeg's one-time capability probe, page cache
  const ours: number[] = [];
  const alone: number[] = [];
  const cpuOurs: number[] = [];
  const cpuAlone: number[] = [];
  let frames = 0;
  const timedAlone = async () => {
    const c0 = childCpuSeconds();
    const seconds = await ffmpegAlone(clip);
    return { seconds, cpu: childCpuSeconds() - c0 };
  };
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first, so that neither always runs on a warmer (or busier) machine.
    const aloneFirst = i % 2 === 1 ? await timedAlone() : undefined;
    const c0 = childCpuSeconds() + selfCpuSeconds();
    const r = await viaSource(clip);
    cpuOurs.push(childCpuSeconds() + selfCpuSeconds() - c0);
    const a = aloneFirst ?? (await timedAlone());
    cpuAlone.push(a.cpu);
    frames = r.frames;
    ours.push(r.frames / r.seconds);
    alone.push(r.frames / a.seconds);
    console.log(`run ${i + 1}: source ${ours.at(-1)!.toFixed(1)} fps, ffmpeg alone ${alone.at(-1)!.toFixed(1)} fps`);
  }
  const fpsOurs = median(ours);
  const fpsAlone = median(alone);
  const ratio = fpsAlone / fpsOurs;
  console.log(`\n${frames} frames a run, ${side * side * 3} bytes a frame, one copy a frame after the pipe`);
  console.log(`median: FfmpegSource ${fpsOurs.toFixed(1)} fps, ffmpeg alone ${fpsAlone.toFixed(1)} fps, ratio ${ratio.toFixed(3)}x`);
  const msOurs = (median(cpuOurs) / frames) * 1000;
  const msAlone = (median(cpuAlone) / frames) * 1000;
  console.log(`CPU per frame (less sensitive to other load than wall time): FfmpegSource ${msOurs.toFixed(2)} ms (ffmpeg + JS), ffmpeg alone ${msAlone.toFixed(2)} ms, ratio ${(msOurs / msAlone).toFixed(3)}x`);
  console.log(`targets: >= 150 fps ${fpsOurs >= 150 ? 'met' : 'NOT met'}; within 1.2x ${ratio <= 1.2 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
