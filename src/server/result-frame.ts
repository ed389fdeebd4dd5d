/**
 * The wire frame of a `detections` message, made once for everyone who gets the same one.
 *
 * The pipeline hands every subscriber with the same view of a result the same frozen result
 * object, so in the synchronous pass that hands a result to hundreds of clients, their messages
 * differ at most in the subscription id (`timings.total` is in whole milliseconds). The message is
 * encoded once, and each client's frame is the header, the bytes before the id, the id's bytes and
 * the bytes after it, copied; clients whose subscriptions have the same id (every SDK calls its
 * first one `s1`) get the very same frame. Encoding per client was most of the server's own
 * per-client cost (bench: "Fan-out floor").
 */
import { encodeServerMessage, type DetectionsMessage } from '../protocol/index.js';
import type { SubscriberResult } from '../pipeline/stream-pipeline.js';
import { framedParts, type FramedText } from './text-frames.js';

const HEAD = '{"type":"detections","subscription":';
const HEAD_BYTES = Buffer.from(HEAD);

/** What the last result framed was made from (its fields, not the result: that would hold its
 * frame's pixels), the bytes after the id, and the last frame made. */
interface Made {
  r: Pick<SubscriberResult, 'stream' | 'frame' | 'queryVersion' | 'detections' | 'lost'>;
  decode: number;
  infer: number;
  total: number;
  rest: Buffer;
  id: Buffer;
  framed: FramedText;
}
let last: Made | null = null;

/** A subscription id as it appears in messages (JSON), in UTF-8: made once per subscription. */
export function subscriptionBytes(id: string): Buffer {
  return Buffer.from(JSON.stringify(id));
}

/** The message for `r` on the subscription whose id is `id` (subscriptionBytes()), `total` ms
 * after capture, framed. */
export function resultFrame(id: Buffer, r: SubscriberResult, total: number): FramedText {
  if (last && same(last, r, total)) {
    if (last.id !== id && !last.id.equals(id)) {
      last.id = id;
      last.framed = framedParts(HEAD_BYTES, id, last.rest);
    }
    return last.framed;
  }
  const msg: DetectionsMessage = {
    type: 'detections',
    subscription: '',
    stream: r.stream,
    frame: r.frame,
    queryVersion: r.queryVersion,
    timings: { decode: r.timings.decode, infer: r.timings.infer, total },
    detections: r.detections,
    ...(r.lost?.length ? { lost: r.lost } : {}),
  };
  const rest = Buffer.from(encodeServerMessage(msg).slice(HEAD.length + 2)); // after the empty id, `""`
  const framed = framedParts(HEAD_BYTES, id, rest);
  // Only values nobody can change are remembered by identity: the pipeline freezes what it shares.
  const keep = Object.isFrozen(r.frame) && Object.isFrozen(r.detections) && (!r.lost || Object.isFrozen(r.lost));
  last = keep
    ? { r: { stream: r.stream, frame: r.frame, queryVersion: r.queryVersion, detections: r.detections, lost: r.lost }, decode: r.timings.decode, infer: r.timings.infer, total, rest, id, framed }
    : null;
  return framed;
}

function same(a: Made, r: SubscriberResult, total: number): boolean {
  const p = a.r;
  return (
    a.total === total &&
    p.detections === r.detections &&
    p.frame === r.frame &&
    p.queryVersion === r.queryVersion &&
    p.lost === r.lost &&
    p.stream === r.stream &&
    a.decode === r.timings.decode &&
    a.infer === r.timings.infer
  );
}
