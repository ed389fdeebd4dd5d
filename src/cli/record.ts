/** `groundstream record`: a client that writes what a server streams to NDJSON (docs/record-replay.md). */
import { GroundstreamError } from '../errors.js';
import { record, type RecordSummary } from '../record/recorder.js';

export interface RecordFlags {
  url: string;
  stream: string;
  query: string[];
  threshold?: number;
  maxRate?: number;
  out?: string;
  name?: string;
  rotateMb?: number;
  rotateSeconds?: number;
  seconds?: number;
  giveUpAfter?: number;
  fsync?: boolean;
  token?: string;
}

const positive = (name: string, v: number | undefined) => {
  if (v !== undefined && !(v > 0 && Number.isFinite(v))) throw new GroundstreamError('CONFIG_INVALID', `${name} must be a positive number, got ${v}`);
  return v;
};

export async function runRecord(flags: RecordFlags, env: NodeJS.ProcessEnv = process.env, out = process.stdout, err = process.stderr): Promise<number> {
  // said here, before connecting, as detect and eval say it
  if (flags.threshold !== undefined && !(flags.threshold >= 0 && flags.threshold <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `--threshold must be in [0, 1], got ${flags.threshold}`);
  }
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let n = 0;
  let summary: RecordSummary;
  try {
    summary = await record({
      url: flags.url,
      stream: flags.stream,
      queries: flags.query,
      ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
      ...(flags.maxRate !== undefined ? { maxRate: positive('--max-rate', flags.maxRate) } : {}),
      out: flags.out ?? 'recordings',
      ...(flags.name ? { base: flags.name } : {}),
      ...(flags.rotateMb !== undefined ? { rotateBytes: Math.round(positive('--rotate-mb', flags.rotateMb)! * 1024 * 1024) } : {}),
      ...(flags.rotateSeconds !== undefined ? { rotateSeconds: positive('--rotate-seconds', flags.rotateSeconds) } : {}),
      ...(flags.seconds !== undefined ? { seconds: positive('--seconds', flags.seconds) } : {}),
      ...(flags.giveUpAfter !== undefined ? { giveUpAfterMs: positive('--give-up-after', flags.giveUpAfter)! * 1000 } : {}),
      fsync: flags.fsync ?? false,
      ...((flags.token ?? env.GROUNDSTREAM_TOKEN) ? { token: flags.token ?? env.GROUNDSTREAM_TOKEN } : {}),
      signal: abort.signal,
      onResult: () => {
        n++;
        if (err.isTTY) err.write(`\rrecording ${flags.stream}: ${n} results`);
      },
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (err.isTTY && n) err.write('\r\x1b[K');
  }
  out.write(
    `recorded ${summary.results} results of ${summary.header.stream} (${summary.reason}${summary.detail ? `: ${summary.detail}` : ''}` +
      `${summary.missed ? `, ${summary.missed} dropped by the server for a slow reader` : ''}) to ${summary.files.length} file(s):\n` +
      `${summary.files.map((f) => `  ${f}\n`).join('')}replay it with: groundstream replay ${summary.files.length > 1 ? summary.base : summary.files[0]}\n`,
  );
  // cut short (a write failed, the server went away): the work failed, as a failed eval gate
  return summary.reason === 'error' || summary.reason === 'disconnected' ? 1 : 0;
}
