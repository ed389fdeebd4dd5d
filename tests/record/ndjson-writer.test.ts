/** The NDJSON writer and reader on their own: rotation, naming, and what a crash leaves behind. */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { NdjsonWriter } from '../../src/record/ndjson-writer.js';
import { parseNdjson, readSession } from '../../src/record/read-session.js';
import { partFileName } from '../../src/record/session-format.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'gs-rec-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const header = (part: number) => ({
  type: 'session',
  version: 1,
  id: 'abc',
  part,
  stream: 'cam',
  queries: ['red circle'],
  threshold: 0.2,
  startedAt: 1,
  url: 'ws://x/v1/ws',
  server: { serverVersion: '0.1.0', protocolVersion: 1, model: { name: 'm', type: 'owlv2', threshold: 0.1 } },
});
const result = (seq: number, pad = '') => ({
  type: 'detections',
  receivedAt: 1000 + seq * 40,
  message: {
    type: 'detections',
    subscription: 's1',
    stream: 'cam',
    frame: { seq, pts: seq / 25, capturedAt: 900 + seq * 40, width: 640, height: 360 },
    queryVersion: 1,
    timings: { decode: 1, infer: 2, total: 3 },
    detections: [{ query: 'red circle', score: 0.5, box: [1, 2, 3, 4] }],
    ...(pad ? { pad } : {}),
  },
});

describe('NdjsonWriter', () => {
  it('writes a header, then one line a record, in <base>-0001.ndjson', () => {
    const dir = tmp();
    const w = new NdjsonWriter({ dir, base: 'rec', header });
    for (let i = 0; i < 3; i++) w.write(result(i));
    w.close();
    expect(readdirSync(dir)).toEqual(['rec-0001.ndjson']);
    const lines = readFileSync(join(dir, 'rec-0001.ndjson'), 'utf8').split('\n');
    expect(lines).toHaveLength(5); // header, 3 records, '' after the last newline
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'session', part: 1 });
    expect(lines.slice(1, 4).map((l) => JSON.parse(l).message.frame.seq)).toEqual([0, 1, 2]);
    expect(w.lines).toBe(3);
  });

  it('rotates by size: no part passes rotateBytes, each starts with the header, nothing is lost', () => {
    const dir = tmp();
    const w = new NdjsonWriter({ dir, base: 'rec', header, rotateBytes: 2000 });
    for (let i = 0; i < 40; i++) w.write(result(i));
    w.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(3);
    expect(files).toEqual(files.map((_, i) => partFileName('rec', i + 1)));
    for (const [i, f] of files.entries()) {
      expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(2000);
      expect(JSON.parse(readFileSync(join(dir, f), 'utf8').split('\n')[0]!)).toMatchObject({ type: 'session', part: i + 1, id: 'abc' });
    }
    const s = readSession(dir);
    expect(s.files).toHaveLength(files.length);
    expect(s.results.map((r) => r.message.frame.seq)).toEqual([...Array(40).keys()]);
    expect(s.truncated).toBe(0);
  });

  it('rotates by time, and puts a record bigger than the limit in a part of its own', () => {
    const dir = tmp();
    let now = 0;
    const w = new NdjsonWriter({ dir, base: 'rec', header, rotateSeconds: 10, rotateBytes: 4000, now: () => now });
    for (let i = 0; i < 6; i++) {
      w.write(result(i));
      now += 4000; // a part every third record
    }
    w.write(result(6, 'x'.repeat(5000)));
    w.close();
    const perPart = w.paths.map((p) => parseNdjson(readFileSync(p, 'utf8'), p).records.length - 1);
    expect(perPart).toEqual([3, 3, 1]);
  });

  it('never overwrites an existing recording', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'rec-0001.ndjson'), 'keep me\n');
    expect(() => new NdjsonWriter({ dir, base: 'rec', header })).toThrow(expect.objectContaining({ code: 'RECORD_WRITE_FAILED' }));
    expect(readFileSync(join(dir, 'rec-0001.ndjson'), 'utf8')).toBe('keep me\n');
    // a later part of that name is refused up front too, not when rotation reaches it; other
    // names (rec2, a file that is no part) are no obstacle
    const later = tmp();
    writeFileSync(join(later, 'rec-0002.ndjson'), 'keep me\n');
    writeFileSync(join(later, 'rec2-0001.ndjson'), 'other\n');
    writeFileSync(join(later, 'rec.txt'), 'other\n');
    expect(() => new NdjsonWriter({ dir: later, base: 'rec', header, rotateBytes: 200 })).toThrow(/rec-0002\.ndjson exists/);
    expect(readdirSync(later).sort()).toEqual(['rec-0002.ndjson', 'rec.txt', 'rec2-0001.ndjson']);
    const w = new NdjsonWriter({ dir: later, base: 'rec3', header });
    w.write(result(0));
    w.close();
  });

  it('fails with RECORD_WRITE_FAILED, not a crash, when a file is where its directory should be', () => {
    const dir = tmp();
    const file = join(dir, 'taken');
    writeFileSync(file, 'x');
    for (const where of [file, join(file, 'sub')]) {
      expect(() => new NdjsonWriter({ dir: where, base: 'rec', header })).toThrow(
        expect.objectContaining({ code: 'RECORD_WRITE_FAILED', message: expect.stringContaining(`${where} is not a directory`) }),
      );
    }
  });

  it('refuses a name that would put the parts outside their directory', () => {
    const dir = tmp();
    for (const base of ['../../escape', 'a/b', '..', 'x\\y', '']) {
      expect(() => new NdjsonWriter({ dir, base, header })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('reading a recording back', () => {
  it('skips an incomplete last line (a crash while writing) and counts it', () => {
    const dir = tmp();
    const w = new NdjsonWriter({ dir, base: 'rec', header });
    for (let i = 0; i < 3; i++) w.write(result(i));
    w.close();
    appendFileSync(w.paths[0]!, JSON.stringify(result(3)).slice(0, 57));
    const s = readSession(w.paths[0]!);
    expect(s.results.map((r) => r.message.frame.seq)).toEqual([0, 1, 2]);
    expect(s.truncated).toBe(1);
    expect(s.end).toBeUndefined();
  });

  it('keeps a complete last record whose newline is missing', () => {
    expect(parseNdjson('{"a":1}\n{"a":2}', 'x')).toEqual({ records: [{ a: 1 }, { a: 2 }], truncated: false });
  });

  it('refuses a damaged line that is not the last, naming file and line', () => {
    const dir = tmp();
    const p = join(dir, 'rec-0001.ndjson');
    writeFileSync(p, `${JSON.stringify(header(1))}\n${JSON.stringify(result(0))}\n{"type":"detec\n${JSON.stringify(result(2))}\n`);
    expect(() => readSession(p)).toThrow(expect.objectContaining({ code: 'RECORD_INVALID', message: expect.stringContaining('rec-0001.ndjson:3') }));
  });

  it('finds a recording by directory or base path, and refuses a directory holding two', () => {
    const dir = tmp();
    const w = new NdjsonWriter({ dir, base: 'one', header, rotateBytes: 1500 });
    for (let i = 0; i < 10; i++) w.write(result(i));
    w.close();
    expect(readSession(join(dir, 'one')).results).toHaveLength(10);
    expect(readSession(dir).files).toEqual(w.paths);
    const other = new NdjsonWriter({ dir, base: 'two', header });
    other.write(result(0));
    other.close();
    expect(() => readSession(dir)).toThrow(expect.objectContaining({ code: 'RECORD_INVALID', message: expect.stringContaining('several recordings') }));
    expect(() => readSession(join(dir, 'three'))).toThrow(expect.objectContaining({ code: 'RECORD_INVALID' }));
  });

  it('reads past an empty last part (the writer was killed between creating it and writing), not an empty only part', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'r-0001.ndjson'), `${JSON.stringify(header(1))}\n${JSON.stringify(result(0))}\n`);
    writeFileSync(join(dir, 'r-0002.ndjson'), '');
    expect(readSession(dir).results).toHaveLength(1);
    const lone = tmp();
    writeFileSync(join(lone, 'r-0001.ndjson'), '');
    expect(() => readSession(lone)).toThrow(expect.objectContaining({ code: 'RECORD_INVALID', message: expect.stringContaining('empty') }));
  });

  it('refuses parts of different recordings and formats newer than it reads', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'r-0001.ndjson'), `${JSON.stringify(header(1))}\n`);
    writeFileSync(join(dir, 'r-0002.ndjson'), `${JSON.stringify({ ...header(2), id: 'other' })}\n`);
    expect(() => readSession(dir)).toThrow(expect.objectContaining({ code: 'RECORD_INVALID', message: expect.stringContaining('another recording') }));
    writeFileSync(join(dir, 'r-0002.ndjson'), `${JSON.stringify({ ...header(2), version: 2 })}\n`);
    expect(() => readSession(dir)).toThrow(expect.objectContaining({ code: 'RECORD_INVALID', message: expect.stringContaining('format version 2') }));
  });

  it('loses at most the line being written when the writing process is killed', async () => {
    const dir = tmp();
    // the writer, bundled as it is, in a child process that writes until it is SIGKILLed
    buildSync({ entryPoints: [join(import.meta.dirname, '../../src/record/ndjson-writer.ts')], bundle: true, platform: 'node', format: 'esm', outfile: join(dir, 'writer.mjs'), logLevel: 'silent' });
    writeFileSync(
      join(dir, 'child.mjs'),
      `import { NdjsonWriter } from './writer.mjs';
       const w = new NdjsonWriter({ dir: ${JSON.stringify(join(dir, 'out'))}, base: 'rec', header: (part) => (${JSON.stringify(header(1))}), rotateBytes: 200000 });
       const rec = ${JSON.stringify(result(0, 'y'.repeat(3000)))};
       for (let seq = 0; ; seq++) { rec.message.frame.seq = seq; w.write(rec); if (seq === 50) process.stdout.write('go\\n'); }`,
    );
    const child = spawn(process.execPath, [join(dir, 'child.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const s = readSession(join(dir, 'out'));
    expect(s.results.length).toBeGreaterThan(50);
    expect(s.results.map((r) => r.message.frame.seq)).toEqual([...Array(s.results.length).keys()]);
    expect(s.truncated).toBeLessThanOrEqual(1);
  });
});
