/**
 * A fake GroundingModel that finds shapes-world objects by colour alone: each query's colour word
 * ("purple circle" -> purple) picks the pixels near that colour, and every blob of them becomes a
 * box. Deterministic and instant, so the pages' geometry can be checked without a trained model
 * (GS_FAKE_MODEL=colour npm run test:browser). The shape word is ignored.
 */
import { normalizeQuery } from '../../../src/domain/query.js';
import type { Detection } from '../../../src/domain/types.js';
import type { GroundingModel, QuerySet } from '../../../src/model/index.js';
import type { ImageInput, RawImage } from '../../../src/model/image-input.js';

/** Shapes-world colours (models/shapes-owl/train/world.py). */
const COLOURS: Record<string, [number, number, number]> = {
  red: [225, 30, 35],
  orange: [245, 135, 20],
  yellow: [240, 220, 30],
  green: [40, 165, 60],
  blue: [35, 75, 220],
  purple: [135, 45, 185],
  white: [245, 245, 245],
  black: [15, 15, 15],
};

export function colourModel(): GroundingModel {
  const prepare = async (texts: readonly string[]): Promise<QuerySet> => ({ texts: [...new Set(texts.map(normalizeQuery))] });
  return {
    info: { name: 'colour-oracle', family: 'owlvit', imageSize: 224, threshold: 0.3, nmsIou: null, mode: 'split', executionProviders: ['cpu'] },
    prepareQueries: prepare,
    async detect(image: ImageInput, queries: QuerySet | readonly string[]) {
      const img = image as RawImage;
      const set = Array.isArray(queries) ? await prepare(queries as readonly string[]) : (queries as QuerySet);
      const sw = img.sourceWidth ?? img.width;
      const sh = img.sourceHeight ?? img.height;
      const detections: Detection[] = [];
      for (const q of set.texts) {
        const word = q.split(' ').find((w) => w in COLOURS);
        if (!word) continue;
        for (const b of blobs(img, COLOURS[word]!, 60)) {
          detections.push({ query: q, score: 0.9, box: [(b[0] * sw) / img.width, (b[1] * sh) / img.height, ((b[2] + 1) * sw) / img.width, ((b[3] + 1) * sh) / img.height] });
        }
      }
      return { detections, width: sw, height: sh, timings: { preprocess: 0, infer: 0, postprocess: 0 } };
    },
    workingSize: () => ({ width: 224, height: 224 }),
    close: async () => undefined,
  };
}

/** Bounding boxes [x1, y1, x2, y2] (inclusive pixels) of 4-connected blobs near `rgb`, 40+ pixels. */
function blobs(img: RawImage, rgb: [number, number, number], tolerance: number): [number, number, number, number][] {
  const { width: w, height: h, data } = img;
  const ch = img.channels ?? 3;
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const dr = data[i * ch]! - rgb[0];
    const dg = data[i * ch + 1]! - rgb[1];
    const db = data[i * ch + 2]! - rgb[2];
    if (dr * dr + dg * dg + db * db < tolerance * tolerance) mask[i] = 1;
  }
  const out: [number, number, number, number][] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (mask[start] !== 1) continue;
    mask[start] = 2;
    stack.push(start);
    let n = 0;
    const box: [number, number, number, number] = [w, h, -1, -1];
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      n++;
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x);
      box[3] = Math.max(box[3], y);
      for (const j of [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1]) {
        if (j >= 0 && mask[j] === 1) {
          mask[j] = 2;
          stack.push(j);
        }
      }
    }
    if (n >= 40) out.push(box);
  }
  return out;
}
