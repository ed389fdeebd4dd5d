/** `groundstream detect <image...> -q QUERY [-q ...]`: detections for still images. */
import { readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { normalizeQuery } from '../domain/query.js';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { loadModel } from '../model/index.js';
import type { DetectResult } from '../model/index.js';
import { annotate } from './annotate.js';
import { modelOptionsFrom, type ModelFlags } from './model-flags.js';

export interface DetectFlags extends ModelFlags {
  query: string[];
  threshold?: number;
  nms?: string;
  json?: boolean;
  annotate?: string;
}

interface ImageReport {
  path: string;
  width?: number;
  height?: number;
  timings?: DetectResult['timings'];
  detections?: DetectResult['detections'];
  error?: { code: string; message: string };
}

function annotatePath(target: string, image: string, many: boolean): string {
  if (!many) return target;
  mkdirSync(target, { recursive: true });
  return join(target, `${basename(image, extname(image))}.annotated.png`);
}

/** Runs detection on each image; returns the process exit code (0 ok, 1 some image failed). */
export async function runDetect(images: string[], flags: DetectFlags, out = process.stdout, err = process.stderr): Promise<number> {
  if (!flags.query?.length) throw new GroundstreamError('QUERY_EMPTY', 'give at least one -q "query"');
  const nmsIou = flags.nms === undefined ? undefined : flags.nms === 'off' ? null : Number(flags.nms);
  if (nmsIou !== undefined && nmsIou !== null && !(nmsIou > 0 && nmsIou <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `--nms must be an IoU in (0, 1] or "off", got ${flags.nms}`);
  }
  if (flags.threshold !== undefined && !(flags.threshold >= 0 && flags.threshold <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `--threshold must be in [0, 1], got ${flags.threshold}`);
  }
  if (flags.annotate && images.length === 1 && !/\.(png|jpe?g|webp)$/i.test(flags.annotate)) {
    throw new GroundstreamError('CONFIG_INVALID', `--annotate writes PNG, JPEG or WebP: name the file .png, .jpg or .webp, not ${JSON.stringify(flags.annotate)}`);
  }
  const model = await loadModel(flags.model, modelOptionsFrom(flags, (m) => !flags.json && err.write(`${m}\n`)));
  const reports: ImageReport[] = [];
  try {
    const queries = await model.prepareQueries(flags.query);
    for (const path of images) {
      try {
        const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
          throw new GroundstreamError('IMAGE_INVALID', `${path}: ${e.code ?? e.message}`);
        });
        const r = await model.detect(bytes, queries, { threshold: flags.threshold, nmsIou });
        reports.push({ path, width: r.width, height: r.height, timings: r.timings, detections: r.detections });
        if (flags.annotate) {
          // a folder that cannot be made, a file that cannot be written: that image's error, not the run's
          const target = await Promise.resolve()
            .then(() => annotatePath(flags.annotate!, path, images.length > 1))
            .then(async (t) => (await annotate(bytes, r.detections, queries.texts, t), t))
            .catch((e: unknown) => {
              reports.pop();
              throw isGroundstreamError(e) ? e : new GroundstreamError('OUTPUT_WRITE_FAILED', `${flags.annotate}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
            });
          if (!flags.json) err.write(`annotated: ${target}\n`);
        }
      } catch (e) {
        if (!isGroundstreamError(e)) throw e;
        reports.push({ path, error: { code: e.code, message: e.message } });
      }
    }
    if (flags.json) {
      out.write(`${JSON.stringify({ model: model.info, queries: queries.texts.map(normalizeQuery), images: reports })}\n`);
    } else {
      for (const r of reports) {
        if (r.error) {
          err.write(`${r.path}: error ${r.error.code}: ${r.error.message}\n`);
          continue;
        }
        const ms = r.timings!.preprocess + r.timings!.infer + r.timings!.postprocess;
        out.write(`${r.path} (${r.width}x${r.height}): ${r.detections!.length} detection(s) in ${ms.toFixed(1)} ms\n`);
        for (const d of r.detections!) {
          out.write(`  ${d.query.padEnd(24)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(', ')}]\n`);
        }
      }
    }
  } finally {
    await model.close();
  }
  return reports.some((r) => r.error) ? 1 : 0;
}
