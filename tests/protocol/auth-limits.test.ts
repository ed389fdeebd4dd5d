import { describe, expect, it } from 'vitest';
import {
  clientSubprotocols,
  DEFAULT_LIMITS,
  isFatalCloseCode,
  CLOSE_CODES,
  resolveLimits,
  SUBPROTOCOL,
  tokenFromSubprotocols,
  WS_PATH,
} from '../../src/protocol/index.js';

describe('bearer token in the subprotocol list', () => {
  it('round-trips any token, offering the protocol subprotocol first', () => {
    for (const token of ['abc', 'eyJhbGciOi.J9.x-y_z', 'päss wörd/+=', '🔑']) {
      const offered = clientSubprotocols(token);
      expect(offered[0]).toBe(SUBPROTOCOL);
      for (const p of offered) expect(p).toMatch(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/); // an HTTP token
      expect(tokenFromSubprotocols(offered)).toBe(token);
      expect(tokenFromSubprotocols(offered.join(', ').split(','))).toBe(token);
    }
  });

  it('offers only the protocol without a token, and reads garbage as no token', () => {
    expect(clientSubprotocols()).toEqual([SUBPROTOCOL]);
    expect(tokenFromSubprotocols([SUBPROTOCOL])).toBeUndefined();
    expect(tokenFromSubprotocols(['groundstream.bearer.%%%'])).toBeUndefined();
    expect(tokenFromSubprotocols(['groundstream.bearer._w'])).toBeUndefined(); // not UTF-8
  });
});

describe('limits and constants', () => {
  it('fills defaults and freezes', () => {
    const l = resolveLimits({ maxQueries: 4 });
    expect(l).toEqual({ ...DEFAULT_LIMITS, maxQueries: 4 });
    expect(Object.isFrozen(l)).toBe(true);
    expect(resolveLimits()).toBe(DEFAULT_LIMITS);
  });

  it.each([{ maxQueries: 1.5 }, { maxRate: 0 }, { maxMessageBytes: NaN }, { maxImageWidth: -1 }, { maxStreamIdLength: 256 }])(
    'refuses %j with CONFIG_INVALID',
    (bad) => {
      expect(() => resolveLimits(bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    },
  );

  it('serves v1 at /v1/ws and never retries a refused connection', () => {
    expect(WS_PATH).toBe('/v1/ws');
    expect(isFatalCloseCode(CLOSE_CODES.UNAUTHORIZED)).toBe(true);
    expect(isFatalCloseCode(CLOSE_CODES.GOING_AWAY)).toBe(false);
    expect(isFatalCloseCode(CLOSE_CODES.HEARTBEAT_TIMEOUT)).toBe(false);
  });
});
