import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/ingest/backoff.js';

describe('backoffDelay', () => {
  it('doubles from 500 ms up to 30 s without jitter', () => {
    const none = () => 0;
    expect([1, 2, 3, 4, 7, 20].map((a) => backoffDelay(a, {}, none))).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
  });

  it('draws the delay from [d * (1 - jitter), d]', () => {
    expect(backoffDelay(3, { jitter: 0.5 }, () => 0.999999)).toBe(1000);
    expect(backoffDelay(3, { jitter: 0.5 }, () => 0.5)).toBe(1500);
    expect(backoffDelay(3, { jitter: 0 }, () => 0.7)).toBe(2000);
  });

  it('follows the options given', () => {
    expect(backoffDelay(4, { initialMs: 100, factor: 3, maxMs: 1000, jitter: 0 })).toBe(1000);
    expect(backoffDelay(2, { initialMs: 100, factor: 3, maxMs: 1000, jitter: 0 })).toBe(300);
  });
});
