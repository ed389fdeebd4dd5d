import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, type WebSocketConstructor } from '../../src/client/index.js';

const root = join(import.meta.dirname, '../..');
const specifiers = (file: string) =>
  [...readFileSync(join(root, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1]!);
const filesIn = (dir: string) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`);

describe('module boundaries', () => {
  it('client imports only protocol modules and rxjs (ws only dynamically)', () => {
    for (const file of filesIn('src/client')) {
      for (const s of specifiers(file)) {
        expect(s.startsWith('./') || s.startsWith('../protocol/') || s === 'rxjs', `${file} imports ${s}`).toBe(true);
      }
    }
  });

  it('protocol imports only domain, the error catalog, and ajv in validator.ts', () => {
    for (const file of filesIn('src/protocol')) {
      for (const s of specifiers(file)) {
        const ok = s.startsWith('./') || s.startsWith('../domain/') || s === '../errors.js' || (s === 'ajv' && file.endsWith('validator.ts'));
        expect(ok, `${file} imports ${s}`).toBe(true);
      }
    }
  });

  it('keeps ajv out of the client bundle', () => {
    const seen = new Set<string>();
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const s of specifiers(file)) {
        if (s.startsWith('.')) visit(normalize(join(dirname(file), s.replace(/\.js$/, '.ts'))));
      }
    };
    visit('src/client/index.ts');
    expect(seen).toContain('src/protocol/frame-header.ts');
    expect([...seen].filter((f) => /validator|decode\.ts|schemas/.test(f))).toEqual([]);
  });
});

it('bundles for browsers without ajv, node builtins or a static ws import', async () => {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(root, 'src/client/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  });
  expect(out.errors).toEqual([]);
  const code = out.outputFiles[0]!.text;
  expect(code).not.toMatch(/ajv|new Function|from "ws"|node:/);
});

describe('backoffDelay', () => {
  const o = { ...DEFAULT_BACKOFF, initialMs: 100, maxMs: 1000, factor: 2, jitter: 0.5 };
  it('grows by factor up to the cap', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, o, () => 0))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
  it('jitters down by at most the jitter fraction', () => {
    expect(backoffDelay(1, o, () => 1)).toBe(100);
    expect(backoffDelay(1, o, () => 0.5)).toBe(150);
    expect(backoffDelay(1, { ...o, jitter: 0 }, () => 0.99)).toBe(200);
  });
  it('takes the browser WebSocket as a constructor (type check)', () => {
    const browser: WebSocketConstructor | undefined = typeof WebSocket === 'undefined' ? undefined : WebSocket;
    expect(browser).toBeUndefined(); // Node 20
  });
});
