import { describe, expect, it } from 'vitest';
import { boxScale, normalizeInto, resizeTarget } from '../../src/model/owl/preprocess.js';

const MEAN = [0.5, 0.25, 0.0];
const STD = [0.5, 0.25, 1.0];

describe('OWL preprocessing', () => {
  it('stretches every image to S x S for OWL-ViT, whatever its aspect', () => {
    expect(resizeTarget('owlvit', 224, 1280, 720)).toEqual({ width: 224, height: 224 });
    expect(resizeTarget('owlvit', 224, 360, 640)).toEqual({ width: 224, height: 224 });
  });

  it('fits the longer side to S for OWLv2, leaving the pad on the bottom or right', () => {
    expect(resizeTarget('owlv2', 960, 1280, 720)).toEqual({ width: 960, height: 540 });
    expect(resizeTarget('owlv2', 960, 360, 640)).toEqual({ width: 540, height: 960 });
    expect(resizeTarget('owlv2', 960, 500, 500)).toEqual({ width: 960, height: 960 });
  });

  it('writes normalised CHW pixels and pads the rest with normalised zero', () => {
    const S = 4;
    // a 3x2 RGB image: pixel (x, y) has R = 10x + y, G = 255, B = 0
    const w = 3;
    const h = 2;
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) rgb.set([10 * x + y, 255, 0], (y * w + x) * 3);
    const out = new Float32Array(3 * S * S).fill(NaN);
    normalizeInto(out, rgb, w, h, S, MEAN, STD);
    const at = (c: number, x: number, y: number) => out[c * S * S + y * S + x]!;
    expect(at(0, 2, 1)).toBeCloseTo((21 / 255 - 0.5) / 0.5, 6);
    expect(at(1, 0, 0)).toBeCloseTo((1 - 0.25) / 0.25, 6);
    expect(at(2, 1, 1)).toBeCloseTo(0, 6);
    // right column and bottom rows are pad: value 0.0 before normalisation
    expect(at(0, 3, 0)).toBeCloseTo(-1, 6);
    expect(at(1, 0, 3)).toBeCloseTo(-1, 6);
    expect(at(2, 3, 3)).toBeCloseTo(0, 6);
    expect(out.some(Number.isNaN)).toBe(false);
  });

  it('ignores the alpha channel of RGBA input', () => {
    const rgba = new Uint8Array([255, 0, 0, 7, 0, 255, 0, 9]);
    const out = new Float32Array(3 * 4);
    normalizeInto(out, rgba, 2, 1, 2, [0, 0, 0], [1, 1, 1], 4);
    expect(Array.from(out.slice(0, 2))).toEqual([1, 0]);
    expect(Array.from(out.slice(4, 6))).toEqual([0, 1]);
  });

  it('gives the same values on the word-at-a-time path as a plain per-byte reference, aligned or not', () => {
    const reference = (rgb: Uint8Array, w: number, h: number, S: number, mean: number[], std: number[], ch: number) => {
      const out = new Float32Array(3 * S * S);
      for (let c = 0; c < 3; c++) {
        for (let y = 0; y < S; y++) {
          for (let x = 0; x < S; x++) {
            const v = x < w && y < h ? rgb[(y * w + x) * ch + c]! : 0;
            out[c * S * S + y * S + x] = v * (1 / (255 * std[c]!)) + -mean[c]! / std[c]!;
          }
        }
      }
      return out;
    };
    const mean = [0.48145466, 0.4578275, 0.40821073];
    const std = [0.26862954, 0.26130258, 0.27577711];
    let cases = 0;
    for (const ch of [3, 4]) {
      for (const S of [5, 8]) {
        for (let w = 1; w <= S; w++) {
          for (const h of [1, 2, S - 1, S]) {
            for (const offset of [0, 1, 2, 3, 4]) {
              // pixels at a byte offset into a larger buffer: offsets 1-3 are misaligned for 32-bit reads
              const backing = new Uint8Array(offset + w * h * ch + 5);
              for (let i = 0; i < backing.length; i++) backing[i] = (i * 73 + 11) & 255;
              const rgb = backing.subarray(offset, offset + w * h * ch);
              const out = new Float32Array(3 * S * S).fill(NaN);
              normalizeInto(out, rgb, w, h, S, mean, std, ch);
              expect(out).toEqual(reference(rgb, w, h, S, mean, std, ch));
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBe(2 * (5 + 8) * 4 * 5);
  });

  it('refuses an output buffer of the wrong size and an image larger than S', () => {
    expect(() => normalizeInto(new Float32Array(5), new Uint8Array(3), 1, 1, 2, MEAN, STD)).toThrow(RangeError);
    expect(() => normalizeInto(new Float32Array(12), new Uint8Array(27), 3, 3, 2, MEAN, STD)).toThrow(RangeError);
    expect(() => normalizeInto(new Float32Array(12), new Uint8Array(8), 2, 2, 2, MEAN, STD, 2)).toThrow(/channels must be 3 or 4/);
  });

  it('scales OWL-ViT boxes by the image and OWLv2 boxes by the padded square', () => {
    expect(boxScale('owlvit', 1280, 720)).toEqual({ sx: 1280, sy: 720 });
    expect(boxScale('owlv2', 1280, 720)).toEqual({ sx: 1280, sy: 1280 });
    expect(boxScale('owlv2', 360, 640)).toEqual({ sx: 640, sy: 640 });
  });
});
