/**
 * Encoding JSON messages. No validation on the hot path: the types are the check, and tests
 * validate encoder output against the schemas. `undefined` fields are left out.
 */
import type { ClientMessage, ErrorMessage, ServerMessage } from './messages.js';
import type { ProtocolError } from './protocol-error.js';

/** Serialise a server → client message as a WebSocket text payload. */
export function encodeServerMessage(msg: ServerMessage): string {
  return JSON.stringify(msg);
}

/** Serialise a client → server message as a WebSocket text payload. */
export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg);
}

/** The `error` message answering a decode failure. */
export function errorMessage(error: ProtocolError | { code: string; message: string; ref?: string }): ErrorMessage {
  return error.ref === undefined
    ? { type: 'error', code: error.code, message: error.message }
    : { type: 'error', code: error.code, message: error.message, ref: error.ref };
}
