/** What the numbers were measured on: CPU, cores, memory, and the versions that matter. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ffmpegBinary, ffmpegVersion } from '../../src/ingest/index.js';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  onnxruntime: string;
  transformersJs: string;
  sharp: string;
  ffmpeg: string;
  ffmpegPath: string;
  /** Load average over the minute before the run started (others' work competes for the cores). */
  loadAverage1m: number;
}

const NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** The installed version (read from node_modules: some packages do not export package.json). */
function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(NODE_MODULES, name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const ff = ffmpegBinary();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntime: packageVersion('onnxruntime-node'),
    transformersJs: packageVersion('@huggingface/transformers'),
    sharp: packageVersion('sharp'),
    ffmpeg: ffmpegVersion(ff.path) ?? 'unknown',
    ffmpegPath: ff.path,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}
