/**
 * Numeric flag values, checked whole: parseInt would read `8080x` as 8080 and `abc` as NaN, which
 * the config check then showed as "got null". A bad value is commander's usage error, naming the
 * flag and the text typed.
 */
import { InvalidArgumentError } from 'commander';

export function intFlag(v: string): number {
  if (!/^\s*-?\d+\s*$/.test(v)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a whole number.`);
  return Number(v);
}

export function numberFlag(v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${JSON.stringify(v)} is not a number.`);
  return n;
}

/** An NMS IoU, or 'off' (no NMS; not null, which commander would turn into ''). Its range is
 * checked where it is used. */
export function nmsFlag(v: string): number | 'off' {
  return v.trim() === 'off' ? 'off' : numberFlag(v);
}
