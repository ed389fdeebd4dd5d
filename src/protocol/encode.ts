/**
 * Encoding JSON messages. No validation on the hot path: the types are the check, and tests
 * validate encoder output against the schemas. `undefined` fields are left out.
 */
import type { ClientMessage, ErrorMessage, ServerMessage } from './messages.js';
import type { ProtocolError } from './protocol-error.js';

/** JSON of values that many messages share by reference (a result's detections and frame, which
 * every subscriber with the same view gets): encoded once, however many clients it goes to. Only
 * frozen values are cached (the pipeline freezes what it shares), so an object a caller reuses and
 * changes between messages is encoded afresh each time. */
const sharedJson = new WeakMap<object, string>();

function encodeShared(v: object): string | undefined {
  if (!Object.isFrozen(v)) return JSON.stringify(v);
  let json = sharedJson.get(v);
  if (json === undefined) {
    json = JSON.stringify(v);
    sharedJson.set(v, json);
  }
  return json;
}

/** Serialise a server → client message as a WebSocket text payload. Output is exactly
 * JSON.stringify(msg): same keys, same order. */
export function encodeServerMessage(msg: ServerMessage): string {
  if (msg.type !== 'detections' || typeof (msg as { toJSON?: unknown }).toJSON === 'function') return JSON.stringify(msg);
  let out = '{';
  for (const [k, v] of Object.entries(msg)) {
    const json = (k === 'detections' || k === 'frame') && typeof v === 'object' && v !== null ? encodeShared(v) : JSON.stringify(v);
    if (json === undefined) continue; // undefined, functions, symbols: left out, as JSON.stringify does
    if (out.length > 1) out += ',';
    out += `${JSON.stringify(k)}:${json}`;
  }
  return `${out}}`;
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
