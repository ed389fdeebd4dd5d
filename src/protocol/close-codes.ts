/**
 * WebSocket close codes the server uses. A bad message never closes the connection (it gets an
 * `error` reply); these are for the connection as a whole. 4xxx are groundstream's own.
 */
export const CLOSE_CODES = Object.freeze({
  NORMAL: 1000,
  /** Server shutting down or restarting: reconnect. */
  GOING_AWAY: 1001,
  /** A WebSocket message above the transport limit (ws `maxPayload`). */
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** Overloaded: reconnect later. */
  TRY_AGAIN_LATER: 1013,
  /** Missing or bad token: do not reconnect with the same one. */
  UNAUTHORIZED: 4001,
  /** Token valid but not allowed here. */
  FORBIDDEN: 4003,
  /** No message for too long (either side may close with it). */
  HEARTBEAT_TIMEOUT: 4008,
  /** The client speaks a protocol version this server does not. */
  UNSUPPORTED_PROTOCOL: 4010,
});

/** Closes after which reconnecting cannot help. */
export function isFatalCloseCode(code: number): boolean {
  return code === CLOSE_CODES.UNAUTHORIZED || code === CLOSE_CODES.FORBIDDEN || code === CLOSE_CODES.UNSUPPORTED_PROTOCOL;
}
