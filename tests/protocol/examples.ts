/**
 * One typed example of every message. The type checker holds them to messages.ts, a test holds
 * them to the schemas, and docs/protocol.md shows them (generated, see docs.test.ts).
 */
import { DEFAULT_LIMITS, PROTOCOL_VERSION } from '../../src/protocol/index.js';
import type { ClientMessage, ClientMessageType, ServerMessage, ServerMessageType } from '../../src/protocol/index.js';

export const CLIENT_EXAMPLES = {
  subscribe: {
    type: 'subscribe',
    id: 'sub-1',
    stream: 'cam1',
    queries: ['red circle', 'Blue  Square'],
    threshold: 0.2,
    maxRate: 10,
    image: { maxWidth: 640, maxRate: 5 },
  },
  update: { type: 'update', id: 'sub-1', queries: ['red circle', 'green triangle'], threshold: 0.25 },
  unsubscribe: { type: 'unsubscribe', id: 'sub-1' },
  ping: { type: 'ping', id: 'p7', t: 1718000000000 },
  pong: { type: 'pong', id: 'p7', t: 1718000000000 },
} satisfies { [K in ClientMessageType]: Extract<ClientMessage, { type: K }> };

export const SERVER_EXAMPLES = {
  hello: {
    type: 'hello',
    serverVersion: '0.1.0',
    protocolVersion: PROTOCOL_VERSION,
    instance: '7f3c9a2e-1b4d-4c6e-9f0a-2d8b5e6c1a37',
    model: { name: 'shapes-owl', type: 'owlv2', threshold: 0.1, imageSize: 960 },
    streams: [
      { id: 'cam1', state: 'live', width: 1280, height: 720 },
      { id: 'lobby', state: 'reconnecting' },
    ],
    limits: DEFAULT_LIMITS,
    push: { maxFps: 60, maxPixels: 8294400 },
  },
  subscribed: {
    type: 'subscribed',
    id: 'sub-1',
    stream: 'cam1',
    queries: ['red circle', 'blue square'],
    threshold: 0.2,
    maxRate: 10,
    image: { maxWidth: 640, maxRate: 5 },
    queryVersion: 1,
  },
  unsubscribed: { type: 'unsubscribed', id: 'sub-1', reason: 'requested' },
  detections: {
    type: 'detections',
    subscription: 'sub-1',
    stream: 'cam1',
    frame: { seq: 1042, pts: 34.733, capturedAt: 1718000000123, width: 1280, height: 720 },
    queryVersion: 1,
    timings: { decode: 3.1, infer: 41.7, total: 52.4 },
    detections: [{ query: 'red circle', score: 0.87, box: [412.5, 188, 530.25, 301.75] }],
  },
  status: { type: 'status', stream: 'lobby', state: 'stalled', detail: 'no frame for 5 s' },
  missed: { type: 'missed', subscription: 'sub-1', count: 3 },
  error: { type: 'error', code: 'PROTOCOL_INVALID_MESSAGE', message: 'invalid message: /threshold must be <= 1', ref: 'sub-1' },
  ping: { type: 'ping', id: 's42', t: 1718000000500 },
  pong: { type: 'pong', id: 's42', t: 1718000000500 },
} satisfies { [K in ServerMessageType]: Extract<ServerMessage, { type: K }> };
