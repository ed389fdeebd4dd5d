/**
 * Every JSON message of protocol v1, discriminated by `type`. The JSON Schemas in schemas.ts are
 * the contract on the wire; these types mirror them (tests validate typed examples against them).
 * Times are milliseconds unless a field says otherwise; boxes are source pixels.
 */
import type { Detection } from '../domain/types.js';
import type { ProtocolLimits } from './limits.js';

// Part of the wire format (detections), re-exported so the client SDK need not reach into domain/.
export type { Box, Detection, TrackEvent } from '../domain/types.js';

/** Lifecycle of a video stream as the server sees it. `ended` and `failed` are final. */
export type StreamState = 'connecting' | 'live' | 'stalled' | 'reconnecting' | 'ended' | 'failed' | 'idle';

/** Encoded image formats a binary frame may carry. */
export type FrameFormat = 'jpeg' | 'png' | 'webp';

/** A viewer's opt-in to receive the video frames themselves (as binary JPEG frames). */
export interface ImageOptions {
  /** Downscale wider images to this width, keeping the aspect ratio. Default: source width. */
  readonly maxWidth?: number;
  /** Images a second, at most. Default: one with every detections message. */
  readonly maxRate?: number;
}

// ---------------------------------------------------------------- client → server

/** Start a subscription: results for `queries` on `stream`, acked by `subscribed`. */
export interface SubscribeMessage {
  readonly type: 'subscribe';
  /** Client-chosen subscription id, unique on this connection; answers reference it. */
  readonly id: string;
  readonly stream: string;
  /** Free text; the server normalises each (case, spaces) and drops duplicates. */
  readonly queries: readonly string[];
  /** Minimum score in [0, 1]. Default: the model's threshold (in `hello.model`). */
  readonly threshold?: number;
  /** Results a second, at most (> 0). Default: every processed frame. */
  readonly maxRate?: number;
  readonly image?: ImageOptions;
  /** Smoothed boxes and scores per track (steadier, for overlays) instead of the model's raw ones
   * (for robots and measurement). Default false. Thresholds apply to the raw score either way. */
  readonly smooth?: boolean;
}

/** Change a live subscription; absent fields stay as they are, `null` clears. Acked by `subscribed`. */
export interface UpdateMessage {
  readonly type: 'update';
  readonly id: string;
  readonly queries?: readonly string[];
  readonly threshold?: number;
  readonly maxRate?: number | null;
  readonly image?: ImageOptions | null;
}

/** End a subscription; acked by `unsubscribed` with reason `requested`. */
export interface UnsubscribeMessage {
  readonly type: 'unsubscribe';
  readonly id: string;
}

/** Either side may ping; the other answers `pong` echoing `id` and `t`. */
export interface PingMessage {
  readonly type: 'ping';
  readonly id?: string;
  /** Sender's clock when sent, ms since the epoch. */
  readonly t?: number;
}

export interface PongMessage {
  readonly type: 'pong';
  readonly id?: string;
  readonly t?: number;
}

export type ClientMessage = SubscribeMessage | UpdateMessage | UnsubscribeMessage | PingMessage | PongMessage;
export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------- server → client

export interface ModelInfo {
  readonly name: string;
  /** Model family, e.g. `owlv2`. */
  readonly type: string;
  /** Default score threshold in [0, 1]. */
  readonly threshold: number;
  /** Side of the square the model sees, in pixels (OWLv2: the longer side, padded to a square).
   * Pushing frames larger than this costs bandwidth and decoding, and adds nothing. */
  readonly imageSize?: number;
}

/** A stream as listed in `hello`. */
export interface StreamInfo {
  readonly id: string;
  readonly state: StreamState;
  /** Source size in pixels, once known. */
  readonly width?: number;
  readonly height?: number;
}

/** First message on every connection. */
export interface HelloMessage {
  readonly type: 'hello';
  readonly serverVersion: string;
  readonly protocolVersion: number;
  /** This run of the server, new at each start. Frame `seq` and `pts` count from the start of a
   * stream on one instance: when a client reconnects and `instance` has changed, the server
   * restarted and every stream's count started again. */
  readonly instance?: string;
  readonly model: ModelInfo;
  readonly streams: readonly StreamInfo[];
  /** The bounds this server enforces, so a client can check before sending. */
  readonly limits: ProtocolLimits;
  /** To a client that may push frames (the `push` right): how many a second it may push to one
   * stream, and the largest image it may push, in pixels (width x height). */
  readonly push?: { readonly maxFps: number; readonly maxPixels: number };
}

/** Ack of `subscribe` and of every `update`: the subscription's settings as now in force. */
export interface SubscribedMessage {
  readonly type: 'subscribed';
  readonly id: string;
  readonly stream: string;
  /** Normalised and de-duplicated, in the order first given. */
  readonly queries: readonly string[];
  readonly threshold: number;
  readonly maxRate?: number;
  readonly image?: ImageOptions;
  /** 1 after `subscribe`, +1 after each accepted `update`; results carry the version they used. */
  readonly queryVersion: number;
}

export type UnsubscribeReason = 'requested' | 'stream-ended' | 'stream-failed' | 'stream-removed';

/** A subscription is over: the client asked, or its stream reached a final state or went away. */
export interface UnsubscribedMessage {
  readonly type: 'unsubscribed';
  readonly id: string;
  readonly reason: UnsubscribeReason;
}

/** The frame a result was computed on. */
export interface FrameInfo {
  readonly seq: number;
  /** Presentation time in seconds, from the source. */
  readonly pts: number;
  /** Wall-clock capture time, ms since the epoch. */
  readonly capturedAt: number;
  /** Source size in pixels; boxes are in this space. */
  readonly width: number;
  readonly height: number;
}

/** Where the time went for one result, in ms. */
export interface Timings {
  readonly decode: number;
  readonly infer: number;
  /** Capture to send. */
  readonly total: number;
}

/** One result: every detection above threshold for one frame of one subscription. */
export interface DetectionsMessage {
  readonly type: 'detections';
  readonly subscription: string;
  readonly stream: string;
  readonly frame: FrameInfo;
  readonly queryVersion: number;
  readonly timings: Timings;
  /** Best first; `query` is the normalised text, `box` [x1, y1, x2, y2] in source pixels;
   * `trackId` and `track` once the detection's track is confirmed. */
  readonly detections: readonly Detection[];
  /** Track IDs this subscription was shown that are gone for good; absent when none. */
  readonly lost?: readonly number[];
}

/** A stream changed state. */
export interface StatusMessage {
  readonly type: 'status';
  readonly stream: string;
  readonly state: StreamState;
  /** Human-readable reason, e.g. the ffmpeg error for `failed`. */
  readonly detail?: string;
  /** The stable code of the trouble `detail` describes (INGEST_OPEN_FAILED, INGEST_STALLED, ...),
   * when there is one: for a program to act on without reading the text. */
  readonly code?: string;
  readonly width?: number;
  readonly height?: number;
}

/** Back-pressure notice: `count` results of this subscription were dropped for a newer one. */
export interface MissedMessage {
  readonly type: 'missed';
  readonly subscription: string;
  readonly count: number;
}

/** A request failed; the connection and every other subscription carry on. */
export interface ErrorMessage {
  readonly type: 'error';
  /** Stable code from the catalog (docs/protocol.md); clients must accept codes they do not know. */
  readonly code: string;
  readonly message: string;
  /** The `id` of the client message it answers, or `<stream>/<seq>` for a binary frame. */
  readonly ref?: string;
}

export type ServerMessage =
  | HelloMessage
  | SubscribedMessage
  | UnsubscribedMessage
  | DetectionsMessage
  | StatusMessage
  | MissedMessage
  | ErrorMessage
  | PingMessage
  | PongMessage;
export type ServerMessageType = ServerMessage['type'];

export const CLIENT_MESSAGE_TYPES: readonly ClientMessageType[] = Object.freeze([
  'subscribe',
  'update',
  'unsubscribe',
  'ping',
  'pong',
]);

export const SERVER_MESSAGE_TYPES: readonly ServerMessageType[] = Object.freeze([
  'hello',
  'subscribed',
  'unsubscribed',
  'detections',
  'status',
  'missed',
  'error',
  'ping',
  'pong',
]);
