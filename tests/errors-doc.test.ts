import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../src/errors.js';
import { catalogTable } from '../scripts/errors-doc.js';

describe('error catalog', () => {
  it('documents every code in docs/errors.md (npm run docs:errors regenerates it)', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const missing = Object.keys(ERRORS).filter((c) => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
    expect(doc).toContain(catalogTable());
  });

  it('gives every code an HTTP status and a message template', () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]+$/);
      expect(e.status).toBeGreaterThanOrEqual(400);
      expect(e.message).toContain('%s');
    }
  });
});
