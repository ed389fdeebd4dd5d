#!/usr/bin/env node
/** The `groundstream` command: serve, detect, eval. */
import { Command } from 'commander';
import { isGroundstreamError } from '../errors.js';
import { runDetect, type DetectFlags } from './detect.js';
import { addModelFlags } from './model-flags.js';

const program = new Command('groundstream').description('Real-time visual grounding: name things in words, get their boxes.');

const collect = (v: string, prev: string[] = []) => [...prev, v];

addModelFlags(
  program
    .command('detect')
    .description('detect queried things in still images (JPEG, PNG, WebP)')
    .argument('<image...>', 'image files')
    .requiredOption('-q, --query <text>', 'a query, e.g. "red circle" (repeatable)', collect)
    .option('-t, --threshold <t>', 'score threshold in [0, 1] (default: the model\'s)', parseFloat)
    .option('--nms <iou>', 'per-query NMS IoU, or "off" (default: the model\'s)')
    .option('--json', 'print one JSON object')
    .option('--annotate <out>', 'write the image with boxes drawn (a directory when several images)'),
).action(async (images: string[], flags: DetectFlags) => {
  process.exitCode = await runDetect(images, flags);
});

program.parseAsync().catch((e: unknown) => {
  if (isGroundstreamError(e)) {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  }
});
