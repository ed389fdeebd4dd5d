import { describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { checkFeeds, checkSignature, type FeedDim } from '../../src/model/signature.js';

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

  it('names each fixed dim that what groundstream feeds would not fit, once per fix', () => {
    const rows: FeedDim = { values: [4, 8], what: '4 or 8 rows', fix: () => 'make it symbolic' };
    const side: FeedDim = { values: [96], what: '96x96 images', fix: (n) => `set size to ${n}` };
    const graph = [
      { name: 'input_ids', type: 'int64', shape: [1, 16] },
      { name: 'attention_mask', type: 'int64', shape: [1, 16] },
      { name: 'pixel_values', type: 'float32', shape: ['b', 3, 128, 128] },
    ];
    const message = fails(() =>
      checkFeeds('m.onnx', graph, [], [
        { kind: 'input', name: 'input_ids', dims: [rows, null] },
        { kind: 'input', name: 'attention_mask', dims: [rows, null] },
        { kind: 'input', name: 'pixel_values', dims: [null, null, side, side] },
      ]),
    );
    expect(message.split('; ')).toEqual([
      expect.stringMatching(/m\.onnx: input "input_ids" dim 0 is fixed at 1, but groundstream uses 4 or 8 rows: make it symbolic$/),
      'm.onnx: input "pixel_values" dim 2 is fixed at 128, but groundstream uses 96x96 images: set size to 128',
    ]);
    // symbolic dims, and fixed ones that fit, pass
    expect(() => checkFeeds('m.onnx', [{ name: 'input_ids', type: 'int64', shape: ['q', 16] }], [], [{ kind: 'input', name: 'input_ids', dims: [rows, { ...side, values: [16] }] }])).not.toThrow();
  });
});
