import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

describe('src/track', () => {
  it('is pure: imports only its own files and domain/ (no RxJS, no I/O)', () => {
    const files = readdirSync(join(root, 'src/track')).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = readFileSync(join(root, 'src/track', f), 'utf8');
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
        const s = m[1]!;
        expect(s.startsWith('./') || s.startsWith('../domain/'), `${f} imports ${s}`).toBe(true);
      }
      expect(text, `${f} reads the environment`).not.toMatch(/process\.env/);
    }
  });
});
