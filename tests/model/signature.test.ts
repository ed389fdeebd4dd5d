import { describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { checkSignature } from '../../src/model/signature.js';

const inputs = [
  { name: 'input_ids', type: 'int64', shape: ['q', 'l'] },
  { name: 'pixel_values', type: 'float32', shape: ['b', 3, 224, 224] },
];
const outputs = [{ name: 'logits', type: 'float32', shape: [1, 'p', 'q'] }];

function fails(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (isGroundstreamError(e, 'MODEL_SIGNATURE')) return e.message;
    throw e;
  }
  throw new Error('expected MODEL_SIGNATURE');
}

describe('graph signature check', () => {
  it('accepts a graph that has what the family needs, symbolic dims included', () => {
    expect(() =>
      checkSignature('m.onnx', inputs, outputs, [
        { name: 'input_ids', type: 'int64', dims: [null, null] },
        { name: 'pixel_values', type: 'float32', dims: [null, 3, 224, 224] },
      ], [{ name: 'logits', type: 'float32', dims: [null, null, null] }]),
    ).not.toThrow();
  });

  it('names a missing input, a wrong type, a wrong rank and a wrong fixed dim', () => {
    expect(fails(() => checkSignature('m.onnx', inputs, outputs, [{ name: 'attention_mask', type: 'int64', dims: [null, null] }], []))).toMatch(/missing input "attention_mask"/);
    expect(fails(() => checkSignature('m.onnx', inputs, outputs, [{ name: 'input_ids', type: 'int32', dims: [null, null] }], []))).toMatch(/"input_ids" is int64, expected int32/);
    expect(fails(() => checkSignature('m.onnx', inputs, outputs, [], [{ name: 'logits', type: 'float32', dims: [null, null] }]))).toMatch(/rank 3/);
    expect(fails(() => checkSignature('m.onnx', inputs, outputs, [{ name: 'pixel_values', type: 'float32', dims: [null, 3, 768, 768] }], []))).toMatch(/dim 2 is 224, expected 768/);
  });
});
