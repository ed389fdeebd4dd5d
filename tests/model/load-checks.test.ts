/**
 * What loadModel refuses, and how it says so, on real onnxruntime with tiny hand-written graphs
 * (tiny-owl.ts) and copies of the bundled model: a folder that would load and then fail on every
 * frame must fail at load, with the file and field to fix.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { GroundstreamError, isGroundstreamError } from '../../src/errors.js';
import { BUNDLED_MODEL_DIR, loadModel, type LoadOptions } from '../../src/model/index.js';
import { writeTinyOwlFolder, type TinyFolderOptions } from './tiny-owl.js';

const tmp = mkdtempSync(join(tmpdir(), 'gs-load-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const folder = (o: TinyFolderOptions = {}) => writeTinyOwlFolder(join(tmp, `m${++n}`), o);

/** The GroundstreamError loading `dir` fails with (a model that loads is closed and fails the test). */
async function loadError(dir: string, options: LoadOptions = {}): Promise<GroundstreamError> {
  let model;
  try {
    model = await loadModel(dir, options);
  } catch (e) {
    if (isGroundstreamError(e)) return e;
    throw e;
  }
  await model.close();
  throw new Error(`${dir} loaded`);
}

/** Loads `dir`, runs `fn` on it, closes it. */
async function withModel<T>(dir: string, options: LoadOptions, fn: (m: Awaited<ReturnType<typeof loadModel>>) => Promise<T>): Promise<T> {
  const m = await loadModel(dir, options);
  try {
    return await fn(m);
  } finally {
    await m.close();
  }
}

const blank = (w: number, h: number) => ({ data: new Uint8Array(w * h * 3), width: w, height: h });

describe('loading a model checks the dims a graph fixes against what will be fed', () => {
  it('loads a tiny graph that takes what groundstream feeds, and detects with it', async () => {
    const dir = folder({ textLength: 16, patchLogits: [2, ...new Array<number>(15).fill(-10)] });
    const r = await withModel(dir, {}, (m) => m.detect(blank(64, 48), ['red circle']));
    expect(r.detections).toEqual([{ query: 'red circle', score: expect.closeTo(0.881, 3), box: [0, 0, 16, 12] }]);
  });

  it('refuses a graph whose fixed text length is not the one config.json makes it feed, naming the field', async () => {
    const dir = folder({ textDims: ['q', 16], config: { text_config: { max_position_embeddings: 77 } } });
    const e = await loadError(dir);
    expect(e.code).toBe('MODEL_SIGNATURE');
    expect(e.message).toMatch(/input "input_ids" dim 1 is fixed at 16, but groundstream uses 77 tokens per query \(.*config\.json text_config\.max_position_embeddings\): set text_config\.max_position_embeddings to 16 in config\.json/);
  });

  it('refuses a graph whose text batch is fixed at 1: queries are padded to at least 4 rows', async () => {
    const e = await loadError(folder({ textDims: [1, 'l'] }));
    expect(e.code).toBe('MODEL_SIGNATURE');
    expect(e.message).toMatch(/input "input_ids" dim 0 is fixed at 1, but groundstream uses 4, 8, .* query rows .*: export the graph with a symbolic \(dynamic\) text batch axis/);
    // fixed at 4, the smallest count fed: a trial run with one query passes, the fifth query would fail
    const four = await loadError(folder({ textDims: [4, 'l'] }));
    expect(four.code).toBe('MODEL_SIGNATURE');
    expect(four.message).toMatch(/dim 0 is fixed at 4, but groundstream uses 4, 8, /);
  });

  it('names preprocessor_config.json when the graph fixes another image size', async () => {
    const dir = folder({ imageSize: 32, pixelDims: [1, 3, 32, 32], preprocessor: { size: 48 } });
    const e = await loadError(dir);
    expect(e.code).toBe('MODEL_SIGNATURE');
    expect(e.message).toMatch(/input "pixel_values" dim 2 is fixed at 32, but groundstream uses 48x48 images .*: set "size" to 32 in .*preprocessor_config\.json/);
  });

  it('finds a wrong preprocessor_config.json size behind symbolic dims by a trial run at load', async () => {
    // height and width symbolic, as optimum exports them; the graph only works at 32 x 32
    const dir = folder({ imageSize: 32, preprocessor: { size: 48 } });
    const e = await loadError(dir);
    expect(e.code).toBe('MODEL_SIGNATURE');
    expect(e.message).toMatch(/model\.onnx: a trial run at load \(one 48x48 image, one query\) failed: set .*preprocessor_config\.json "size" to the image size the graph was exported for \(it is 48, while config\.json vision_config\.image_size says 32\)/);
    expect(e.message).toMatch(/onnxruntime said: .*Add/);
  });

  it('finds a text length the graph does not take behind symbolic dims, and with split graphs blames the text encoder only', async () => {
    const dir = folder({ textLength: 16, split: true, config: { text_config: { max_position_embeddings: 20 } } });
    const e = await loadError(dir);
    expect(e.code).toBe('MODEL_SIGNATURE');
    expect(e.message).toMatch(/text_encoder\.onnx: a trial run at load .* failed: set config\.json text_config\.max_position_embeddings to the text length the graph was exported for \(20 tokens are fed/);
    expect(e.message).not.toMatch(/"size"/);
    // and the detector alone, for the image size
    const e2 = await loadError(folder({ textLength: 16, split: true, preprocessor: { size: 48 } }));
    expect(e2.message).toMatch(/detector\.onnx: a trial run at load .* failed: set .*preprocessor_config\.json "size"/);
    expect(e2.message).not.toMatch(/max_position_embeddings/);
  });

  it('runs the trial under any pixel limit a caller sets', async () => {
    await withModel(folder(), { maxPixels: 10 }, async (m) => expect(m.info.imageSize).toBe(32));
  });

  it('leaves nothing of the trial run behind: the split model answers as before', async () => {
    const dir = folder({ split: true, patchLogits: [3, ...new Array<number>(15).fill(-10)] });
    const r = await withModel(dir, {}, async (m) => {
      expect(m.info.mode).toBe('split');
      return m.detect(blank(32, 32), ['red circle', 'blue square']);
    });
    expect(r.detections.map((d) => d.query)).toEqual(['red circle', 'blue square']);
  });
});

describe('OWLv2 boxes in the padding', () => {
  // one patch fires with a box in the bottom half of the padded square: below a wide image
  const boxes = new Array<number>(16 * 4).fill(0);
  boxes.splice(0, 8, 0.5, 0.75, 0.4, 0.3, 0.25, 0.25, 0.2, 0.2);
  const dir = () => folder({ family: 'owlv2', patchLogits: [2, 1, ...new Array<number>(14).fill(-10)], boxes });

  it('drops a box that lies wholly in the padding, on stills and on video frames alike', async () => {
    const d = dir();
    await withModel(d, {}, async (m) => {
      const png = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#000' } }).png().toBuffer();
      const still = await m.detect(png, ['red circle']);
      // the box inside the image stays; the one in the padding (y 38.4..57.6 of a 32-high image) goes
      expect(still.detections).toEqual([{ query: 'red circle', score: expect.closeTo(0.731, 3), box: [expect.closeTo(9.6, 3), expect.closeTo(9.6, 3), expect.closeTo(22.4, 3), expect.closeTo(22.4, 3)] }]);
      // a video frame, decoded to the model's working size (the server's path)
      const size = m.workingSize(640, 320);
      const frame = await m.detect({ ...blank(size.width, size.height), sourceWidth: 640, sourceHeight: 320 }, ['red circle']);
      expect(frame.detections).toHaveLength(1);
      expect(frame.detections[0]!.box[3]).toBeCloseTo(224, 3);
    });
  });
});

describe('a model folder that is not what it seems', () => {
  const copy = (name: string) => {
    const d = join(tmp, name);
    cpSync(BUNDLED_MODEL_DIR, d, { recursive: true, filter: (s) => !/\/(work|train)$/.test(s) });
    return d;
  };
  const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:0123456789abcdef\nsize 613000000\n';

  it('recognises a Git LFS pointer in place of a graph and says to pull it', async () => {
    const d = copy('lfs');
    writeFileSync(join(d, 'onnx', 'detector.onnx'), pointer);
    const e = await loadError(d);
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toMatch(/detector\.onnx is a Git LFS pointer, not the file itself \(the real file is 613\.0 MB\).*git lfs pull/);
    // on a worker thread too, and for a JSON file
    expect((await loadError(d, { session: { workers: 1 } })).message).toMatch(/Git LFS pointer/);
    writeFileSync(join(d, 'tokenizer.json'), pointer);
    expect((await loadError(d)).message).toMatch(/tokenizer\.json is a Git LFS pointer/);
  });

  it('names the other graphs of onnx/ when model.onnx is missing, and takes one with `variant`', async () => {
    const d = folder({ graphName: 'model_quantized.onnx' });
    const e = await loadError(d);
    expect(e.code).toBe('MODEL_NOT_FOUND');
    expect(e.message).toMatch(/onnx\/model\.onnx \(and no split graphs\); .*onnx has model_quantized\.onnx: choose one with --variant model_quantized\.onnx/);
    for (const variant of ['model_quantized.onnx', 'model_quantized', 'quantized']) {
      await withModel(d, { variant }, async (m) => expect(m.info.mode).toBe('combined'));
    }
    const bad = await loadError(d, { variant: 'fp16' });
    expect([bad.code, bad.message]).toEqual(['MODEL_NOT_FOUND', expect.stringMatching(/variant "fp16": no such graph in .*onnx \(it has model_quantized\.onnx\)/)]);
  });

  it('says model_type is missing, and which values are supported', async () => {
    const d = folder();
    const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
    delete cfg.model_type;
    writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    const e = await loadError(d);
    expect(e.code).toBe('MODEL_CONFIG_INVALID');
    expect(e.message).toMatch(/config\.json has no "model_type": add "model_type": "owlvit" or "owlv2"/);
    expect(e.message).not.toMatch(/undefined/);
    const other = await loadError(folder({ config: { model_type: 'grounding-dino' } }));
    expect([other.code, other.message]).toEqual(['MODEL_UNSUPPORTED', expect.stringMatching(/"grounding-dino" .*supported: owlvit \(OWL-ViT\) or owlv2 \(OWLv2\)/)]);
  });
});

describe('preprocessor_config.json and config.json values are checked at load', () => {
  const cases: [string, TinyFolderOptions, RegExp][] = [
    ['image_std of zeros (NaN scores)', { preprocessor: { image_std: [0, 0, 0] } }, /preprocessor_config\.json: "image_std" must be 3 numbers above 0, one per RGB channel, got \[0,0,0\]/],
    ['image_std that is not numbers', { preprocessor: { image_std: 'x' } }, /"image_std" .* got "x"/],
    ['image_mean of the wrong length', { preprocessor: { image_mean: [0.5, 0.5] } }, /"image_mean" must be 3 numbers, .* got \[0\.5,0\.5\]/],
    ['a resample filter sharp lacks', { preprocessor: { resample: 7 } }, /"resample" must be 0 \(nearest\), 1 \(lanczos\), 2 \(bilinear\) or 3 \(bicubic\), got 7/],
    ['size 0', { preprocessor: { size: 0 } }, /"size" must be the image side in pixels, a whole number above 0 .* got 0/],
    ['size 96.5', { preprocessor: { size: 96.5 } }, /"size" .* got 96\.5/],
    ['a size that is not square', { preprocessor: { size: { height: 32, width: 48 } } }, /"size" must be square .* got \{"height":32,"width":48\}/],
    ['do_normalize false', { preprocessor: { do_normalize: false } }, /"do_normalize" false is not supported/],
    ['a rescale factor other than 1/255', { preprocessor: { rescale_factor: 1 } }, /"rescale_factor" must be 1\/255, got 1/],
    ['an NMS IoU over 1', { config: { groundstream: { nms_iou: 2 } } }, /config\.json: groundstream\.nms_iou must be an IoU above 0 and at most 1, or null for no NMS, got 2/],
    ['an NMS IoU that is not a number', { config: { groundstream: { nms_iou: 'x' } } }, /groundstream\.nms_iou .* got "x"/],
    ['a threshold over 1', { config: { groundstream: { threshold: 5 } } }, /config\.json: groundstream\.threshold must be a number between 0 and 1, got 5/],
    ['a text length of 2 tokens', { config: { text_config: { max_position_embeddings: 2 } } }, /text_config\.max_position_embeddings must be a whole number of tokens, at least 3, got 2/],
  ];
  for (const [what, o, message] of cases) {
    it(`refuses ${what} with MODEL_CONFIG_INVALID, naming file, field and value`, async () => {
      const e = await loadError(folder(o));
      expect([e.code, e.message]).toEqual(['MODEL_CONFIG_INVALID', expect.stringMatching(message)]);
    });
  }

  it('takes one number for image_mean and image_std (all three channels), and {height, width} for size', async () => {
    const dir = folder({ preprocessor: { image_mean: 0.5, image_std: 0.5, size: { height: 32, width: 32 } }, config: { groundstream: { nms_iou: null } } });
    await withModel(dir, {}, async (m) => expect([m.info.imageSize, m.info.nmsIou]).toEqual([32, null]));
  });

  it('takes the threshold and NMS IoU a caller gives over the model\'s, checked', async () => {
    const dir = folder({ config: { groundstream: { threshold: 0.3, nms_iou: 0.5 } } });
    await withModel(dir, {}, async (m) => expect([m.info.threshold, m.info.nmsIou]).toEqual([0.3, 0.5]));
    await withModel(dir, { threshold: 0.05, nmsIou: null }, async (m) => expect([m.info.threshold, m.info.nmsIou]).toEqual([0.05, null]));
    expect((await loadError(dir, { threshold: 2 })).code).toBe('CONFIG_INVALID');
    expect((await loadError(dir, { nmsIou: 0 })).code).toBe('CONFIG_INVALID');
  });
});
