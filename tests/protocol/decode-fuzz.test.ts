import { describe, expect, it } from 'vitest';
import { normalizeQuery } from '../../src/domain/query.js';
import {
  clientValidators,
  decodeClientMessage,
  DEFAULT_LIMITS,
  type ClientMessage,
  type DecodeResult,
} from '../../src/protocol/index.js';
import { CLIENT_EXAMPLES } from './examples.js';
import { rng } from './random.js';

const CODES = new Set(['PROTOCOL_MESSAGE_TOO_LARGE', 'PROTOCOL_BAD_JSON', 'PROTOCOL_UNKNOWN_TYPE', 'PROTOCOL_INVALID_MESSAGE']);
const validators = clientValidators(DEFAULT_LIMITS);

/** The properties every answer must have, whatever the input. */
function checkResult(r: DecodeResult<ClientMessage>, input: unknown): void {
  const where = () => `input ${JSON.stringify(String(input)).slice(0, 200)}`;
  if (!r.ok) {
    expect(CODES.has(r.error.code), where()).toBe(true);
    expect(typeof r.error.message).toBe('string');
    expect(r.error.message.length).toBeLessThan(400);
    if (r.error.ref !== undefined) expect(r.error.ref).toMatch(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/);
    return;
  }
  // Whatever is accepted satisfies the schema and is fully normalised.
  expect(validators.get(r.msg.type)!(r.msg), where()).toBe(true);
  if ('queries' in r.msg && r.msg.queries) {
    for (const q of r.msg.queries) expect(normalizeQuery(q)).toBe(q);
    expect(new Set(r.msg.queries).size).toBe(r.msg.queries.length);
  }
}

function decodeSafely(input: Parameters<typeof decodeClientMessage>[0]): DecodeResult<ClientMessage> {
  let r: DecodeResult<ClientMessage> | undefined;
  expect(() => (r = decodeClientMessage(input))).not.toThrow();
  return r!;
}

function mutate(r: ReturnType<typeof rng>, msg: Record<string, unknown>): unknown {
  const m: Record<string, unknown> = structuredClone(msg);
  const steps = 1 + r.int(3);
  for (let i = 0; i < steps; i++) {
    const keys = Object.keys(m);
    switch (r.int(6)) {
      case 0: delete m[r.pick(keys)]; break;
      case 1: m[r.pick(keys)] = r.value(1); break;
      case 2: m[r.pick(r.keys)] = r.value(1); break;
      case 3: m['type'] = r.pick(r.types); break;
      case 4: if (Array.isArray(m['queries'])) (m['queries'] as unknown[])[r.int(3)] = r.value(2); break;
      default: if (typeof m['image'] === 'object' && m['image']) (m['image'] as Record<string, unknown>)[r.pick(['maxWidth', 'maxRate', 'x'])] = r.pick(r.numbers);
    }
  }
  return m;
}

describe('decodeClientMessage under random input', () => {
  it('never throws on random bytes', () => {
    const r = rng(1);
    for (let i = 0; i < 3000; i++) {
      const input = r.bytes(200);
      checkResult(decodeSafely(input), input);
    }
  });

  it('never throws on random strings, lone surrogates included', () => {
    const r = rng(2);
    for (let i = 0; i < 3000; i++) {
      const input = r.string(120);
      checkResult(decodeSafely(input), input);
    }
  });

  it('never throws on random JSON values', () => {
    const r = rng(3);
    for (let i = 0; i < 3000; i++) {
      const input = JSON.stringify(r.value(0));
      checkResult(decodeSafely(input), input);
    }
  });

  it('never throws on mutated valid messages, and accepts only valid ones', () => {
    const r = rng(4);
    const examples = Object.values(CLIENT_EXAMPLES) as unknown as Record<string, unknown>[];
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const input = JSON.stringify(mutate(r, r.pick(examples)));
      const result = decodeSafely(input);
      checkResult(result, input);
      if (result.ok) accepted++;
    }
    // The mutations should exercise both sides of the schema.
    expect(accepted).toBeGreaterThan(100);
    expect(accepted).toBeLessThan(4900);
  });

  it('never throws on truncated or corrupted text', () => {
    const r = rng(5);
    const texts = Object.values(CLIENT_EXAMPLES).map((m) => JSON.stringify(m));
    for (let i = 0; i < 3000; i++) {
      const text = r.pick(texts);
      const at = r.int(text.length);
      const input = r.next() < 0.5 ? text.slice(0, at) : text.slice(0, at) + r.string(2) + text.slice(at + 1);
      checkResult(decodeSafely(input), input);
    }
  });

  it('never throws on deep nesting within the size limit', () => {
    const depth = Math.floor(DEFAULT_LIMITS.maxMessageBytes / 2) - 40;
    for (const input of [
      `{"type":"ping","t":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"type":"subscribe","id":"a","stream":"s","queries":${'['.repeat(depth)}${']'.repeat(depth)}}`,
      `{"type":"ping","x":${'{"a":'.repeat(depth / 3)}`,
      `{"type":"ping","x":${'{"a":'.repeat(Math.floor(depth / 3))}1${'}'.repeat(Math.floor(depth / 3))}}`,
    ]) {
      expect(input.length).toBeLessThanOrEqual(DEFAULT_LIMITS.maxMessageBytes);
      const r = decodeSafely(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(['PROTOCOL_INVALID_MESSAGE', 'PROTOCOL_BAD_JSON']).toContain(r.error.code);
    }
  });
});
