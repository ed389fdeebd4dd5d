import { describe, expect, it } from 'vitest';
import { createClientMessageDecoder, decodeClientMessage, DEFAULT_LIMITS } from '../../src/protocol/index.js';
import { CLIENT_EXAMPLES } from './examples.js';

const json = (v: unknown) => JSON.stringify(v);
const code = (input: Parameters<typeof decodeClientMessage>[0], limits?: Parameters<typeof decodeClientMessage>[1]) => {
  const r = decodeClientMessage(input, limits);
  return r.ok ? 'ok' : r.error.code;
};

describe('decodeClientMessage', () => {
  it('accepts every client example', () => {
    for (const msg of Object.values(CLIENT_EXAMPLES)) {
      const r = decodeClientMessage(json(msg));
      expect(r.ok, json(r)).toBe(true);
    }
  });

  it('normalises and de-duplicates queries, keeping first-seen order', () => {
    const r = decodeClientMessage(json({ type: 'subscribe', id: 'a', stream: 'cam1', queries: ['  Red   Circle ', 'blue', 'RED circle'] }));
    expect(r).toEqual({ ok: true, msg: { type: 'subscribe', id: 'a', stream: 'cam1', queries: ['red circle', 'blue'] } });
    const u = decodeClientMessage(json({ type: 'update', id: 'a', queries: ['ＲＥＤ'] })); // NFKC folds full-width
    expect(u).toEqual({ ok: true, msg: { type: 'update', id: 'a', queries: ['red'] } });
    // invisible format characters go: a zero-width space inside a word, a byte-order mark in front
    const z = decodeClientMessage(json({ type: 'update', id: 'a', queries: ['\uFEFFred\u200b circle', 'red circle'] }));
    expect(z).toEqual({ ok: true, msg: { type: 'update', id: 'a', queries: ['red circle'] } });
  });

  it('refuses a query that is invisible: only zero-width or format characters', () => {
    for (const q of ['\u200b', '\u200b \u200d', '\u00ad\u2060']) {
      const r = decodeClientMessage(json({ type: 'subscribe', id: 'a', stream: 'cam1', queries: [q] }));
      expect(r).toMatchObject({ ok: false, error: { code: 'PROTOCOL_INVALID_MESSAGE', message: expect.stringContaining('/queries/0 is empty after normalisation') } });
    }
  });

  it('accepts UTF-8 bytes as well as strings', () => {
    const bytes = new TextEncoder().encode(json(CLIENT_EXAMPLES.unsubscribe));
    expect(decodeClientMessage(bytes)).toEqual({ ok: true, msg: CLIENT_EXAMPLES.unsubscribe });
    expect(decodeClientMessage(bytes.buffer as ArrayBuffer)).toEqual({ ok: true, msg: CLIENT_EXAMPLES.unsubscribe });
    expect(decodeClientMessage(Buffer.from(json(CLIENT_EXAMPLES.ping)))).toMatchObject({ ok: true });
  });

  describe('PROTOCOL_MESSAGE_TOO_LARGE', () => {
    it('rejects a string over maxMessageBytes, counting UTF-8 bytes', () => {
      const limits = { maxMessageBytes: 100 };
      const padded = (pad: string) => json({ type: 'ping', id: 'x', t: 1, _: pad });
      expect(code(padded('a'.repeat(200)), limits)).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
      // 40 three-byte characters: 40 UTF-16 units, but 120 bytes.
      expect(code(padded('€'.repeat(40)), limits)).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
      expect(code(padded('😀'.repeat(20)), limits)).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
    });

    it('rejects bytes over maxMessageBytes before decoding them', () => {
      expect(code(new Uint8Array(DEFAULT_LIMITS.maxMessageBytes + 1))).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
    });

    it('allows exactly maxMessageBytes', () => {
      const msg = json({ type: 'ping', id: 'x' });
      expect(code(msg, { maxMessageBytes: msg.length })).toBe('ok');
      expect(code(msg, { maxMessageBytes: msg.length - 1 })).toBe('PROTOCOL_MESSAGE_TOO_LARGE');
    });
  });

  describe('PROTOCOL_BAD_JSON', () => {
    it.each(['', '{', 'nope', '{"type":"ping",}', "{'type':'ping'}", 'NaN'])('rejects %j', (text) => {
      expect(code(text)).toBe('PROTOCOL_BAD_JSON');
    });

    it('rejects bytes that are not UTF-8', () => {
      expect(code(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))).toBe('PROTOCOL_BAD_JSON');
    });
  });

  describe('PROTOCOL_INVALID_MESSAGE', () => {
    it.each([
      ['an array', '[]'],
      ['null', 'null'],
      ['a number', '42'],
      ['a string', '"ping"'],
      ['no type', json({ id: 'a' })],
      ['a numeric type', json({ type: 7 })],
    ])('rejects %s', (_, text) => {
      expect(code(text)).toBe('PROTOCOL_INVALID_MESSAGE');
    });

    const sub = CLIENT_EXAMPLES.subscribe;
    it.each([
      ['a missing id', { ...sub, id: undefined }],
      ['an unknown property', { ...sub, colour: 'red' }],
      ['a __proto__ property', JSON.parse(`{"type":"unsubscribe","id":"a","__proto__":{"x":1}}`)],
      ['no queries', { ...sub, queries: [] }],
      ['33 queries', { ...sub, queries: Array.from({ length: 33 }, (_, i) => `q${i}`) }],
      ['a 257-character query', { ...sub, queries: ['x'.repeat(257)] }],
      ['a blank query', { ...sub, queries: ['   '] }],
      ['a non-string query', { ...sub, queries: [1] }],
      ['threshold above 1', { ...sub, threshold: 1.5 }],
      ['threshold below 0', { ...sub, threshold: -0.1 }],
      ['maxRate 0', { ...sub, maxRate: 0 }],
      ['maxRate above the limit', { ...sub, maxRate: 1000 }],
      ['a stream id with a slash', { ...sub, stream: 'a/b' }],
      ['an empty stream id', { ...sub, stream: '' }],
      ['a fractional image width', { ...sub, image: { maxWidth: 640.5 } }],
      ['an unknown image option', { ...sub, image: { quality: 80 } }],
      ['an update that changes nothing', { type: 'update', id: 'a' }],
      ['an update with a string threshold', { type: 'update', id: 'a', threshold: '0.5' }],
      ['an unsubscribe with extra fields', { type: 'unsubscribe', id: 'a', stream: 'cam1' }],
      ['a ping with a numeric id', { type: 'ping', id: 7 }],
      ['a number too large for a double', '{"type":"ping","t":1e400}'],
    ])('rejects %s', (_, msg) => {
      expect(code(typeof msg === 'string' ? msg : json(msg))).toBe('PROTOCOL_INVALID_MESSAGE');
    });

    it('rejects a query that outgrows the limit under normalisation', () => {
      // U+FDFA is one code point that NFKC expands to 18.
      expect(code(json({ ...sub, queries: ['\uFDFA'.repeat(20)] }))).toBe('PROTOCOL_INVALID_MESSAGE');
    });

    it('says where the violation is', () => {
      const r = decodeClientMessage(json({ ...sub, threshold: 2 }));
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toBe('invalid message: /threshold must be <= 1');
      const extra = decodeClientMessage(json({ ...sub, colour: 'red' }));
      if (!extra.ok) expect(extra.error.message).toBe('invalid message: message has unknown property "colour"');
    });

    it('allows null to clear maxRate and image in an update', () => {
      expect(code(json({ type: 'update', id: 'a', maxRate: null, image: null }))).toBe('ok');
    });
  });

  describe('PROTOCOL_UNKNOWN_TYPE', () => {
    it.each(['hello', 'detections', 'SUBSCRIBE', 'constructor', '__proto__', ''])('rejects type %j', (type) => {
      expect(code(json({ type, id: 'a' }))).toBe('PROTOCOL_UNKNOWN_TYPE');
    });
  });

  describe('ref', () => {
    it('echoes the id of the message it answers', () => {
      const r = decodeClientMessage(json({ type: 'subscribe', id: 'sub-9', stream: 'cam1', queries: [] }));
      expect(r).toMatchObject({ ok: false, error: { ref: 'sub-9' } });
      expect(decodeClientMessage(json({ type: 'nope', id: 'sub-9' }))).toMatchObject({ error: { ref: 'sub-9' } });
    });

    it('leaves out an id that is not itself well-formed', () => {
      for (const id of ['x'.repeat(65), 'bad id', '<script>', 7]) {
        const r = decodeClientMessage(json({ type: 'nope', id }));
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error.ref).toBeUndefined();
      }
    });
  });

  it('applies custom limits', () => {
    const decode = createClientMessageDecoder({ maxQueries: 2, maxQueryLength: 5, maxRate: 1000 });
    const sub = (extra: object) => json({ type: 'subscribe', id: 'a', stream: 'cam1', queries: ['a'], ...extra });
    expect(decode(sub({ queries: ['a', 'b', 'c'] })).ok).toBe(false);
    expect(decode(sub({ queries: ['abcdef'] })).ok).toBe(false);
    expect(decode(sub({ maxRate: 1000 })).ok).toBe(true);
  });

  it('refuses bad limits when the decoder is made (CONFIG_INVALID)', () => {
    expect(() => createClientMessageDecoder({ maxQueries: 0 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => createClientMessageDecoder({ maxStreamIdLength: 300 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
