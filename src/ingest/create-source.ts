/**
 * Opens a source from its text form or spec: applies the ingest policy (protocols, directories,
 * devices), then builds the ffmpeg source. Refusals are thrown here, before any process starts.
 */
import type { FfmpegSourceOptions } from './ffmpeg-source.js';
import { FfmpegSource } from './ffmpeg-source.js';
import { parseSourceUri, resolveSource, type IngestPolicy, type SourceSpec } from './url-policy.js';

export interface OpenSourceOptions extends Omit<FfmpegSourceOptions, 'input'> {
  /** What the operator allows. Default: DEFAULT_PROTOCOLS, no file directories, no devices. */
  readonly access?: IngestPolicy;
}

/**
 * An ffmpeg source for `source` (see parseSourceUri for the text forms), not yet started.
 * Throws GroundstreamError: INGEST_SOURCE_INVALID, INGEST_PROTOCOL_REFUSED, INGEST_PATH_REFUSED,
 * INGEST_DEVICE_REFUSED.
 */
export async function openFfmpegSource(source: string | SourceSpec, options: OpenSourceOptions): Promise<FfmpegSource> {
  const spec = typeof source === 'string' ? parseSourceUri(source) : source;
  const { access, ...rest } = options;
  const input = await resolveSource(spec, access ?? {});
  return new FfmpegSource({ ...rest, input });
}
