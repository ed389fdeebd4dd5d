import { describe, expect, it } from 'vitest';
import type { DetectionsMessage, ServerMessage } from '../../src/protocol/index.js';
import { encodeServerMessage } from '../../src/protocol/index.js';

const detections: DetectionsMessage['detections'] = [
  { query: 'red circle', score: 0.91, box: [1.5, 2, 30.25, 40], trackId: 3, track: 'updated' },
  { query: 'star "quoted" \u2028', score: 0.4, box: [0, 0, 1, 1] },
];
const frame = { seq: 7, pts: 0.233, capturedAt: 1764000000000, width: 640, height: 360 };
const result = (subscription: string, extra: Partial<DetectionsMessage> = {}): DetectionsMessage => ({
  type: 'detections',
  subscription,
  stream: 'demo',
  frame,
  queryVersion: 2,
  timings: { decode: 0.3, infer: 2.5, total: 4 },
  detections,
  ...extra,
});

describe('encodeServerMessage', () => {
  it('writes exactly what JSON.stringify writes, for every message shape', () => {
    const msgs: ServerMessage[] = [
      result('a'),
      result('b', { lost: [4, 5] }),
      { ...result('c'), lost: undefined } as DetectionsMessage,
      result('d', { detections: [] }),
      { type: 'missed', subscription: 'a', count: 3 },
      { type: 'error', code: 'PROTOCOL_INVALID_JSON', message: 'x' },
    ];
    for (const m of msgs) {
      const out = encodeServerMessage(m);
      expect(out).toBe(JSON.stringify(m));
      expect(JSON.parse(out)).toEqual(JSON.parse(JSON.stringify(m)));
    }
  });

  it('encodes a shared detections array once: later messages reuse its JSON', () => {
    const shared = [{ query: 'blue square', score: 0.7, box: [1, 2, 3, 4] as [number, number, number, number] }];
    const first = encodeServerMessage(result('a', { detections: shared }));
    // The cache holds the first encoding (arrays are read-only once sent, as the pipeline's are),
    // so changing the array afterwards shows up only in messages built from a new array.
    shared[0]!.score = 0.1;
    const second = encodeServerMessage(result('b', { detections: shared }));
    expect(JSON.parse(second).detections).toEqual(JSON.parse(first).detections);
    expect(JSON.parse(second).subscription).toBe('b');
    const fresh = encodeServerMessage(result('c', { detections: [...shared] }));
    expect(JSON.parse(fresh).detections[0].score).toBe(0.1);
  });
});
