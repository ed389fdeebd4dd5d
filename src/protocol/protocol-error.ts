import { ERRORS, type ErrorCode } from '../errors.js';

/** The catalog codes the protocol layer answers with (all start with `PROTOCOL_`). */
export type ProtocolErrorCode = Extract<ErrorCode, `PROTOCOL_${string}`>;

/** What a decoder reports for bad input: the body of an `error` message, ready to send. */
export interface ProtocolError {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  /** The `id` of the offending message, or `<stream>/<seq>` of a binary frame, when readable. */
  readonly ref?: string;
}

/** A decoder's answer: the message, or why there is none. */
export type DecodeResult<T> = { readonly ok: true; readonly msg: T } | { readonly ok: false; readonly error: ProtocolError };

/** Every protocol error code, in catalog order. */
export const PROTOCOL_ERROR_CODES: readonly ProtocolErrorCode[] = Object.freeze(
  (Object.keys(ERRORS) as ErrorCode[]).filter((c): c is ProtocolErrorCode => c.startsWith('PROTOCOL_')),
);

/** Build a ProtocolError; `detail` fills the catalog's message template. */
export function protocolError(code: ProtocolErrorCode, detail: string, ref?: string): ProtocolError {
  const message = ERRORS[code].message.replace('%s', detail);
  return ref === undefined ? { code, message } : { code, message, ref };
}

/** Quote untrusted text for an error message: JSON-escaped and cut to `max` characters. */
export function quote(value: unknown, max = 64): string {
  const text = typeof value === 'string' ? value : String(value);
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

// The client SDK may import only src/protocol: this is its door to the error catalog.
export { GroundstreamError, isGroundstreamError, type ErrorCode } from '../errors.js';
