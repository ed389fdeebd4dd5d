import { GroundstreamError } from '../errors.js';

/**
 * Bounds applied to everything a peer sends. The server passes its own (from config) to the
 * decoders and announces them in `hello.limits`; every field has a safe default.
 */
export interface ProtocolLimits {
  /** Largest JSON control message, in UTF-8 bytes. Default 65536. */
  readonly maxMessageBytes: number;
  /** Largest binary frame (header + image), in bytes. Default 8388608 (8 MiB). */
  readonly maxFrameBytes: number;
  /** Queries in one subscription. Default 32. */
  readonly maxQueries: number;
  /** Characters (Unicode code points) in one query, before and after normalisation. Default 256. */
  readonly maxQueryLength: number;
  /** Characters in a subscription or ping id. Default 64. */
  readonly maxIdLength: number;
  /** Characters in a stream id. Default 64; at most 255 (one length byte in the binary header). */
  readonly maxStreamIdLength: number;
  /** Highest `maxRate` a client may ask for, in results (or images) a second. Default 120. */
  readonly maxRate: number;
  /** Widest viewer image a client may ask for, in pixels. Default 4096. */
  readonly maxImageWidth: number;
}

export const DEFAULT_LIMITS: ProtocolLimits = Object.freeze({
  maxMessageBytes: 65_536,
  maxFrameBytes: 8 * 1024 * 1024,
  maxQueries: 32,
  maxQueryLength: 256,
  maxIdLength: 64,
  maxStreamIdLength: 64,
  maxRate: 120,
  maxImageWidth: 4096,
});

/** Ids (subscriptions, pings) and stream ids: ASCII letters and digits, then also `.`, `_`, `:`, `-`. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._:-]*$';
const ID_RE = new RegExp(ID_PATTERN);

/** True when `s` is a well-formed id no longer than `max` characters. */
export function isValidId(s: string, max: number): boolean {
  return s.length >= 1 && s.length <= max && ID_RE.test(s);
}

/**
 * Fill in defaults and check every bound once; the result is frozen.
 * Throws GroundstreamError CONFIG_INVALID for a bound that is not a positive number.
 */
export function resolveLimits(partial?: Partial<ProtocolLimits>): ProtocolLimits {
  if (partial === undefined || partial === DEFAULT_LIMITS) return DEFAULT_LIMITS;
  const unknown = Object.keys(partial).find((k) => !(k in DEFAULT_LIMITS));
  if (unknown !== undefined) {
    throw new GroundstreamError('CONFIG_INVALID', `unknown protocol limit ${JSON.stringify(unknown)} (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
  }
  const limits: ProtocolLimits = { ...DEFAULT_LIMITS, ...partial };
  for (const [key, value] of Object.entries(limits)) {
    const integral = key !== 'maxRate';
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value) || (integral && !Number.isInteger(value))) {
      throw new GroundstreamError('CONFIG_INVALID', `protocol limit ${key} must be a positive ${integral ? 'integer' : 'number'}, got ${String(value)}`);
    }
  }
  if (limits.maxStreamIdLength > 255) {
    throw new GroundstreamError('CONFIG_INVALID', 'protocol limit maxStreamIdLength must be at most 255');
  }
  return Object.freeze(limits);
}

/** A stable key for caching whatever was compiled for one set of limits. */
export function limitsKey(limits: ProtocolLimits): string {
  return Object.keys(DEFAULT_LIMITS)
    .map((k) => String(limits[k as keyof ProtocolLimits]))
    .join(',');
}
