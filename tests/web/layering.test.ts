import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/fixtures.js';

/** Packages made for browsers as much as Node, and bundled into the pages. */
const BROWSER_PACKAGES = ['color-name'];

it('pages import only the client SDK, each other and browser-safe packages (they run in browsers)', () => {
  const dir = join(ROOT, 'src', 'web');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const code = readFileSync(join(dir, file), 'utf8');
    for (const [, spec] of code.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      expect(spec!.startsWith('./') || spec === '../client/index.js' || BROWSER_PACKAGES.includes(spec!), `${file} imports ${spec}`).toBe(true);
    }
  }
});
