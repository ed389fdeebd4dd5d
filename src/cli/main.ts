#!/usr/bin/env node
/** The `groundstream` command: serve, detect, eval, record, replay. */
import { Command, CommanderError } from 'commander';
import { RemoteError } from '../client/remote-error.js';
import { isGroundstreamError } from '../errors.js';
import { PROTOCOL_VERSION } from '../protocol/version.js';
import { SERVER_VERSION } from '../server/server.js';
import { runDetect, type DetectFlags } from './detect.js';
import { intFlag, nmsFlag, numberFlag } from './flag-values.js';
import { addModelFlags, MODEL_FLAG_HELP } from './model-flags.js';
import { runServe, type ServeFlags } from './serve.js';
import { runEval, type EvalFlags } from './eval.js';
import { runRecord, type RecordFlags } from './record.js';
import { runReplay, type ReplayFlags } from './replay.js';
import { tolerateClosedReader } from './closed-output.js';

tolerateClosedReader(process.stdout);
tolerateClosedReader(process.stderr);

const EXIT_CODES = `
Exit codes: 0 done; 1 the work failed: eval's --min-map50 gate (or --strict), a recording cut
short, replay's --wait-timeout with nobody subscribed, an --annotate file not written (or a crash,
with its stack trace on stderr);
2 bad input: a flag, a file, an image, a model folder or a server refusal, as \`error CODE: message\`
on stderr (codes: docs/errors.md). Output formats: docs/cli.md.`;

const program = new Command('groundstream')
  .description('Real-time visual grounding: name things in words, get their boxes.')
  .version(`groundstream ${SERVER_VERSION} (WebSocket protocol v${PROTOCOL_VERSION})`, '-V, --version', 'print the version')
  // Usage errors (a bad flag value, an unknown option) are bad input: exit code 2, as
  // docs/errors.md says, after commander's own message. Subcommands inherit this.
  .exitOverride()
  // ... and they carry a stable code like every other error: `error CONFIG_INVALID: …`.
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'error CONFIG_INVALID: ')) })
  .addHelpText('after', EXIT_CODES);

const collect = (v: string, prev: string[] = []) => [...prev, v];

addModelFlags(
  program
    .command('detect')
    .description('detect queried things in still images (JPEG, PNG, WebP)')
    .argument('<image...>', 'image files')
    .requiredOption('-q, --query <text>', 'a query, e.g. "red circle" (repeatable)', collect)
    .option('-t, --threshold <t>', 'score threshold in [0, 1] (default: the model\'s)', numberFlag)
    .option('--nms <iou>', 'per-query NMS IoU, or "off" (default: the model\'s)', nmsFlag)
    .option('--json', 'print one JSON object')
    .option('--annotate <out>', 'write the image with boxes drawn (a directory when several images)')
    .addHelpText('after', EXIT_CODES),
).action(async (images: string[], flags: DetectFlags) => {
  process.exitCode = await runDetect(images, flags);
});

addModelFlags(
  program
    .command('eval')
    .description('score a model on clips with truth (docs/SHAPES_WORLD.md scoring), every frame, no drops; or score recordings (--session)')
    .argument('[clip...]', 'video clips; each has <clip>.truth.json beside it unless --truth is given')
    .option('--session <recording>', 'score a recording (from `record`) instead of running the model (repeatable)', collect)
    .option('--truth <file>', 'truth file for each clip or session, in order (repeatable)', collect)
    .option('-q, --query <text>', 'a query to score (repeatable; default: the 53 of SHAPES_WORLD.md, or with --session the recorded ones)', collect)
    .option('--queries <text...>', 'queries to score, several at once: it takes every word up to the next flag, so put it after the clips or end it with --')
    .option('-t, --threshold <t>', "operating threshold for false positives and recall (default: the model's; with --session the highest recorded threshold)", numberFlag)
    .option('--min-map50 <x>', 'exit with code 1 when the overall mAP50 is below x (a CI gate)', numberFlag)
    .option('--strict', 'with --session: exit with code 1 when a recording has a warning (cut short, parts missing, cut lines)')
    .option('--json', 'print one JSON object')
    .addHelpText('after', EXIT_CODES),
).action(async (clips: string[], flags: EvalFlags) => {
  process.exitCode = await runEval(clips, flags);
});

program
  .command('record')
  .description('record what a running server streams for some queries to NDJSON (docs/record-replay.md)')
  .option('--url <ws-url>', 'server WebSocket', 'ws://127.0.0.1:8080/v1/ws')
  .requiredOption('-s, --stream <id>', 'stream to record')
  .requiredOption('-q, --query <text>', 'a query (repeatable)', collect)
  .option('-t, --threshold <t>', "score threshold (default: the server model's); nothing below it is recorded", numberFlag)
  .option('--max-rate <n>', 'results a second at most (default: every result)', numberFlag)
  .option('-o, --out <dir>', 'directory for the files (default ./recordings)')
  .option('--name <base>', 'file name before -0001.ndjson, no path (default <stream>-<yyyymmdd>-<hhmmss>-<id6>, UTC, id6 the session id\'s first 6 characters)')
  .option('--rotate-mb <n>', 'start a new file past this many MiB', numberFlag)
  .option('--rotate-seconds <n>', 'start a new file every this many seconds', numberFlag)
  .option('--seconds <n>', 'stop after this many seconds (default: Ctrl-C or the end of the stream)', numberFlag)
  .option('--give-up-after <s>', 'end the recording when the connection is lost for this many seconds (default 30)', numberFlag)
  .option('--fsync', 'fsync every line (survives power loss, not only a crash)')
  .option('--token <token>', 'bearer token (env GROUNDSTREAM_TOKEN)')
  .addHelpText('after', EXIT_CODES)
  .action(async (flags: RecordFlags) => {
    process.exitCode = await runRecord(flags);
  });

program
  .command('replay')
  .description('serve a recording to clients as it was received, without a model')
  .argument('<recording>', 'a .ndjson part, a directory holding one recording, or its base path')
  .option('-p, --port <n>', 'TCP port (env PORT, default 8080)', intFlag)
  .option('--host <addr>', 'bind address (env HOST, default 127.0.0.1)')
  .option('--speed <x>', '1 = recorded timing, 2 = twice as fast, max = no waiting (default 1)')
  .option('--loop', 'start again at the end')
  .option('--no-wait', 'play at once instead of when the first client subscribes')
  .option('--stream <id>', 'serve under this stream id (default: the recorded one)')
  .option('--exit', 'exit when the recording has been played')
  .option('--wait-timeout <s>', 'exit with code 1 when no client has subscribed after this many seconds (for CI)', numberFlag)
  .option('--token <token>', 'a token clients must present (watch right; GROUNDSTREAM_TOKEN adds one with every right); needed beyond loopback')
  .addHelpText('after', EXIT_CODES)
  .action(async (path: string, flags: ReplayFlags) => {
    process.exitCode = await runReplay(path, flags);
  });

program
  .command('serve')
  .description('run the server (HTTP + WebSocket) with the demo stream and any others')
  .option('-c, --config <file>', 'JSON config file (see README: Configuration)')
  .option('-p, --port <n>', 'TCP port (env PORT, default 8080)', intFlag)
  .option('--host <addr>', 'bind address (env HOST, default 127.0.0.1)')
  .option('-m, --model <dir>', 'model folder (env GROUNDSTREAM_MODEL, default the bundled shapes-owl)')
  .option('--variant <name>', MODEL_FLAG_HELP.variant)
  .option('--provider <name...>', MODEL_FLAG_HELP.provider)
  .option('-t, --threshold <t>', "score threshold for subscribers that give none, in [0, 1] (default: the model's)", numberFlag)
  .option('--nms <iou>', 'per-query NMS IoU for subscribers, or "off" (default: the model\'s)', nmsFlag)
  .option('-s, --stream <id=source>', 'add a stream: id=path|url|push, options after #: #fast (not at its own rate), #loop (files), #finite (a URL that is a video file, not a live stream), #ondemand (open only while someone watches), #udp (RTSP over UDP) (repeatable)', collect)
  .option('--no-demo', 'do not open the demo stream')
  .option('--concurrency <n>', 'inferences at once across streams (default 1)', intFlag)
  .option('--inference-workers <n>', "worker threads running the model, 0 = on the event loop (default: concurrency if above 1, else 'auto': 1 for a graph over 32 MiB)", (v: string) => (v === 'auto' ? v : intFlag(v)))
  .option('--threads <n>', 'onnxruntime intra-op threads (default 2)', intFlag)
  .option('--allow-dir <dir>', 'a directory file sources may read (repeatable)', collect)
  .option('--allow-devices', 'let streams open V4L2 capture devices (/dev/videoN): a webcam')
  .option('--ffmpeg <path>', 'ffmpeg binary (default: PATH, then the bundled one)')
  .option('--shutdown-delay <ms>', 'on SIGTERM, keep serving this long with /healthz at 503 before closing (default 0)', intFlag)
  .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent (env LOG_LEVEL)')
  .action(async (flags: ServeFlags) => {
    // (as serve's logger decides: JSON when LOG_FORMAT says so, or when stdout is not a terminal)
    const format = process.env.LOG_FORMAT || (process.stdout.isTTY ? 'pretty' : 'json');
    logsJson = format === 'json';
    await runServe(flags);
  });

/** serve logs JSON lines on stdout: a fatal error goes there as one too, for the log collector
 * that reads them (stderr still says it as text). */
let logsJson = false;

program.parseAsync().catch((e: unknown) => {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2; // help and --version exit 0
  } else if (isGroundstreamError(e) || e instanceof RemoteError) {
    // (RemoteError: a server refused what a command asked, e.g. record's subscription)
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    // (pino's shape: level 60 is fatal)
    if (logsJson) process.stdout.write(`${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, code: e.code, msg: `error ${e.code}: ${e.message}` })}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
});
