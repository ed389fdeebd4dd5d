/**
 * Decoding what a client sends as JSON text: size, UTF-8, JSON, type, schema, then query
 * normalisation. Never throws on any input: every failure is a ProtocolError with a stable code,
 * ready to send back as an `error` message while the connection carries on.
 */
import { normalizeQuery } from '../domain/query.js';
import type { ClientMessage, ClientMessageType, SubscribeMessage, UpdateMessage } from './messages.js';
import { isValidId, resolveLimits, type ProtocolLimits } from './limits.js';
import { protocolError, quote, type DecodeResult, type ProtocolError } from './protocol-error.js';
import { clientValidators, describeViolation } from './validator.js';

/** A text message as it arrives: a string, or its UTF-8 bytes (ws hands text over as a Buffer). */
export type MessageInput = string | Uint8Array | ArrayBuffer;

export type ClientMessageDecoder = (input: MessageInput) => DecodeResult<ClientMessage>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A decoder bound to `limits` (defaults: DEFAULT_LIMITS), with the schemas compiled once.
 * Throws CONFIG_INVALID for bad limits; the decoder it returns never throws.
 */
export function createClientMessageDecoder(limits?: Partial<ProtocolLimits>): ClientMessageDecoder {
  const l = resolveLimits(limits);
  const validators = clientValidators(l);
  return (input) => {
    try {
      return decodeWith(input, l, validators);
    } catch (e) {
      // Unreachable by design; kept so a bug here costs one error reply, not the connection.
      return { ok: false, error: protocolError('PROTOCOL_INVALID_MESSAGE', `decoder failed: ${quote((e as Error)?.message)}`) };
    }
  };
}

const decoders = new Map<Partial<ProtocolLimits> | undefined, ClientMessageDecoder>();

/**
 * Decode one client text message. Errors, by code: PROTOCOL_MESSAGE_TOO_LARGE (over
 * `maxMessageBytes`), PROTOCOL_BAD_JSON (not UTF-8 or not JSON), PROTOCOL_INVALID_MESSAGE (not an
 * object, no string `type`, or a schema violation), PROTOCOL_UNKNOWN_TYPE. For repeated calls with
 * custom limits, prefer createClientMessageDecoder (this caches by the identity of `limits`).
 */
export function decodeClientMessage(input: MessageInput, limits?: Partial<ProtocolLimits>): DecodeResult<ClientMessage> {
  let decode = decoders.get(limits);
  if (!decode) {
    decode = createClientMessageDecoder(limits);
    if (decoders.size < 16) decoders.set(limits, decode);
  }
  return decode(input);
}

function decodeWith(
  input: MessageInput,
  limits: ProtocolLimits,
  validators: ReturnType<typeof clientValidators>,
): DecodeResult<ClientMessage> {
  const fail = (error: ProtocolError) => ({ ok: false, error }) as const;
  const max = limits.maxMessageBytes;

  let text: string;
  if (typeof input === 'string') {
    const bytes = utf8Length(input, max);
    if (bytes > max) return fail(protocolError('PROTOCOL_MESSAGE_TOO_LARGE', `more than ${max} bytes`));
    text = input;
  } else {
    const size = input.byteLength;
    if (size > max) return fail(protocolError('PROTOCOL_MESSAGE_TOO_LARGE', `${size} bytes, at most ${max}`));
    try {
      text = utf8.decode(input);
    } catch {
      return fail(protocolError('PROTOCOL_BAD_JSON', 'not valid UTF-8'));
    }
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail(protocolError('PROTOCOL_BAD_JSON', quote((e as Error).message, 120)));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(protocolError('PROTOCOL_INVALID_MESSAGE', 'a message must be a JSON object'));
  }

  const obj = value as Record<string, unknown>;
  // Only echo an id that is itself well-formed: `ref` must be safe to log and to route on.
  const rawId = Object.hasOwn(obj, 'id') ? obj['id'] : undefined;
  const ref = typeof rawId === 'string' && isValidId(rawId, limits.maxIdLength) ? rawId : undefined;
  const type = Object.hasOwn(obj, 'type') ? obj['type'] : undefined;
  if (typeof type !== 'string') {
    return fail(protocolError('PROTOCOL_INVALID_MESSAGE', 'message has no string "type"', ref));
  }
  const validate = validators.get(type as ClientMessageType);
  if (!validate) return fail(protocolError('PROTOCOL_UNKNOWN_TYPE', quote(type), ref));
  if (!validate(obj)) return fail(protocolError('PROTOCOL_INVALID_MESSAGE', describeViolation(validate.errors), ref));

  const msg = obj as unknown as ClientMessage;
  if (msg.type === 'subscribe' || (msg.type === 'update' && msg.queries !== undefined)) {
    const normalized = normalizeQueries(msg.queries as readonly string[], limits.maxQueryLength);
    if (typeof normalized === 'string') return fail(protocolError('PROTOCOL_INVALID_MESSAGE', normalized, ref));
    return { ok: true, msg: { ...(msg as SubscribeMessage | UpdateMessage), queries: normalized } };
  }
  return { ok: true, msg };
}

/**
 * Normalise (see normalizeQuery) and de-duplicate, keeping first-seen order. Returns the problem
 * as text when a query normalises to nothing or grows past the limit (NFKC can expand).
 */
function normalizeQueries(queries: readonly string[], maxLength: number): string[] | string {
  const out: string[] = [];
  for (let i = 0; i < queries.length; i++) {
    const q = normalizeQuery(queries[i]!);
    if (q.length === 0) return `/queries/${i} is empty after normalisation`;
    if ([...q].length > maxLength) return `/queries/${i} is longer than ${maxLength} characters after normalisation`;
    if (!out.includes(q)) out.push(q);
  }
  return out;
}

/** A number above `max` exactly when the UTF-8 encoding of `s` is longer than `max` bytes; cheap for huge strings. */
function utf8Length(s: string, max: number): number {
  if (s.length > max) return s.length; // every UTF-16 unit is at least one byte
  if (s.length * 3 <= max) return s.length; // every unit is at most three bytes
  let n = 0;
  for (let i = 0; i < s.length && n <= max; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4; // a surrogate pair: four bytes for two units
      i++;
    } else n += 3;
  }
  return n;
}
