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
  // protocol: JSON control messages (docs/protocol.md); answered with an `error` message, never a close
  PROTOCOL_MESSAGE_TOO_LARGE: { status: 413, message: 'message is too large: %s' },
  PROTOCOL_BAD_JSON: { status: 400, message: 'message is not valid JSON: %s' },
  PROTOCOL_UNKNOWN_TYPE: { status: 400, message: 'unknown message type: %s' },
  PROTOCOL_INVALID_MESSAGE: { status: 400, message: 'invalid message: %s' },
  PROTOCOL_SUBSCRIPTION_EXISTS: { status: 409, message: 'subscription id is already in use: %s' },
  PROTOCOL_SUBSCRIPTION_UNKNOWN: { status: 404, message: 'no such subscription: %s' },
  PROTOCOL_SUBSCRIPTION_LIMIT: { status: 429, message: 'too many subscriptions: %s' },
  PROTOCOL_STREAM_UNKNOWN: { status: 404, message: 'no such stream: %s' },
  PROTOCOL_STREAM_NOT_PUSHABLE: { status: 409, message: 'stream does not accept pushed frames: %s' },
  PROTOCOL_STREAM_ENDED: { status: 410, message: 'stream has ended or failed (remove it and add it again): %s' },
  // protocol: binary frames (pushed frames and viewer images)
  PROTOCOL_FRAME_TOO_LARGE: { status: 413, message: 'binary frame is too large: %s' },
  PROTOCOL_FRAME_TRUNCATED: { status: 400, message: 'binary frame is truncated: %s' },
  PROTOCOL_FRAME_BAD_MAGIC: { status: 400, message: 'binary frame does not start with the groundstream magic: %s' },
  PROTOCOL_FRAME_UNSUPPORTED_VERSION: { status: 400, message: 'binary frame header version is not supported: %s' },
  PROTOCOL_FRAME_RESERVED_FLAGS: { status: 400, message: 'binary frame header sets reserved flags: %s' },
  PROTOCOL_FRAME_UNKNOWN_FORMAT: { status: 400, message: 'binary frame has an unknown image format: %s' },
  PROTOCOL_FRAME_BAD_STREAM: { status: 400, message: 'binary frame has an invalid stream id: %s' },
  PROTOCOL_FRAME_BAD_SEQ: { status: 400, message: 'binary frame has an invalid sequence number: %s' },
  PROTOCOL_FRAME_BAD_TIME: { status: 400, message: 'binary frame has an invalid capture time: %s' },
  PROTOCOL_FRAME_EMPTY: { status: 400, message: 'binary frame carries no image: %s' },
  PROTOCOL_FRAME_FORMAT_MISMATCH: { status: 400, message: 'binary frame image does not match its declared format: %s' },
  // protocol: client SDK (raised locally by groundstream/client, never sent on the wire)
  CLIENT_NO_WEBSOCKET: { status: 500, message: 'no WebSocket implementation available: %s' },
  CLIENT_CLOSED: { status: 499, message: 'client or subscription was closed: %s' },
  CLIENT_CONNECTION_REJECTED: { status: 403, message: 'server refused the connection: %s' },
  CLIENT_RECONNECT_EXHAUSTED: { status: 503, message: 'gave up reconnecting: %s' },
  CLIENT_CONNECTION_LOST: { status: 503, message: 'server closed the connection: %s' },
  CLIENT_HTTP_FAILED: { status: 502, message: 'could not reach the HTTP API: %s' },
  // ingest: frame sources (docs/ingest.md); pushed images reuse the IMAGE_* codes above
  INGEST_SOURCE_INVALID: { status: 400, message: 'invalid source: %s' },
  INGEST_PROTOCOL_REFUSED: { status: 403, message: 'protocol is not allowed: %s' },
  INGEST_DESTINATION_REFUSED: { status: 403, message: 'source address is not allowed: %s' },
  INGEST_PATH_REFUSED: { status: 403, message: 'file is outside the allowed directories (serve --allow-dir, config allowedDirs): %s' },
  INGEST_DEVICE_REFUSED: { status: 403, message: 'capture device is not allowed: %s' },
  INGEST_FFMPEG_NOT_FOUND: { status: 500, message: 'ffmpeg binary not found: %s' },
  INGEST_OPEN_FAILED: { status: 502, message: 'source could not be opened: %s' },
  INGEST_DECODE_FAILED: { status: 502, message: 'source stopped with an error: %s' },
  INGEST_STALLED: { status: 504, message: 'source sent no frame in time: %s' },
  INGEST_SOURCE_CLOSED: { status: 409, message: 'source is stopped: %s' },
  INGEST_QUEUE_FULL: { status: 429, message: 'too many frames waiting: %s' },
  INGEST_PUSH_STREAM_TAKEN: { status: 409, message: 'another client is pushing to this stream: %s' },
  // server: HTTP API and stream management (docs/errors.md)
  STREAM_EXISTS: { status: 409, message: 'a stream with this id exists: %s' },
  HTTP_NOT_FOUND: { status: 404, message: 'not found: %s' },
  HTTP_BAD_REQUEST: { status: 400, message: 'bad request: %s' },
  HTTP_METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed: %s' },
  SERVER_SHUTTING_DOWN: { status: 503, message: 'server is shutting down: %s' },
  SERVER_LISTEN_FAILED: { status: 500, message: 'cannot listen on %s' },
  AUTH_REQUIRED: { status: 401, message: 'authentication required: %s' },
  AUTH_FORBIDDEN: { status: 403, message: 'not allowed: %s' },
  LIMIT_STREAMS: { status: 429, message: 'too many streams: %s' },
  LIMIT_CLIENTS: { status: 503, message: 'too many clients: %s' },
  LIMIT_PUSH_RATE: { status: 429, message: 'frames pushed too fast: %s' },
  LIMIT_QUERIES: { status: 429, message: 'too many distinct queries on one stream: %s' },
  LIMIT_CLIENT_QUERIES: { status: 429, message: 'too many distinct queries from one client on one stream: %s' },
  // record and replay (docs/record-replay.md)
  RECORD_INVALID: { status: 400, message: 'recording cannot be read: %s' },
  RECORD_WRITE_FAILED: { status: 500, message: 'recording cannot be written: %s' },
  OUTPUT_WRITE_FAILED: { status: 500, message: 'could not write an output file: %s' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** An expected failure with a stable code. `detail` fills the catalog's message template. */
export class GroundstreamError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** What filled the template: the message without the code's own words. */
  readonly detail: string;
  constructor(code: ErrorCode, detail: string, options?: { cause?: unknown }) {
    super(ERRORS[code].message.replace('%s', () => detail), options); // (a function: `$&` in a file name stays as it is)
    this.name = 'GroundstreamError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.detail = detail;
  }
}

/** True when `e` is a GroundstreamError, optionally with the given code. */
export function isGroundstreamError(e: unknown, code?: ErrorCode): e is GroundstreamError {
  return e instanceof GroundstreamError && (code === undefined || e.code === code);
}
