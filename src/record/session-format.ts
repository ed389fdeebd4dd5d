/**
 * The recording format (docs/record-replay.md): NDJSON, one JSON object a line. Every part file
 * starts with a `session` header; then one line per thing the recording client received, each
 * stamped with `receivedAt` (ms since the epoch, client clock, fractional). Readers skip line
 * types they do not know, so later versions may add some without a version bump.
 */
import type { DetectionsMessage, ErrorMessage, HelloMessage, StatusMessage, SubscribedMessage } from '../protocol/messages.js';

/** Bumped for a change an older reader would misread. */
export const SESSION_FORMAT_VERSION = 1;

/** First line of every part file. Parts of one recording share `id` and count `part` from 1. */
export interface SessionHeader {
  readonly type: 'session';
  readonly version: number;
  /** Random; the same in every part of one recording. */
  readonly id: string;
  readonly part: number;
  readonly stream: string;
  /** As the server acked them: normalised, in order. */
  readonly queries: readonly string[];
  /** The subscription's threshold as the server resolved it: nothing below it was recorded. */
  readonly threshold: number;
  readonly maxRate?: number;
  /** When the subscription was acked, ms since the epoch. */
  readonly startedAt: number;
  /** The server's WebSocket URL (never the token). */
  readonly url: string;
  /** What the server's `hello` said about itself. */
  readonly server: Pick<HelloMessage, 'serverVersion' | 'protocolVersion' | 'model'>;
  /** The stream as the server described it when recording began (GET /v1/streams, hello). */
  readonly source?: { readonly source?: string; readonly width?: number; readonly height?: number; readonly state?: string };
}

/** One `detections` message exactly as received. */
export interface DetectionsLine {
  readonly type: 'detections';
  readonly receivedAt: number;
  readonly message: DetectionsMessage;
}

/** The server dropped `count` results because the recorder read too slowly (back-pressure). */
export interface MissedLine {
  readonly type: 'missed';
  readonly receivedAt: number;
  readonly count: number;
}

/** A `status` of the recorded stream, an `error` about one of its frames, or a re-subscribe ack. */
export interface EventLine {
  readonly type: 'status' | 'error' | 'subscribed';
  readonly receivedAt: number;
  readonly message: StatusMessage | ErrorMessage | SubscribedMessage;
}

/** Written last by a recording that stopped cleanly (a crashed one has none). */
export interface EndLine {
  readonly type: 'end';
  readonly endedAt: number;
  /** `seconds` (--seconds elapsed), `stopped` (signal or abort), `stream-ended`: a clean finish.
   * `stream-failed`, `stream-removed`, `disconnected` (the server gone for --give-up-after),
   * `error` (a write failed): cut short. */
  readonly reason: string;
  readonly results: number;
  readonly missed: number;
  /** File name (beside the parts) of the source video saved with --video, if any. */
  readonly video?: string;
  readonly detail?: string;
}

export type SessionLine = SessionHeader | DetectionsLine | MissedLine | EventLine | EndLine;

/** `<base>-0001.ndjson`, `<base>-0002.ndjson`, ... */
export function partFileName(base: string, part: number): string {
  return `${base}-${String(part).padStart(4, '0')}.ndjson`;
}

/** The base and part number of a part file name, or null. */
export function parsePartFileName(name: string): { base: string; part: number } | null {
  const m = /^(.+)-(\d{4,})\.ndjson$/.exec(name);
  return m ? { base: m[1]!, part: Number(m[2]) } : null;
}
