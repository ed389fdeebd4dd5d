/** Truth files are checked when read: a malformed one is refused naming the file and the fault. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTruth } from '../../src/eval/truth-file.js';
import { clips } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'gs-truth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const frame = (index: number, objects: unknown[] = [{ color: 'red', shape: 'circle', box: [1, 2, 30, 40] }]) => ({ index, objects });
const truthText = (o: object) => JSON.stringify({ width: 640, height: 360, fps: 30, ...o });

describe('readTruth', () => {
  it('reads every fixture truth as it is', () => {
    for (const c of clips()) expect(readTruth(c.path.replace(/\.mp4$/, '.truth.json')).frames.length).toBe(c.truth.frames.length);
  });

  it.each([
    ['bad JSON', '{"frames": [', /bad\.truth\.json: not valid JSON/],
    ['not an object', '[1, 2]', /: not a JSON object/],
    ['no frames list', truthText({}), /: no "frames" list/],
    ['an object without box', truthText({ frames: [frame(0, [{ color: 'red', shape: 'circle' }])] }), /frames\[0\]\.objects\[0\]\.box must be \[x1, y1, x2, y2\] \(4 numbers\), got undefined/],
    ['a box of 3 numbers', truthText({ frames: [frame(0, [{ color: 'red', shape: 'circle', box: [1, 2, 3] }])] }), /box must be/],
    ['a box upside down', truthText({ frames: [frame(0, [{ color: 'red', shape: 'circle', box: [30, 2, 1, 40] }])] }), /has x1 > x2/],
    ['an object without colour', truthText({ frames: [frame(0, [{ shape: 'circle', box: [1, 2, 3, 4] }])] }), /objects\[0\] lacks "color" or "shape"/],
    ['a frame without index', truthText({ frames: [{ objects: [] }] }), /frames\[0\]\.index must be an integer >= 0/],
    ['a frame without objects', truthText({ frames: [{ index: 0 }] }), /frames\[0\] has no "objects" list/],
    ['a frame annotated twice', truthText({ frames: [frame(3), frame(3)] }), /frames\[1\]: frame 3 is annotated twice/],
    ['a width that is not a number', truthText({ width: '640', frames: [] }), /"width" must be a positive number/],
    ['a frameCount below an index', truthText({ frameCount: 5, frames: [frame(5)] }), /"frameCount" must be an integer above the highest annotated index 5, got 5/],
  ])('refuses %s with CONFIG_INVALID, naming the file', (_what, text, message) => {
    const p = file('bad.truth.json', text);
    let err: unknown;
    try {
      readTruth(p);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) });
    expect((err as Error).message).toContain(p);
  });

  it('takes a frameCount above every index, and says a missing file as such', () => {
    expect(readTruth(file('ok.truth.json', truthText({ frameCount: 90, frames: [frame(0), frame(80)] }))).frameCount).toBe(90);
    expect(() => readTruth(join(dir, 'none.truth.json'))).toThrow(/truth file not found: .*none\.truth\.json/);
  });
});
