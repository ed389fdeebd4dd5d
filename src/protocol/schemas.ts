/**
 * JSON Schemas (draft-07 subset that ajv 8 accepts in strict mode) for every JSON message: the
 * single source of truth. Plain objects, built from the limits so bounds follow the server's
 * config; docs/protocol.md embeds them (a test keeps it in step). Compiled in validator.ts.
 */
import type { ClientMessageType, ServerMessageType } from './messages.js';
import { DEFAULT_LIMITS, ID_PATTERN, type ProtocolLimits } from './limits.js';

export type JsonSchema = { readonly [keyword: string]: unknown };

const STREAM_STATES = ['connecting', 'live', 'stalled', 'reconnecting', 'ended', 'failed', 'idle'];
const UNSUBSCRIBE_REASONS = ['requested', 'stream-ended', 'stream-failed', 'stream-removed'];
const TRACK_EVENTS = ['new', 'updated'];
const trackId: JsonSchema = { type: 'integer', minimum: 1 };

function object(properties: Record<string, JsonSchema>, required: string[], extra: JsonSchema = {}): JsonSchema {
  return { type: 'object', additionalProperties: false, required, properties, ...extra };
}

function building(l: ProtocolLimits) {
  const id: JsonSchema = { type: 'string', minLength: 1, maxLength: l.maxIdLength, pattern: ID_PATTERN };
  const stream: JsonSchema = { type: 'string', minLength: 1, maxLength: l.maxStreamIdLength, pattern: ID_PATTERN };
  // `\S`: a query must have something left after normalisation trims it.
  const query: JsonSchema = { type: 'string', minLength: 1, maxLength: l.maxQueryLength, pattern: '\\S' };
  const queries: JsonSchema = { type: 'array', minItems: 1, maxItems: l.maxQueries, items: query };
  const threshold: JsonSchema = { type: 'number', minimum: 0, maximum: 1 };
  const rate: JsonSchema = { type: 'number', exclusiveMinimum: 0, maximum: l.maxRate };
  const image = object(
    { maxWidth: { type: 'integer', minimum: 16, maximum: l.maxImageWidth }, maxRate: rate },
    [],
  );
  const nonNegative: JsonSchema = { type: 'number', minimum: 0 };
  const count: JsonSchema = { type: 'integer', minimum: 0 };
  const size: JsonSchema = { type: 'integer', minimum: 1 };
  const text = (max: number): JsonSchema => ({ type: 'string', maxLength: max });
  const ping = (type: 'ping' | 'pong') => object({ type: { const: type }, id, t: { type: 'number' } }, ['type']);
  return { id, stream, queries, threshold, rate, image, nonNegative, count, size, text, ping };
}

/** Schemas for what a client may send, one per `type`. */
export function clientMessageSchemas(limits: ProtocolLimits = DEFAULT_LIMITS): Record<ClientMessageType, JsonSchema> {
  const s = building(limits);
  return {
    subscribe: object(
      {
        type: { const: 'subscribe' },
        id: s.id,
        stream: s.stream,
        queries: s.queries,
        threshold: s.threshold,
        maxRate: s.rate,
        image: s.image,
        smooth: { type: 'boolean' },
      },
      ['type', 'id', 'stream', 'queries'],
    ),
    update: object(
      {
        type: { const: 'update' },
        id: s.id,
        queries: s.queries,
        threshold: s.threshold,
        maxRate: { anyOf: [s.rate, { type: 'null' }] },
        image: { anyOf: [s.image, { type: 'null' }] },
      },
      ['type', 'id'],
      // An update that changes nothing is a client bug worth reporting.
      { minProperties: 3 },
    ),
    unsubscribe: object({ type: { const: 'unsubscribe' }, id: s.id }, ['type', 'id']),
    ping: s.ping('ping'),
    pong: s.ping('pong'),
  };
}

/** Schemas for what a v1 server sends, one per `type`. Clients should still ignore unknown fields. */
export function serverMessageSchemas(limits: ProtocolLimits = DEFAULT_LIMITS): Record<ServerMessageType, JsonSchema> {
  const s = building(limits);
  const state: JsonSchema = { enum: STREAM_STATES };
  const limitsSchema = object(
    Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((k) => [k, { type: 'number', exclusiveMinimum: 0 }])),
    Object.keys(DEFAULT_LIMITS),
  );
  return {
    hello: object(
      {
        type: { const: 'hello' },
        serverVersion: s.text(64),
        protocolVersion: { type: 'integer', minimum: 1 },
        instance: s.text(64),
        model: object(
          { name: s.text(256), type: s.text(64), threshold: s.threshold, imageSize: { type: 'integer', minimum: 1 } },
          ['name', 'type', 'threshold'],
        ),
        streams: {
          type: 'array',
          items: object(
            { id: s.stream, state, width: s.size, height: s.size },
            ['id', 'state'],
          ),
        },
        limits: limitsSchema,
        push: object({ maxFps: { type: 'number', exclusiveMinimum: 0 }, maxPixels: { type: 'integer', minimum: 1 } }, ['maxFps', 'maxPixels']),
      },
      ['type', 'serverVersion', 'protocolVersion', 'model', 'streams', 'limits'],
    ),
    subscribed: object(
      {
        type: { const: 'subscribed' },
        id: s.id,
        stream: s.stream,
        queries: s.queries,
        threshold: s.threshold,
        maxRate: s.rate,
        image: s.image,
        queryVersion: { type: 'integer', minimum: 1 },
      },
      ['type', 'id', 'stream', 'queries', 'threshold', 'queryVersion'],
    ),
    unsubscribed: object(
      { type: { const: 'unsubscribed' }, id: s.id, reason: { enum: UNSUBSCRIBE_REASONS } },
      ['type', 'id', 'reason'],
    ),
    detections: object(
      {
        type: { const: 'detections' },
        subscription: s.id,
        stream: s.stream,
        frame: object(
          { seq: s.count, pts: { type: 'number' }, capturedAt: s.nonNegative, width: s.size, height: s.size },
          ['seq', 'pts', 'capturedAt', 'width', 'height'],
        ),
        queryVersion: { type: 'integer', minimum: 1 },
        timings: object(
          { decode: s.nonNegative, infer: s.nonNegative, total: s.nonNegative },
          ['decode', 'infer', 'total'],
        ),
        detections: {
          type: 'array',
          items: object(
            {
              query: { type: 'string', minLength: 1, maxLength: limits.maxQueryLength },
              score: s.threshold,
              box: { type: 'array', minItems: 4, maxItems: 4, items: { type: 'number' } },
              trackId: trackId,
              track: { enum: TRACK_EVENTS },
            },
            ['query', 'score', 'box'],
          ),
        },
        lost: { type: 'array', minItems: 1, items: trackId },
      },
      ['type', 'subscription', 'stream', 'frame', 'queryVersion', 'timings', 'detections'],
    ),
    status: object(
      {
        type: { const: 'status' },
        stream: s.stream,
        state,
        detail: s.text(1024),
        code: { type: 'string', maxLength: 64, pattern: '^[A-Z][A-Z0-9_]*$' },
        width: s.size,
        height: s.size,
      },
      ['type', 'stream', 'state'],
    ),
    missed: object(
      { type: { const: 'missed' }, subscription: s.id, count: { type: 'integer', minimum: 1 } },
      ['type', 'subscription', 'count'],
    ),
    error: object(
      {
        type: { const: 'error' },
        code: { type: 'string', maxLength: 64, pattern: '^[A-Z][A-Z0-9_]*$' },
        message: s.text(1024),
        // A message id, or `<stream>/<seq>` for a binary frame (seq has at most 16 digits).
        ref: s.text(Math.max(limits.maxIdLength, limits.maxStreamIdLength + 17)),
      },
      ['type', 'code', 'message'],
    ),
    ping: s.ping('ping'),
    pong: s.ping('pong'),
  };
}
