/** The catalog table of docs/errors.md, built from src/errors.ts. */
import { ERRORS } from '../src/errors.js';

export const START = '<!-- catalog:start -->';
export const END = '<!-- catalog:end -->';

export function catalogTable(): string {
  const rows = Object.entries(ERRORS).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.message.replace('%s', '…').replace(/\|/g, '\\|')} |`);
  return [START, '| code | HTTP status | message |', '| --- | --- | --- |', ...rows, END].join('\n');
}
