/**
 * Checks a graph's declared inputs and outputs against what a model family needs, so that a wrong
 * file fails at load time with an error naming the difference, never with garbage boxes later.
 */
import { GroundstreamError } from '../errors.js';
import type { TensorInfo } from './onnx-session.js';

/** One expected tensor: its type, rank, and the dims that must have a fixed value (null = any). */
export interface TensorSpec {
  name: string;
  type: string;
  dims: (number | null)[];
}

function check(kind: 'input' | 'output', have: readonly TensorInfo[], want: TensorSpec, file: string): string | null {
  const t = have.find((h) => h.name === want.name);
  if (!t) return `${file}: missing ${kind} "${want.name}" (has ${have.map((h) => h.name).join(', ') || 'none'})`;
  if (t.type !== 'unknown' && t.type !== want.type) return `${file}: ${kind} "${want.name}" is ${t.type}, expected ${want.type}`;
  if (t.shape.length && t.shape.length !== want.dims.length) {
    return `${file}: ${kind} "${want.name}" has rank ${t.shape.length} [${t.shape.join(', ')}], expected rank ${want.dims.length}`;
  }
  for (let i = 0; i < want.dims.length && i < t.shape.length; i++) {
    const w = want.dims[i];
    const h = t.shape[i];
    if (w !== null && typeof h === 'number' && h !== w) {
      return `${file}: ${kind} "${want.name}" dim ${i} is ${h}, expected ${w}`;
    }
  }
  return null;
}

/** Throws MODEL_SIGNATURE listing every mismatch between the graph and the specs. */
export function checkSignature(
  file: string,
  inputs: readonly TensorInfo[],
  outputs: readonly TensorInfo[],
  wantInputs: readonly TensorSpec[],
  wantOutputs: readonly TensorSpec[],
): void {
  const problems = [
    ...wantInputs.map((w) => check('input', inputs, w, file)),
    ...wantOutputs.map((w) => check('output', outputs, w, file)),
  ].filter((p): p is string => p !== null);
  if (problems.length) throw new GroundstreamError('MODEL_SIGNATURE', problems.join('; '));
}

/** One dim of what groundstream feeds an input (or reads from an output): the values it takes,
 * those values in words with where they come from, and what to change when a graph fixes another. */
export interface FeedDim {
  values: readonly number[];
  what: string;
  fix: (fixed: number) => string;
}

/** The dims groundstream uses for one tensor; null: a dim it does not constrain here. */
export interface FeedSpec {
  kind: 'input' | 'output';
  name: string;
  dims: (FeedDim | null)[];
}

/**
 * Throws MODEL_SIGNATURE when a dim the graph fixes is not one that groundstream will use: such a
 * graph loads, and then every frame fails inside onnxruntime. One problem per fix is reported
 * (input_ids and attention_mask share theirs).
 */
export function checkFeeds(file: string, inputs: readonly TensorInfo[], outputs: readonly TensorInfo[], specs: readonly FeedSpec[]): void {
  const problems = new Map<string, string>();
  for (const spec of specs) {
    const t = (spec.kind === 'input' ? inputs : outputs).find((x) => x.name === spec.name);
    spec.dims.forEach((want, i) => {
      const fixed = t?.shape[i];
      // (fixed, it must take every count fed: a batch fixed at 4, the smallest query bucket, would
      // pass a trial run and fail from the fifth query on)
      if (!want || typeof fixed !== 'number' || want.values.every((v) => v === fixed)) return;
      const fix = want.fix(fixed);
      if (!problems.has(fix)) problems.set(fix, `${file}: ${spec.kind} "${spec.name}" dim ${i} is fixed at ${fixed}, but groundstream uses ${want.what}: ${fix}`);
    });
  }
  if (problems.size) throw new GroundstreamError('MODEL_SIGNATURE', [...problems.values()].join('; '));
}

export function formatSignature(inputs: readonly TensorInfo[], outputs: readonly TensorInfo[]): string {
  const f = (t: TensorInfo) => `${t.name}: ${t.type}[${t.shape.join(', ')}]`;
  return `inputs (${inputs.map(f).join('; ')}) outputs (${outputs.map(f).join('; ')})`;
}
