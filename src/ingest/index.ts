/** Ingest: frame sources producing Frames (docs/ingest.md). Re-exports only. */
export * from './frame-source.js';
export { FrameSourceBase } from './frame-source-base.js';
export * from './status.js';
export * from './backoff.js';
export * from './url-policy.js';
export * from './ffmpeg-binary.js';
export { ffmpegVersion } from './ffmpeg.js';
export * from './ffmpeg-args.js';
export * from './ffmpeg-log.js';
export * from './frame-reader.js';
export * from './ffmpeg-source.js';
export * from './create-source.js';
export * from './pushed-source.js';
export { sniffFormat, type PushedFormat } from './image-decode.js';
