import { encodeServerMessage } from '../src/protocol/index.js';
const det = Object.freeze([0,1,2,3,4].map((i) => Object.freeze({ query: ['red circle','blue square','green star','yellow cross','purple triangle'][i]!, score: 0.8123 + i / 100, box: Object.freeze([10.5 + i, 20.25, 100.125, 200.5]) as unknown as [number,number,number,number], trackId: i + 1, track: 'updated' as const })));
const frame = Object.freeze({ seq: 1234, pts: 41.1, capturedAt: Date.now(), width: 1280, height: 720 });
let total = 0;
for (let round = 0; round < 3; round++) {
  const t = process.hrtime.bigint();
  const N = 200000;
  for (let i = 0; i < N; i++) {
    const msg = { type: 'detections' as const, subscription: `c${i % 200}`, stream: 'fan', frame, queryVersion: 3, timings: { decode: 0.31, infer: 2.52, total: Date.now() - frame.capturedAt }, detections: det };
    total += encodeServerMessage(msg).length;
  }
  console.log('encode per client µs', (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(2));
  const t2 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) total += Buffer.byteLength(encodeServerMessage({ type: 'detections' as const, subscription: `c${i % 200}`, stream: 'fan', frame, queryVersion: 3, timings: { decode: 0.31, infer: 2.52, total: Date.now() - frame.capturedAt }, detections: det }));
  console.log('encode+byteLength µs', (Number(process.hrtime.bigint() - t2) / N / 1000).toFixed(2));
}
