/**
 * groundstream/client: the typed client SDK, for browsers and Node 20.
 *
 *   const client = new GroundstreamClient({ url: 'ws://localhost:8080' });
 *   await client.connect();
 *   const sub = client.subscribe({ stream: 'cam1', queries: ['red circle'] });
 *   sub.detections$.subscribe((r) => draw(r.detections));
 *   await client.streams.add({ id: 'phone', source: 'push' }); // the HTTP API, same address and token
 */
export { GroundstreamClient, type ConnectionState, type PushFrameOptions } from './client.js';
export type { Subscription, SubscribeOptions, SubscriptionUpdate, SubscriptionSettings } from './subscription.js';
export type { GroundstreamClientOptions, HeartbeatOptions } from './options.js';
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
export type { WebSocketLike, WebSocketConstructor } from './websocket.js';
export { ConnectionLostError, ConnectionRejectedError, RemoteError } from './remote-error.js';
export type { StreamsApi, StreamSpec, StreamDetails } from './streams-api.js';

// The wire types a client handles, so apps need only this entry point.
export type {
  Box,
  Detection,
  DetectionsMessage,
  ErrorMessage,
  FrameFormat,
  FrameInfo,
  HelloMessage,
  ImageOptions,
  MissedMessage,
  ModelInfo,
  StatusMessage,
  StreamInfo,
  StreamState,
  SubscribedMessage,
  Timings,
  UnsubscribeReason,
} from '../protocol/messages.js';
export type { DecodedFrame } from '../protocol/frame-header.js';
export { GroundstreamError, isGroundstreamError, type ErrorCode } from '../protocol/protocol-error.js';
export { PROTOCOL_VERSION } from '../protocol/version.js';
export { normalizeQuery } from '../protocol/query.js';
export { CLOSE_CODES } from '../protocol/close-codes.js';
