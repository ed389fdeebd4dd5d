/** Result frames: the same bytes as encoding each message, made once for everyone who shares one. */
import { describe, expect, it } from 'vitest';
import type { SubscriberResult } from '../../src/pipeline/stream-pipeline.js';
import { encodeServerMessage } from '../../src/protocol/index.js';
import { resultFrame, subscriptionBytes } from '../../src/server/result-frame.js';

const result = (over: Partial<SubscriberResult> = {}, freeze = true): SubscriberResult => {
  const f = <T extends object>(x: T): T => (freeze ? Object.freeze(x) : x);
  return f({
    stream: 'cam',
    frame: f({ seq: 7, pts: 0.2, capturedAt: 1_700_000_000_000, width: 640, height: 360 }),
    queryVersion: 2,
    timings: { decode: 0.31, infer: 2.5, total: 0 },
    detections: f([f({ query: 'red circle', score: 0.91, box: f([1, 2, 30, 40]) as [number, number, number, number], trackId: 3, track: 'updated' as const })]),
    ...over,
  });
};

/** What encoding the whole message gives. */
const encoded = (id: string, r: SubscriberResult, total: number) =>
  encodeServerMessage({
    type: 'detections',
    subscription: id,
    stream: r.stream,
    frame: r.frame,
    queryVersion: r.queryVersion,
    timings: { decode: r.timings.decode, infer: r.timings.infer, total },
    detections: r.detections,
    ...(r.lost?.length ? { lost: r.lost } : {}),
  });

/** The payload of a text frame, checking its header on the way. */
function payload(frame: Buffer): string {
  expect(frame[0]).toBe(0x81);
  const n = frame[1]!;
  const [head, length] = n < 126 ? [2, n] : [4, frame.readUInt16BE(2)];
  expect(frame.length).toBe(head + length);
  return frame.subarray(head).toString('utf8');
}

describe('resultFrame', () => {
  it('frames exactly the text encodeServerMessage gives, for any subscription id', () => {
    const r = result({ lost: Object.freeze([1, 2]) as number[] });
    for (const id of ['s1', 's10', 'a"quoted"\\id', 'boîte 🟥']) {
      const f = resultFrame(subscriptionBytes(id), r, 4);
      expect(payload(f.frame)).toBe(encoded(id, r, 4));
      expect(f.text()).toBe(encoded(id, r, 4));
      expect(JSON.parse(f.text()).subscription).toBe(id);
    }
  });

  it('hands clients whose subscriptions have the same id the same frame, and makes a new one when anything differs', () => {
    const r = result();
    const a = resultFrame(subscriptionBytes('s1'), r, 3);
    expect(resultFrame(subscriptionBytes('s1'), r, 3)).toBe(a); // another client's 's1': equal bytes
    const b = resultFrame(subscriptionBytes('s2'), r, 3);
    expect(b).not.toBe(a);
    expect(b.text()).toBe(encoded('s2', r, 3));
    const later = resultFrame(subscriptionBytes('s2'), r, 4); // a millisecond later
    expect(later.text()).toBe(encoded('s2', r, 4));
    const next = result({ frame: Object.freeze({ ...r.frame, seq: 8 }) });
    expect(resultFrame(subscriptionBytes('s2'), next, 4).text()).toBe(encoded('s2', next, 4));
  });

  it('remembers nothing it was given unfrozen: a caller that changes its values in place gets them encoded afresh', () => {
    const r = result({}, false);
    const first = resultFrame(subscriptionBytes('s1'), r, 1).text();
    (r.detections[0] as { score: number }).score = 0.5;
    const second = resultFrame(subscriptionBytes('s1'), r, 1).text();
    expect(first).not.toBe(second);
    expect(second).toBe(encoded('s1', r, 1));
  });
});
