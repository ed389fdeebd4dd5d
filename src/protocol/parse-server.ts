/**
 * Reading what a server sends, for clients. Deliberately light (no ajv, so browser bundles stay
 * small): a JSON object with a known `type`. A v1 server may add fields and message types, so
 * unknown types come back as PROTOCOL_UNKNOWN_TYPE for the caller to ignore. Never throws.
 */
import { SERVER_MESSAGE_TYPES, type ServerMessage } from './messages.js';
import { protocolError, quote, type DecodeResult } from './protocol-error.js';

const KNOWN: ReadonlySet<string> = new Set(SERVER_MESSAGE_TYPES);

/** Parse one server text message. */
export function parseServerMessage(text: string): DecodeResult<ServerMessage> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, error: protocolError('PROTOCOL_BAD_JSON', quote((e as Error).message, 120)) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: protocolError('PROTOCOL_INVALID_MESSAGE', 'a message must be a JSON object') };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string') return { ok: false, error: protocolError('PROTOCOL_INVALID_MESSAGE', 'message has no string "type"') };
  if (!KNOWN.has(type)) return { ok: false, error: protocolError('PROTOCOL_UNKNOWN_TYPE', quote(type)) };
  return { ok: true, msg: value as ServerMessage };
}
