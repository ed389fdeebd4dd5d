import { describe, expect, it } from 'vitest';
import { decodeDetections, type DecodeInput } from '../../src/model/owl/postprocess.js';

const logit = (p: number) => Math.log(p / (1 - p));

/** P patches x stride columns of logits; every patch starts far below any threshold. */
function input(patches: number, stride: number, queries: string[], over: Partial<DecodeInput> = {}): DecodeInput {
  return {
    logits: new Float32Array(patches * stride).fill(-20),
    boxes: new Float32Array(patches * 4),
    patches,
    stride,
    queries,
    thresholds: queries.map(() => 0.3),
    sx: 100,
    sy: 50,
    width: 100,
    height: 50,
    nmsIou: null,
    ...over,
  };
}

describe('OWL postprocessing', () => {
  it('turns a confident patch into a box in source pixels with its sigmoid score', () => {
    const inp = input(3, 4, ['red circle']);
    inp.logits[1 * 4 + 0] = logit(0.9);
    inp.boxes.set([0.5, 0.5, 0.2, 0.4], 1 * 4); // cx cy w h
    const d = decodeDetections(inp);
    expect(d).toHaveLength(1);
    expect(d[0]!.query).toBe('red circle');
    expect(d[0]!.score).toBeCloseTo(0.9, 5);
    expect(d[0]!.box).toEqual([40, 15, 60, 35].map((v) => expect.closeTo(v, 4)));
  });

  it('is multi-label: one patch can answer several queries', () => {
    const inp = input(2, 4, ['red circle', 'circle', 'red object']);
    inp.boxes.set([0.5, 0.5, 0.1, 0.1], 0);
    inp.logits.set([logit(0.8), logit(0.7), logit(0.6)], 0);
    const d = decodeDetections(inp);
    expect(d.map((x) => x.query).sort()).toEqual(['circle', 'red circle', 'red object']);
  });

  it('applies each query its own threshold and ignores padding columns', () => {
    const inp = input(1, 4, ['a', 'b'], { thresholds: [0.5, 0.95] });
    inp.boxes.set([0.5, 0.5, 0.1, 0.1], 0);
    inp.logits.set([logit(0.6), logit(0.9), logit(0.99), logit(0.99)], 0); // columns 2, 3 are padding
    const d = decodeDetections(inp);
    expect(d.map((x) => x.query)).toEqual(['a']);
  });

  it('clips boxes to the image', () => {
    const inp = input(1, 4, ['q']);
    inp.logits[0] = 5;
    inp.boxes.set([0.95, 0.02, 0.2, 0.2], 0);
    const [d] = decodeDetections(inp);
    expect(d!.box).toEqual([85, 0, 100, 6].map((v) => expect.closeTo(v, 4)));
  });

  it('drops a box left with no area after clipping: OWLv2 boxes wholly in the padding below the image', () => {
    // 640x360 source seen as a 640x640 square: this box spans y 384..576, all of it in the padding
    const inp = input(3, 4, ['dog', 'cat'], { sx: 640, sy: 640, width: 640, height: 360 });
    inp.boxes.set([0.5, 0.75, 0.4, 0.3], 0);
    inp.logits.set([logit(0.73), logit(0.9)], 0);
    inp.boxes.set([0.5, 0.25, 0.4, 0.3], 4); // y 64..256: inside
    inp.logits.set([logit(0.6), -20], 4);
    inp.boxes.set([1.2, 0.25, 0.2, 0.2], 8); // right of the square: x 704..832
    inp.logits.set([logit(0.8), -20], 8);
    const d = decodeDetections(inp);
    expect(d).toEqual([{ query: 'dog', score: expect.closeTo(0.6, 5), box: [192, 64, 448, 256].map((v) => expect.closeTo(v, 3)) }]);
    // as with NMS
    expect(decodeDetections({ ...inp, nmsIou: 0.5 })).toEqual(d);
  });

  it('scales by the padded square for OWLv2 on a non-square image', () => {
    // 200x100 source, OWLv2: the model saw a 200x200 square with the image in its top half
    const inp = input(1, 4, ['q'], { sx: 200, sy: 200, width: 200, height: 100 });
    inp.logits[0] = 5;
    inp.boxes.set([0.25, 0.25, 0.1, 0.1], 0);
    const [d] = decodeDetections(inp);
    expect(d!.box).toEqual([40, 40, 60, 60].map((v) => expect.closeTo(v, 4)));
  });

  it('with NMS, keeps the best of overlapping boxes per query but not across queries', () => {
    const inp = input(3, 4, ['a', 'b'], { nmsIou: 0.5 });
    inp.boxes.set([0.5, 0.5, 0.2, 0.2, 0.51, 0.5, 0.2, 0.2, 0.1, 0.1, 0.1, 0.1], 0);
    inp.logits.set([logit(0.9), logit(0.8)], 0);
    inp.logits.set([logit(0.7), -20], 4);
    inp.logits.set([logit(0.6), -20], 8);
    const d = decodeDetections(inp);
    const a = d.filter((x) => x.query === 'a');
    expect(a.map((x) => x.score)).toEqual([expect.closeTo(0.9, 5), expect.closeTo(0.6, 5)]);
    expect(d.filter((x) => x.query === 'b')).toHaveLength(1);
    // without NMS every box above threshold stays, best first
    const all = decodeDetections({ ...inp, nmsIou: null });
    expect(all.filter((x) => x.query === 'a').map((x) => x.score)).toEqual([0.9, 0.7, 0.6].map((v) => expect.closeTo(v, 5)));
  });

  it('keeps at most maxPerQuery boxes a query, the highest scoring, with and without NMS', () => {
    // 300 patches in a row, none overlapping, scores rising with the patch; two queries
    const inp = input(300, 2, ['a', 'b'], { thresholds: [0, 0.5], maxPerQuery: 100 });
    for (let p = 0; p < 300; p++) {
      inp.boxes.set([(p + 0.5) / 300, 0.5, 0.5 / 300, 0.2], p * 4);
      inp.logits.set([logit((p + 1) / 302), p % 2 ? logit(0.9) : -20], p * 2);
    }
    for (const nmsIou of [null, 0.5]) {
      const d = decodeDetections({ ...inp, nmsIou });
      const a = d.filter((x) => x.query === 'a');
      expect(a).toHaveLength(100);
      expect(a[0]!.score).toBeCloseTo(300 / 302, 5);
      expect(a.at(-1)!.score).toBeCloseTo(201 / 302, 5); // the 100 best of 300
      expect(d.filter((x) => x.query === 'b')).toHaveLength(100); // 150 over its threshold
    }
    // without a cap, threshold 0 yields a box for every patch
    expect(decodeDetections({ ...inp, maxPerQuery: undefined }).filter((x) => x.query === 'a')).toHaveLength(300);
  });
});
