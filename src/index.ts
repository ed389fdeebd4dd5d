/**
 * groundstream as a library: the parts a program embeds (`groundstream/client` is the SDK for
 * talking to a running server). Each stage is also importable on its own under dist/.
 */
export * from './domain/types.js';
export * from './domain/geometry.js';
export * from './domain/query.js';
export * from './errors.js';

// model: load a folder (the bundled one by default) and detect
export * from './model/index.js';
// ingest: frame sources
export {
  openFfmpegSource,
  FfmpegSource,
  PushedFrameSource,
  ffmpegPath,
  type OpenSourceOptions,
  type FfmpegSourceOptions,
  type PushedSourceOptions,
  type FrameSource,
  type BackpressurePolicy,
  type Pacing,
  type WorkingSize,
  type SourceStatus,
  type SourceState,
} from './ingest/index.js';
// pipeline: one stream's inference shared by its subscribers
export { StreamPipeline, type InferenceResult, type SubscriberResult, type PipelineOptions, type PipelineStats } from './pipeline/stream-pipeline.js';
export { Limiter } from './pipeline/limiter.js';
// tracking
export { StreamTracker, TrackView, type TrackerOptions, type TrackedDetection } from './track/index.js';
// server
export { GroundstreamServer, SERVER_VERSION, type ServerDeps } from './server/server.js';
export { resolveConfig, readConfigFile, fromEnv, DEFAULT_CONFIG, type ServerConfig, type StreamSpec } from './config/config.js';
// protocol: message types, schemas, decoders and the subprotocol name (protocol.DetectionsMessage, ...)
export * as protocol from './protocol/index.js';
