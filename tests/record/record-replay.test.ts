/**
 * The proof of issue 7, end to end over real sockets: record a live fixture run (real ffmpeg, real
 * onnxruntime), replay the recording to a client without a model, and compare what the client
 * gets with what was recorded. Then score the recording with `eval --session`.
 */
import { createServer, type AddressInfo } from 'node:net';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
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
    expect(refused.stderr).toMatch(/CONFIG_INVALID/);
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
});
