import { describe, expect, it } from 'vitest';
import {
  CLIENT_MESSAGE_TYPES,
  DEFAULT_LIMITS,
  SERVER_MESSAGE_TYPES,
  clientMessageSchemas,
  encodeClientMessage,
  encodeServerMessage,
  errorMessage,
  parseServerMessage,
  protocolError,
  serverMessageSchemas,
  serverValidators,
} from '../../src/protocol/index.js';
import { CLIENT_EXAMPLES, SERVER_EXAMPLES } from './examples.js';

describe('schemas', () => {
  it('has one schema per message type, in both directions', () => {
    expect(Object.keys(clientMessageSchemas()).sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    expect(Object.keys(serverMessageSchemas()).sort()).toEqual([...SERVER_MESSAGE_TYPES].sort());
  });

  it('closes every object schema (additionalProperties: false)', () => {
    const open: string[] = [];
    const walk = (node: unknown, path: string): void => {
      if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
      if (typeof node !== 'object' || node === null) return;
      const o = node as Record<string, unknown>;
      if (o['type'] === 'object' && o['additionalProperties'] !== false) open.push(path);
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(clientMessageSchemas(), '#client');
    walk(serverMessageSchemas(), '#server');
    expect(open).toEqual([]);
  });

  it('takes its bounds from the limits', () => {
    const s = clientMessageSchemas({ ...DEFAULT_LIMITS, maxQueries: 3, maxQueryLength: 9 }).subscribe as {
      properties: { queries: { maxItems: number; items: { maxLength: number } } };
    };
    expect(s.properties.queries.maxItems).toBe(3);
    expect(s.properties.queries.items.maxLength).toBe(9);
  });

  it('accepts every server example, as the encoder writes it', () => {
    const validators = serverValidators(DEFAULT_LIMITS);
    for (const msg of Object.values(SERVER_EXAMPLES)) {
      const wire = JSON.parse(encodeServerMessage(msg)) as unknown;
      const validate = validators.get(msg.type)!;
      expect(validate(wire), `${msg.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('round-trips server messages through parseServerMessage', () => {
    for (const msg of Object.values(SERVER_EXAMPLES)) {
      expect(parseServerMessage(encodeServerMessage(msg))).toEqual({ ok: true, msg });
    }
    expect(parseServerMessage('{"type":"future-thing"}')).toMatchObject({ ok: false, error: { code: 'PROTOCOL_UNKNOWN_TYPE' } });
    expect(parseServerMessage('nope')).toMatchObject({ ok: false, error: { code: 'PROTOCOL_BAD_JSON' } });
  });

  it('builds a valid error message from a decode failure', () => {
    const msg = errorMessage(protocolError('PROTOCOL_UNKNOWN_TYPE', '"x"', 'a1'));
    expect(msg).toEqual({ type: 'error', code: 'PROTOCOL_UNKNOWN_TYPE', message: 'unknown message type: "x"', ref: 'a1' });
    expect(serverValidators(DEFAULT_LIMITS).get('error')!(msg)).toBe(true);
    expect(encodeClientMessage(CLIENT_EXAMPLES.ping)).toBe('{"type":"ping","id":"p7","t":1718000000000}');
  });
});
