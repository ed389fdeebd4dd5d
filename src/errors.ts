/**
 * The error catalog: every error groundstream raises on purpose has a stable code listed here and
 * documented in docs/errors.md (a test keeps the two in step). The server translates a
 * GroundstreamError into one protocol `error` message or close code at its edge.
 */
export const ERRORS = {
  // configuration
  CONFIG_INVALID: { status: 400, message: 'invalid configuration: %s' },
  // model loading and running
  MODEL_NOT_FOUND: { status: 500, message: 'model folder or file not found: %s' },
  MODEL_CONFIG_INVALID: { status: 500, message: 'model config is invalid: %s' },
  MODEL_UNSUPPORTED: { status: 500, message: 'unsupported model type: %s' },
  MODEL_SIGNATURE: { status: 500, message: 'model graph does not have the expected signature: %s' },
  MODEL_LOAD_FAILED: { status: 500, message: 'model could not be loaded: %s' },
  MODEL_RUN_FAILED: { status: 500, message: 'model inference failed: %s' },
  PROVIDER_UNAVAILABLE: { status: 500, message: 'execution provider not available: %s' },
  TOKENIZER_FAILED: { status: 500, message: 'tokenizer could not be loaded: %s' },
  // images and queries
  IMAGE_DECODE_FAILED: { status: 400, message: 'image could not be decoded: %s' },
  IMAGE_TOO_LARGE: { status: 413, message: 'image has too many pixels: %s' },
  IMAGE_INVALID: { status: 400, message: 'invalid image: %s' },
  QUERY_EMPTY: { status: 400, message: 'no queries given: %s' },
  QUERY_TOO_LONG: { status: 400, message: 'query is too long: %s' },
  QUERY_INVALID: { status: 400, message: 'invalid query: %s' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** An expected failure with a stable code. `detail` fills the catalog's message template. */
export class GroundstreamError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(ERRORS[code].message.replace('%s', detail), options);
    this.name = 'GroundstreamError';
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

/** True when `e` is a GroundstreamError, optionally with the given code. */
export function isGroundstreamError(e: unknown, code?: ErrorCode): e is GroundstreamError {
  return e instanceof GroundstreamError && (code === undefined || e.code === code);
}
