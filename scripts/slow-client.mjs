#!/usr/bin/env node
/**
 * A client whose handler is slower than results come (a robot's control step, say), to see what
 * the server's back-pressure does for it: how old the results it gets are, and how many it missed.
 *
 *   npm start                                    # in another terminal (or any server)
 *   node scripts/slow-client.mjs --handler-ms 100 --seconds 25
 *
 * Every two seconds: results handled, the age of the newest (now - frame.capturedAt; the server's
 * clock and this one are the same machine's here), the oldest age in those two seconds, and the
 * missed count so far. Uses the built SDK (npm run build).
 */
import { parseArgs } from 'node:util';
import { GroundstreamClient } from '../dist/client/index.js';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: 'ws://127.0.0.1:8080/v1/ws' },
    stream: { type: 'string', default: 'demo' },
    query: { type: 'string', multiple: true, default: ['star', 'purple circle', 'red square'] },
    'handler-ms': { type: 'string', default: '100' },
    seconds: { type: 'string', default: '25' },
  },
});
const handlerMs = Number(o['handler-ms']);
const client = new GroundstreamClient({ url: o.url, reconnect: { maxAttempts: 3 } });
await client.connect();
const sub = client.subscribe({ stream: o.stream, queries: o.query });
let handled = 0;
let missed = 0;
let newest = NaN;
let oldest = 0;
const t0 = Date.now();
sub.missed$.subscribe((m) => (missed += m.count));
sub.detections$.subscribe({
  next: (m) => {
    handled++;
    newest = Date.now() - m.frame.capturedAt;
    oldest = Math.max(oldest, newest);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, handlerMs); // the slow handler
  },
  error: (e) => {
    console.error(`error ${e.code}: ${e.message}`);
    process.exit(2);
  },
});
const report = setInterval(() => {
  console.log(`t=${((Date.now() - t0) / 1000).toFixed(0)}s handled ${handled}, newest ${newest} ms old, oldest ${oldest} ms, missed ${missed}`);
  oldest = 0;
}, 2000);
setTimeout(() => {
  clearInterval(report);
  client.close();
}, Number(o.seconds) * 1000);
