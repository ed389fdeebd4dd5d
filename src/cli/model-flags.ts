/** Flags every command that loads a model shares. */
import type { Command } from 'commander';
import type { LoadOptions } from '../model/index.js';
import { intFlag } from './flag-values.js';

/** The help of the flags serve shares with detect and eval (serve has its own config layers). */
export const MODEL_FLAG_HELP = {
  variant: "another graph in the model's onnx/ folder, e.g. model_quantized.onnx or quantized (default onnx/model.onnx, or the split graphs)",
  provider: 'execution providers in order of preference, e.g. cuda cpu: the first that can be used runs the model (default cpu)',
};

export interface ModelFlags {
  model?: string;
  variant?: string;
  threads?: number;
  workers?: number;
  provider?: string[];
  graphOpt?: 'disabled' | 'basic' | 'extended' | 'all';
  combined?: boolean;
  maxPixels?: number;
}

export function addModelFlags(cmd: Command): Command {
  return cmd
    .option('-m, --model <dir>', 'model folder in the Hugging Face layout (default: the bundled shapes-owl)')
    .option('--threads <n>', 'onnxruntime intra-op threads (default 2)', intFlag)
    .option('--workers <n>', 'run the model on n worker threads, each with its own copy (default 0: this thread)', intFlag)
    .option('--variant <name>', MODEL_FLAG_HELP.variant)
    .option('--provider <name...>', MODEL_FLAG_HELP.provider)
    .option('--graph-opt <level>', 'graph optimisation: disabled | basic | extended | all (default all)')
    .option('--combined', 'run the combined graph even when split graphs exist')
    .option('--max-pixels <n>', 'largest accepted image in pixels (default 40000000)', intFlag);
}

export function modelOptionsFrom(flags: ModelFlags, log?: (m: string) => void): LoadOptions {
  return {
    variant: flags.variant,
    forceCombined: flags.combined,
    maxPixels: flags.maxPixels,
    session: {
      intraOpThreads: flags.threads,
      workers: flags.workers,
      executionProviders: flags.provider,
      graphOptimization: flags.graphOpt,
    },
    log,
  };
}
