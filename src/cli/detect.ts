/** `groundstream detect <image...> -q QUERY [-q ...]`: detections for still images. */
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
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
  /** An IoU, or 'off' for no NMS. */
  nms?: number | 'off';
  json?: boolean;
  annotate?: string;
}

interface ImageReport {
  path: string;
  width?: number;
  height?: number;
  timings?: DetectResult['timings'];
  detections?: DetectResult['detections'];
  /** Where --annotate wrote this image. */
  annotated?: string;
  /** The image was read and detected, but --annotate could not write it. */
  annotateError?: { code: string; message: string };
  error?: { code: string; message: string };
}

/** Where --annotate writes each image: `target` itself for one image; for several, a folder
 * `target` with `<name>.annotated.png` each, where images of the same name (a/x.jpg, b/x.jpg)
 * get `<name>-2.annotated.png` and on, in the order given, so that none overwrites another. */
export function annotatePaths(target: string, images: readonly string[]): string[] {
  if (images.length === 1) return [target];
  const taken = new Set<string>();
  return images.map((image) => {
    const stem = basename(image, extname(image));
    let name = `${stem}.annotated.png`;
    for (let k = 2; taken.has(name); k++) name = `${stem}-${k}.annotated.png`;
    taken.add(name);
    return join(target, name);
  });
}

/** Why a file could not be read, in words (the errno code alone says little to most people). */
function readError(path: string, e: NodeJS.ErrnoException): GroundstreamError {
  const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory, not an image' : e.code === 'EACCES' ? 'permission denied' : (e.code ?? e.message);
  return new GroundstreamError('IMAGE_INVALID', `${path}: ${why}`);
}

/** The first line of a library's message (libvips appends its own lines, repeating the path). */
const firstLine = (m: string) => m.split('\n')[0]!.trim();

/** Runs detection on each image; returns the process exit code (0 ok, 2 some image could not be
 * read: bad input, as for every other command; else 1 when some drawing could not be written). */
export async function runDetect(images: string[], flags: DetectFlags, out = process.stdout, err = process.stderr): Promise<number> {
  if (!flags.query?.length) throw new GroundstreamError('QUERY_EMPTY', 'give at least one -q "query"');
  const nmsIou = flags.nms === 'off' ? null : flags.nms;
  if (nmsIou !== undefined && nmsIou !== null && !(nmsIou > 0 && nmsIou <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `--nms must be an IoU in (0, 1] or "off", got ${flags.nms}`);
  }
  if (flags.threshold !== undefined && !(flags.threshold >= 0 && flags.threshold <= 1)) {
    throw new GroundstreamError('CONFIG_INVALID', `--threshold must be in [0, 1], got ${flags.threshold}`);
  }
  if (flags.annotate && images.length === 1 && !/\.(png|jpe?g|webp)$/i.test(flags.annotate)) {
    throw new GroundstreamError('CONFIG_INVALID', `--annotate writes PNG, JPEG or WebP: name the file .png, .jpg or .webp, not ${JSON.stringify(flags.annotate)}`);
  }
  if (flags.annotate && images.length > 1 && /\.(png|jpe?g|webp)$/i.test(flags.annotate)) {
    throw new GroundstreamError(
      'CONFIG_INVALID',
      `with several images, --annotate names a folder (each image is written into it as <name>.annotated.png), not an image file: ${JSON.stringify(flags.annotate)}`,
    );
  }
  const targets = flags.annotate ? annotatePaths(flags.annotate, images) : [];
  const model = await loadModel(flags.model, modelOptionsFrom(flags, (m) => !flags.json && err.write(`${m}\n`)));
  const reports: ImageReport[] = [];
  try {
    const queries = await model.prepareQueries(flags.query);
    for (const [i, path] of images.entries()) {
      try {
        const bytes = await readFile(path).catch((e: NodeJS.ErrnoException) => {
          throw readError(path, e);
        });
        const r = await model.detect(bytes, queries, { threshold: flags.threshold, nmsIou });
        const report: ImageReport = { path, width: r.width, height: r.height, timings: r.timings, detections: r.detections };
        reports.push(report);
        if (flags.annotate) {
          // a folder that cannot be made, a file that cannot be written: that image's error, not
          // the run's; its detections stand
          const target = targets[i]!;
          try {
            if (images.length > 1) mkdirSync(dirname(target), { recursive: true });
            await annotate(bytes, r.detections, queries.texts, target);
            report.annotated = target;
            if (!flags.json) err.write(`annotated: ${target}\n`);
          } catch (e) {
            const g = isGroundstreamError(e) ? e : new GroundstreamError('OUTPUT_WRITE_FAILED', `${target}: ${firstLine(e instanceof Error ? e.message : String(e))}`, { cause: e });
            report.annotateError = { code: g.code, message: g.message };
          }
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
        if (r.annotateError) err.write(`${r.path}: error ${r.annotateError.code}: ${r.annotateError.message}\n`);
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
  // an image that could not be read is bad input (2); one whose drawing could not be written is
  // the work failing (1: a full disk, a folder it may not write), as for record
  return reports.some((r) => r.error) ? 2 : reports.some((r) => r.annotateError) ? 1 : 0;
}
