/**
 * The proof of issue 7, end to end over real sockets: record a live fixture run (real ffmpeg, real
 * onnxruntime), replay the recording to a client without a model, and compare what the client
 * gets with what was recorded. Then score the recording with `eval --session`.
 */
import { createServer, type AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GroundstreamClient, type DetectionsMessage } from '../../src/client/index.js';
import { runEval } from '../../src/cli/eval.js';
import { startReplayServer } from '../../src/cli/replay.js';
import { resolveConfig } from '../../src/config/config.js';
import { Scorer } from '../../src/eval/average-precision.js';
import type { Truth } from '../../src/eval/shapes-world.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { readSession, type Session } from '../../src/record/read-session.js';
import { preciseNow, record, type RecordSummary } from '../../src/record/recorder.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';

const CLIP = join(FIXTURES, 'clips', 'clip01-640x360.mp4');
const TRUTH = join(FIXTURES, 'clips', 'clip01-640x360.truth.json');
// clip01 shows a purple circle, a black cross and a black star. The test holds whatever the
// model's quality: it checks that replay and eval --session reproduce the live run, not the run itself.
const QUERIES = ['purple circle', 'black cross', 'star', 'red circle'];

let dir: string;
let model: GroundingModel;
let summary: RecordSummary;
let session: Session;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gs-record-'));
  model = await loadModel(BUNDLED_MODEL_DIR);
  const live = new GroundstreamServer({
    config: resolveConfig({ port: 0, streams: [{ id: 'clip', source: CLIP, realtime: true, loop: true }] }),
    model,
    fileRoots: [FIXTURES],
  });
  const base = await live.listen();
  try {
    summary = await record({ url: `${base.replace('http', 'ws')}/v1/ws`, stream: 'clip', queries: QUERIES, threshold: 0.1, out: dir, seconds: 2.5, rotateBytes: 16 * 1024 });
  } finally {
    await live.close();
    await model.close();
  }
  session = readSession(summary.base);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Subscribes to a replay of `session` as a client would; resolves with each result and when it arrived. */
async function replayToClient(session: Session, speed: number | 'max'): Promise<{ message: DetectionsMessage; receivedAt: number }[]> {
  const replay = await startReplayServer({ session, config: { port: 0 }, speed });
  const client = new GroundstreamClient({ url: `${replay.url.replace('http', 'ws')}/v1/ws` });
  try {
    await client.connect();
    const sub = client.subscribe({ stream: session.header.stream, queries: session.header.queries, threshold: session.header.threshold });
    const got: { message: DetectionsMessage; receivedAt: number }[] = [];
    await new Promise<void>((resolve, reject) => {
      sub.detections$.subscribe({ next: (message) => got.push({ message, receivedAt: preciseNow() }), complete: resolve, error: reject });
    });
    return got;
  } finally {
    client.close();
    await replay.close();
  }
}

/** All but `timings.total`, which the server measures from `capturedAt` at send time: in a replay
 * it is the recording's age. */
/** runEval's exit code and what it printed. */
async function evalText(flags: Parameters<typeof runEval>[1]): Promise<{ code: number; text: string }> {
  let text = '';
  const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }) as unknown as typeof process.stdout;
  const code = await runEval([], flags, out);
  return { code, text };
}

/** The CLI built (dist), run from `cwd`: exit code, stdout, stderr. */
function cliIn(cwd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A copy of the recording as one part file, each line passed through `edit` (null drops it). */
function rewrite(name: string, edit: (line: Record<string, any>) => Record<string, any> | null): string {
  const lines = summary.files.flatMap((f, i) => readFileSync(f, 'utf8').trim().split('\n').slice(i === 0 ? 0 : 1)).map((l) => JSON.parse(l));
  const out = lines.map(edit).filter((l) => l !== null);
  const sub = join(dir, name);
  mkdirSync(sub, { recursive: true });
  const file = join(sub, `${name}-0001.ndjson`);
  writeFileSync(file, out.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

/** Scores `results` as eval --session should: each seq once, against the truth frame `index(seq)`. */
function scoreDirectly(truth: Truth, index: (seq: number) => number) {
  const frames = new Map(truth.frames.map((f) => [f.index, f]));
  const direct = new Scorer(QUERIES, 0.1);
  const scored = new Set<number>();
  for (const { message } of session.results) {
    const f = frames.get(index(message.frame.seq));
    if (!f || scored.has(message.frame.seq)) continue;
    scored.add(message.frame.seq);
    direct.addFrame(f.objects, message.detections);
  }
  return { ...direct.result(), frames: scored.size };
}

const withoutTotal = ({ timings: { total: _t, ...timings }, ...m }: DetectionsMessage) => ({ ...m, timings });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('record, then replay', () => {
  it('records a live run of a fixture clip', () => {
    expect(summary.reason).toBe('seconds');
    expect(summary.files.length).toBeGreaterThan(1); // rotated at 16 KiB (a few results each: several parts even when a busy machine processes few frames)
    expect(session.files).toEqual(summary.files);
    expect(session.results.length).toBe(summary.results);
    expect(session.results.length).toBeGreaterThanOrEqual(5);
    expect(session.header).toMatchObject({ stream: 'clip', queries: QUERIES, threshold: 0.1, server: { model: { name: 'shapes-owl' } }, source: { source: CLIP } });
    expect(session.end).toMatchObject({ reason: 'seconds', results: summary.results });
    const seqs = session.results.map((r) => r.message.frame.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(session.results.some((r) => r.message.detections.length > 0)).toBe(true);
  });

  it('serves a client the recorded messages, in order and identical but for timings.total, at the recorded pace', async () => {
    const replayed = await replayToClient(session, 1);
    // content: every field, track IDs and the live model's decode and inference times included
    expect(replayed.map((r) => withoutTotal(r.message))).toEqual(session.results.map((r) => withoutTotal(r.message)));
    // timing: the gaps between consecutive results as the replay client saw them, against the
    // gaps the recorder saw. Both clocks are this process's; the replay adds one timer's
    // lateness and one loopback hop to each result, a few ms, where live gaps are ~33 ms or more.
    const gaps = (ts: number[]) => ts.slice(1).map((t, i) => t - ts[i]!);
    const rec = gaps(session.results.map((r) => r.receivedAt));
    const rep = gaps(replayed.map((r) => r.receivedAt));
    const err = rep.map((g, i) => Math.abs(g - rec[i]!));
    const span = (ts: number[]) => ts.at(-1)! - ts[0]!;
    const drift = Math.abs(span(replayed.map((r) => r.receivedAt)) - span(session.results.map((r) => r.receivedAt)));
    console.log(`timing: ${err.length} gaps, median |error| ${median(err).toFixed(2)} ms, max ${Math.max(...err).toFixed(2)} ms, drift over the run ${drift.toFixed(2)} ms`);
    // A loaded machine can only make the replay late, never early, so what is asserted is that it
    // waits as the recording did (not faster); exact due times are checked on a fake clock in
    // replay.test.ts, and lateness is printed above rather than asserted (no wall-clock limits).
    expect(span(replayed.map((r) => r.receivedAt))).toBeGreaterThan(span(session.results.map((r) => r.receivedAt)) - 40);
    expect(err.length).toBe(session.results.length - 1);
  });

  it('replays as fast as it can with --speed max, content unchanged', async () => {
    const replayed = await replayToClient(session, 'max');
    expect(replayed.map((r) => withoutTotal(r.message))).toEqual(session.results.map((r) => withoutTotal(r.message)));
    const recorded = session.results.at(-1)!.receivedAt - session.results[0]!.receivedAt;
    expect(replayed.at(-1)!.receivedAt - replayed[0]!.receivedAt).toBeLessThan(recorded / 2);
  });

  it('scores the recording with eval --session as scoring its messages directly does', async () => {
    let text = '';
    const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }) as unknown as typeof process.stdout;
    expect(await runEval([], { session: [summary.base], truth: [TRUTH], json: true }, out)).toBe(0);
    const viaCli = JSON.parse(text);
    const truth = JSON.parse(readFileSync(TRUTH, 'utf8')) as Truth;
    const direct = new Scorer(QUERIES, 0.1);
    const scored = new Set<number>();
    for (const { message } of session.results) {
      if (scored.has(message.frame.seq)) continue;
      scored.add(message.frame.seq);
      direct.addFrame(truth.frames[message.frame.seq % truth.frames.length]!.objects, message.detections);
    }
    const { perQuery, ...scores } = direct.result();
    expect(viaCli).toMatchObject({ model: 'shapes-owl', threshold: 0.1, ...scores, perQuery });
    expect(viaCli.frames).toBe(scored.size);
    // and without --truth: the truth beside the recorded file source is found
    text = '';
    await runEval([], { session: [summary.base], json: true }, out);
    expect(JSON.parse(text).mAP50).toBe(viaCli.mAP50);
    // what a recording cannot answer is refused, not scored as misses
    await expect(runEval([], { session: [summary.base], threshold: 0.05 }, out)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    await expect(runEval([], { session: [summary.base], queries: ['blue square'] }, out)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('eval --session finds the truth of a source named inside the fixtures (as the demo is), and says what it did not score', async () => {
    // part 1 of the recording, its source named as the server names the demo's (relative to the
    // fixtures), and its results twice over, as when frame numbers start again after a restart
    const [head, ...rest] = readFileSync(summary.files[0]!, 'utf8').trim().split('\n');
    const header = JSON.parse(head!);
    header.source = { ...header.source, source: 'clips/clip01-640x360.mp4' };
    const results = rest.filter((l) => JSON.parse(l).type === 'detections');
    writeFileSync(join(dir, 'rel-0001.ndjson'), [JSON.stringify(header), ...results, ...results].join('\n') + '\n');
    let text = '';
    const out = new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }) as unknown as typeof process.stdout;
    expect(await runEval([], { session: [join(dir, 'rel')] }, out)).toBe(0);
    expect(text).toContain(`${results.length} frames, ${results.length} of ${2 * results.length} results not scored (a frame already scored`);
    expect(text).toContain('warning: no end line: the recorder did not finish');
    // --json carries every session's warnings and end, also when there are none
    const clean = await evalText({ session: [summary.base], truth: [TRUTH], json: true });
    expect(JSON.parse(clean.text).sessions[summary.base]).toMatchObject({ warnings: [], end: { reason: 'seconds' } });
    // a part gone (deleted, not copied): scored, but said
    expect(summary.files.length).toBeGreaterThan(2);
    const gap = join(dir, 'gap');
    mkdirSync(gap);
    for (const f of summary.files.filter((_, i) => i !== 1)) copyFileSync(f, join(gap, basename(f)));
    text = '';
    expect(await runEval([], { session: [gap], truth: [TRUTH] }, out)).toBe(0);
    expect(text).toContain('warning: part 2 of the recording is missing');
    expect(text).not.toContain('no end line');
  });

  it('groundstream replay beyond loopback: refused without a token (and the process exits), served with --token', async () => {
    const cli = join(ROOT, 'dist', 'cli', 'main.js');
    const env = { ...process.env, GROUNDSTREAM_TOKEN: '' };
    const refused = spawnSync(process.execPath, [cli, 'replay', summary.base, '--host', '0.0.0.0', '--port', '0'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(refused.signal).toBeNull(); // it ended by itself, not by the timeout
    expect(refused.status).toBe(2);
    // the advice names what replay takes (not requireAuth, a serve config setting)
    expect(refused.stderr).toBe('error CONFIG_INVALID: invalid configuration: host 0.0.0.0 is beyond loopback: give a token clients must present (--token T, or GROUNDSTREAM_TOKEN)\n');
    const served = spawn(process.execPath, [cli, 'replay', summary.base, '--host', '0.0.0.0', '--port', '0', '--token', 'replay-token-0123456789'], { env });
    try {
      let text = '';
      served.stdout.on('data', (d) => (text += String(d)));
      while (!/websocket ws:\/\/[^\s]+/.test(text) && served.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      const ws = /websocket (ws:\/\/\S+)/.exec(text)![1]!.replace('0.0.0.0', '127.0.0.1');
      const denied = new GroundstreamClient({ url: ws, reconnect: { maxAttempts: 0 } });
      await expect(denied.connect()).rejects.toMatchObject({ code: 'CLIENT_CONNECTION_REJECTED' });
      const client = new GroundstreamClient({ url: ws, token: 'replay-token-0123456789' });
      await client.connect();
      expect(client.state).toBe('open');
      client.close();
    } finally {
      served.kill('SIGTERM');
      await new Promise((r) => served.once('exit', r));
    }
    // on loopback, a GROUNDSTREAM_TOKEN exported for serve does not lock the printed links out;
    // and PORT is honoured as by serve
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const local = spawn(process.execPath, [cli, 'replay', summary.base], { env: { ...env, PORT: String(port), GROUNDSTREAM_TOKEN: 'exported-token-0123456789' } });
    try {
      let text = '';
      local.stdout.on('data', (d) => (text += String(d)));
      while (!/websocket ws:\/\/[^\s]+/.test(text) && local.exitCode === null) await new Promise((r) => setTimeout(r, 50));
      expect(/websocket (ws:\/\/\S+)/.exec(text)![1]).toBe(`ws://127.0.0.1:${port}/v1/ws`);
      const client = new GroundstreamClient({ url: /websocket (ws:\/\/\S+)/.exec(text)![1]!, reconnect: { maxAttempts: 0 } });
      await client.connect();
      client.close();
    } finally {
      local.kill('SIGTERM');
      await new Promise((r) => local.once('exit', r));
    }
  });

  it('refuses a threshold below the recorded one, on subscribe and on update, and acks the recorded one by default', async () => {
    const replay = await startReplayServer({ session, config: { port: 0 } });
    const client = new GroundstreamClient({ url: `${replay.url.replace('http', 'ws')}/v1/ws` });
    try {
      await client.connect();
      const low = client.subscribe({ stream: 'clip', queries: ['star'], threshold: 0.05 });
      await expect(low.accepted).rejects.toMatchObject({ code: 'PROTOCOL_INVALID_MESSAGE', message: expect.stringContaining('below 0.1') });
      const plain = client.subscribe({ stream: 'clip', queries: ['star'] });
      // the server model's default (the bundled model's 0.4) is above the recorded 0.1: kept
      expect((await plain.accepted).threshold).toBe(Math.max(0.1, session.header.server.model.threshold));
      await expect(plain.update({ threshold: 0.01 })).rejects.toMatchObject({ code: 'PROTOCOL_INVALID_MESSAGE' });
      expect((await plain.update({ threshold: 0.1 })).threshold).toBe(0.1);
    } finally {
      client.close();
      await replay.close();
    }
  });

  it('refuses a subscription for queries the recording does not hold', async () => {
    const replay = await startReplayServer({ session, config: { port: 0 } });
    const client = new GroundstreamClient({ url: `${replay.url.replace('http', 'ws')}/v1/ws` });
    try {
      await client.connect();
      const sub = client.subscribe({ stream: 'clip', queries: ['star', 'blue square'] });
      await expect(new Promise<void>((resolve, reject) => sub.detections$.subscribe({ complete: () => resolve(), error: reject }))).rejects.toMatchObject({
        code: 'QUERY_INVALID',
        message: expect.stringContaining('"blue square"'),
      });
    } finally {
      client.close();
      await replay.close();
    }
  });

  it('scores each result against the truth of its own frame when the truth annotates only some frames', async () => {
    const truth = JSON.parse(readFileSync(TRUTH, 'utf8')) as Truth;
    // a truth of the first 45 of the clip's 90 frames: frames 45-89 stay unscored, not scored against 0-44
    expect(session.results.some((r) => r.message.frame.seq >= 45)).toBe(true);
    const half = join(dir, 'half.truth.json');
    writeFileSync(half, JSON.stringify({ ...truth, frames: truth.frames.filter((f) => f.index < 45) }));
    const a = await evalText({ session: [summary.base], truth: [half], json: true });
    const { perQuery, ...scores } = scoreDirectly(truth, (seq) => (seq < 45 ? seq : -1));
    expect(JSON.parse(a.text)).toMatchObject({ ...scores, perQuery });
    // the same run a lap later (seq + 90), against a truth of every 10th frame: the clip (found
    // from the recording's source) has 90 frames, so seq 100 is frame 10, not (100 % 81) 19
    const lap2 = rewrite('lap2', (l) => (l.type === 'detections' ? { ...l, message: { ...l.message, frame: { ...l.message.frame, seq: l.message.frame.seq + 90 } } } : l));
    const tenth = join(dir, 'tenth.truth.json');
    writeFileSync(tenth, JSON.stringify({ ...truth, frames: truth.frames.filter((f) => f.index % 10 === 0) }));
    const b = await evalText({ session: [lap2], truth: [tenth], json: true });
    const { perQuery: pq, ...lapScores } = scoreDirectly(truth, (seq) => (seq % 10 === 0 ? seq : -1));
    expect(lapScores.frames).toBeGreaterThan(0);
    expect(JSON.parse(b.text)).toMatchObject({ ...lapScores, perQuery: pq });
    // with no clip to count and no frameCount in the truth, a lap cannot be placed: refused
    const unknown = rewrite('nosrc', (l) => (l.type === 'session' ? { ...l, source: undefined } : l.type === 'detections' ? { ...l, message: { ...l.message, frame: { ...l.message.frame, seq: l.message.frame.seq + 90 } } } : l));
    await expect(evalText({ session: [unknown], truth: [tenth] })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('add "frameCount" to the truth') });
    writeFileSync(tenth, JSON.stringify({ ...truth, frameCount: 90, frames: truth.frames.filter((f) => f.index % 10 === 0) }));
    expect(JSON.parse((await evalText({ session: [unknown], truth: [tenth], json: true })).text)).toMatchObject({ ...lapScores, perQuery: pq });
  });

  it('refuses one recording given twice under different spellings', async () => {
    const dotted = `${dirname(summary.base)}/./${basename(summary.base)}`;
    for (const other of [dotted, summary.files[0]!]) {
      await expect(evalText({ session: [summary.base, other], truth: [TRUTH, TRUTH] })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining(`is given twice (also as ${JSON.stringify(other)})`),
      });
    }
  });

  it('warns of a recording cut short and says why in --json; --strict fails the run on any warning', async () => {
    const clean = await evalText({ session: [summary.base], json: true, strict: true });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.text).sessions[summary.base]).toMatchObject({ end: { reason: 'seconds' }, warnings: [] });
    expect(JSON.parse(clean.text).strict).toEqual({ warnings: 0, pass: true });
    const cut = rewrite('cut', (l) => (l.type === 'end' ? { ...l, reason: 'disconnected', detail: 'the connection to ws://x was lost and not back in 30 s' } : l));
    const warned = await evalText({ session: [cut], minMap50: 0 });
    expect(warned.code).toBe(0);
    expect(warned.text).toContain('warning: the recording was cut short: it ended with reason "disconnected" (the connection to ws://x was lost and not back in 30 s)');
    const json = JSON.parse((await evalText({ session: [cut], json: true })).text);
    expect(json.sessions[cut]).toMatchObject({ end: { reason: 'disconnected', detail: expect.any(String) }, warnings: [expect.stringContaining('cut short')] });
    const strict = await evalText({ session: [cut], minMap50: 0, strict: true });
    expect([strict.code, strict.text]).toEqual([1, expect.stringMatching(/^pass: overall mAP50 .*\nFAIL: 1 session has warnings \(--strict\)\n$/m)]);
    // a cut last line (a crash) is a warning too
    const crashed = rewrite('crashed', (l) => (l.type === 'end' ? null : l));
    writeFileSync(crashed, readFileSync(crashed, 'utf8') + '{"type":"detec');
    expect((await evalText({ session: [crashed], strict: true })).code).toBe(1);
    // one part of a finished recording, scored alone, is not said to be one the recorder did not finish
    const alone = await evalText({ session: [summary.files[0]!] });
    expect(alone.text).toContain(`warning: no end line in the part read: the recording goes on in ${summary.files[1]}`);
    expect(alone.text).not.toContain('did not finish');
  });

  it('finds the truth of a source recorded as given to the server, from any working directory, and says where it looked', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'gs-cwd-'));
    try {
      const asGiven = rewrite('given', (l) => (l.type === 'session' ? { ...l, source: { ...l.source, source: 'fixtures/clips/clip01-640x360.mp4' } } : l));
      const found = cliIn(elsewhere, ['eval', '--session', asGiven, '--json']);
      expect([found.code, found.stderr]).toEqual([0, '']);
      const direct = cliIn(elsewhere, ['eval', '--session', asGiven, '--truth', TRUTH, '--json']);
      expect(JSON.parse(found.stdout).mAP50).toBe(JSON.parse(direct.stdout).mAP50);
      const lost = rewrite('lost', (l) => (l.type === 'session' ? { ...l, source: { ...l.source, source: 'nowhere/clip.mp4' } } : l));
      const missing = cliIn(elsewhere, ['eval', '--session', lost]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain(`give --truth (no truth file for the recorded source "nowhere/clip.mp4"; looked for ${join(elsewhere, 'nowhere/clip.truth.json')}, ${join(dirname(lost), 'nowhere/clip.truth.json')}`);
      expect(missing.stderr).toContain(join(FIXTURES, 'nowhere/clip.truth.json'));
      // -q, repeatable, as record has; model flags are refused, not ignored
      const q = cliIn(elsewhere, ['eval', '--session', asGiven, '-q', 'star', '-q', 'purple circle', '--json']);
      expect(Object.keys(JSON.parse(q.stdout).perQuery)).toEqual(['star', 'purple circle']);
      const model = cliIn(elsewhere, ['eval', '--session', asGiven, '--model', 'models/x']);
      expect([model.code, model.stderr]).toEqual([2, expect.stringContaining('--model: --session scores what the recorded server\'s model found, and loads no model')]);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('replay --wait-timeout exits with code 1 when nobody subscribes, instead of hanging a CI job', () => {
    const t0 = Date.now();
    const r = cliIn(ROOT, ['replay', summary.base, '--port', '0', '--exit', '--wait-timeout', '1']);
    expect([r.code, r.stderr]).toEqual([1, 'error: no client subscribed to clip in 1 s (--wait-timeout)\n']);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it("says the recorded server's model in a replay's hello, its image size included", async () => {
    const replay = await startReplayServer({ session, config: { port: 0 } });
    const client = new GroundstreamClient({ url: `${replay.url.replace('http', 'ws')}/v1/ws` });
    try {
      const hello = await client.connect();
      expect(session.header.server.model.imageSize).toBeGreaterThan(1);
      expect(hello.model).toEqual(session.header.server.model);
    } finally {
      client.close();
      await replay.close();
    }
  });
});
