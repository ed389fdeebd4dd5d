import { mulberry32 } from '../helpers/prng.js';

/** A small seeded PRNG and generators for property-style tests (no dependency needed). */
export function rng(seed: number) {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const bytes = (max: number) => Uint8Array.from({ length: int(max + 1) }, () => int(256));
  const string = (max: number) => {
    const alphabets = ['abc xyz', ' \t\n', '{}[]":,', '€😀ＲＥＤ\uFDFA', '\uD800\uDFFF\u0000', 'ACGT-_.:/'];
    let s = '';
    const n = int(max + 1);
    for (let i = 0; i < n; i++) {
      const alphabet = pick(alphabets);
      s += alphabet[int(alphabet.length)];
    }
    return s;
  };
  const numbers = [0, -1, 1, 0.5, 1.5, 2 ** 32, -0, 1e308, Number.MAX_SAFE_INTEGER + 2, 3.14159, 1000];
  const keys = ['type', 'id', 'stream', 'queries', 'threshold', 'maxRate', 'image', 'maxWidth', 't', '__proto__', 'constructor', 'x'];
  const types = ['subscribe', 'update', 'unsubscribe', 'ping', 'pong', 'hello', 'detections', '', 'toString'];
  const value = (depth: number): unknown => {
    switch (int(depth > 3 ? 5 : 8)) {
      case 0: return null;
      case 1: return next() < 0.5;
      case 2: return pick(numbers);
      case 3: return pick(types);
      case 4: return string(12);
      case 5: return Array.from({ length: int(5) }, () => value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(keys), value(depth + 1)]));
    }
  };
  return { next, int, pick, bytes, string, value, keys, types, numbers };
}
