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

  it('caches the JSON of frozen (shared) values only: a reused, changed object is encoded afresh', () => {
    const reused = [{ query: 'blue square', score: 0.7, box: [1, 2, 3, 4] as [number, number, number, number] }];
    encodeServerMessage(result('a', { detections: reused }));
    reused[0]!.score = 0.1;
    expect(JSON.parse(encodeServerMessage(result('b', { detections: reused }))).detections[0].score).toBe(0.1);

    const shared = Object.freeze([Object.freeze({ query: 'star', score: 0.8, box: Object.freeze([1, 2, 3, 4]) as unknown as [number, number, number, number] })]);
    const first = encodeServerMessage(result('a', { detections: shared as DetectionsMessage['detections'] }));
    const second = encodeServerMessage(result('b', { detections: shared as DetectionsMessage['detections'] }));
    expect(second).toBe(first.replace('"subscription":"a"', '"subscription":"b"'));
    expect(second).toBe(JSON.stringify(result('b', { detections: shared as DetectionsMessage['detections'] })));
  });

  it('leaves out function and symbol values as JSON.stringify does', () => {
    const odd = { ...result('a'), f: () => 1, s: Symbol('x') } as unknown as ServerMessage;
    expect(encodeServerMessage(odd)).toBe(JSON.stringify(odd));
    expect(() => JSON.parse(encodeServerMessage(odd))).not.toThrow();
  });
});
