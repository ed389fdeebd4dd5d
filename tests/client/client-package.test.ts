/**
 * groundstream-client, the SDK packed alone (packages/client), as another project gets it: the
 * tarball `npm pack` makes, unpacked into a project of its own that has only rxjs and ws. Its
 * types are checked there by tsc under NodeNext, and a Node program there subscribes to a real
 * server (the bundled model, ffmpeg decoding a fixture clip) and prints what it receives.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { BUNDLED_MODEL_DIR, loadModel, type GroundingModel } from '../../src/model/index.js';
import { GroundstreamServer } from '../../src/server/server.js';
import { FIXTURES, ROOT } from '../helpers/fixtures.js';

const run = promisify(execFile);
let dir: string;
let files: string[];

/** The source files src/client/index.ts imports, directly or not, as paths under src/. */
function closure(): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(join(ROOT, 'src', file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) visit(normalize(join(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
  };
  visit('client/index.ts');
  return [...seen];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gs-client-pkg-'));
  await run('npm', ['run', 'build:client', '--silent'], { cwd: ROOT }); // from the sources as they are now
  const { stdout } = await run('npm', ['pack', './packages/client', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT });
  const packed = (JSON.parse(stdout) as { filename: string; files: { path: string }[] }[])[0]!;
  files = packed.files.map((f) => f.path);
  const home = join(dir, 'node_modules', 'groundstream-client');
  mkdirSync(home, { recursive: true });
  await run('tar', ['-xzf', join(dir, packed.filename), '-C', home, '--strip-components', '1']);
  for (const dep of ['rxjs', 'ws']) symlinkSync(join(ROOT, 'node_modules', dep), join(dir, 'node_modules', dep), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module', private: true }));
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('groundstream-client, the SDK packed alone', () => {
  it('holds exactly the client and the modules it imports, each compiled, and nothing of the server', () => {
    const compiled = closure().flatMap((f) => ['.js', '.d.ts', '.js.map'].map((ext) => `dist/${f.replace(/\.ts$/, ext)}`));
    expect([...files].sort()).toEqual(['LICENSE', 'README.md', 'package.json', ...compiled].sort());
    expect(files).toContain('dist/protocol/frame-header.js');
    expect(files.filter((f) => /validator|schemas|\/(server|model|ingest|pipeline)\//.test(f))).toEqual([]); // ajv's side of the protocol stays out
    const pkg = JSON.parse(readFileSync(join(dir, 'node_modules/groundstream-client/package.json'), 'utf8')) as { dependencies: Record<string, string>; peerDependencies: Record<string, string> };
    expect([Object.keys(pkg.dependencies), Object.keys(pkg.peerDependencies)]).toEqual([['ws'], ['rxjs']]);
    // the source maps carry their sources: the paths they name are not in the package
    const map = JSON.parse(readFileSync(join(dir, 'node_modules/groundstream-client/dist/client/client.js.map'), 'utf8')) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).toContain('export class GroundstreamClient');
  });

  it('type-checks a strict consumer under NodeNext', async () => {
    writeFileSync(
      join(dir, 'consumer.ts'),
      [
        "import { ConnectionRejectedError, GroundstreamClient, RemoteError, type DetectionsMessage, type ErrorCode } from 'groundstream-client';",
        "const client = new GroundstreamClient({ url: 'ws://127.0.0.1:1/v1/ws', reconnect: { maxAttempts: 1 } });",
        "const sub = client.subscribe({ stream: 'demo', queries: ['star'], threshold: 0.3 });",
        'sub.detections$.subscribe((m: DetectionsMessage) => m.detections.map((d) => [d.query, d.score, ...d.box, d.trackId]));',
        "const code: ErrorCode = 'CLIENT_CLOSED';",
        'void sub.accepted.catch((e: unknown) => (e instanceof RemoteError ? e.ref : e instanceof ConnectionRejectedError ? e.closeCode : code));',
        '// @ts-expect-error: not a code',
        "const wrong: ErrorCode = 'NO_SUCH_CODE';",
        'void wrong;',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: [], lib: ['ES2022', 'DOM'] }, files: ['consumer.ts'] }),
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await run(process.execPath, [tsc, '-p', dir]).then(
      (ok) => ({ code: 0, out: ok.stdout + ok.stderr }),
      (e: { stdout: string; stderr: string; code: number }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(r).toEqual({ code: 0, out: '' });
  }, 120_000);

  describe('against a real server', () => {
    let model: GroundingModel;
    let server: GroundstreamServer;
    let base: string;

    beforeAll(async () => {
      model = await loadModel(BUNDLED_MODEL_DIR);
      server = new GroundstreamServer({
        config: resolveConfig({ port: 0, streams: [{ id: 'clip', source: 'clips/clip01-640x360.mp4', loop: true }] }),
        model,
        fileRoots: [FIXTURES],
      });
      base = await server.listen();
    }, 60_000);

    afterAll(async () => {
      await server?.close();
      await model?.close();
    });

    it('subscribes from a project that has only the package, rxjs and ws, and gets detections', async () => {
      writeFileSync(
        join(dir, 'robot.mjs'),
        `import { GroundstreamClient } from 'groundstream-client';
const client = new GroundstreamClient({ url: process.argv[2] });
await client.connect();
const sub = client.subscribe({ stream: 'clip', queries: ['purple circle', 'star'], threshold: 0.3 });
const ack = await sub.accepted;
const got = await new Promise((resolve, reject) => {
  const out = [];
  sub.detections$.subscribe({ next: (m) => { out.push(m); if (out.length === 5) resolve(out); }, error: reject });
});
const refused = await client.subscribe({ stream: 'nope', queries: ['star'] }).accepted.catch((e) => e.code);
client.close();
console.log(JSON.stringify({ ack, got, refused }));
`,
      );
      const { stdout } = await run(process.execPath, [join(dir, 'robot.mjs'), `${base.replace('http', 'ws')}/v1/ws`], { cwd: dir, timeout: 120_000 });
      const out = JSON.parse(stdout) as { ack: { queries: string[]; queryVersion: number }; got: { stream: string; frame: { seq: number; width: number; height: number }; detections: { query: string; score: number; box: number[] }[] }[]; refused: string };
      expect(out.ack).toMatchObject({ queries: ['purple circle', 'star'], queryVersion: 1 });
      expect(out.got).toHaveLength(5);
      for (const m of out.got) {
        expect(m).toMatchObject({ stream: 'clip', frame: { width: 640, height: 360 } });
        for (const d of m.detections) {
          expect(['purple circle', 'star']).toContain(d.query);
          expect(d.score).toBeGreaterThanOrEqual(0.3);
          expect(d.box).toHaveLength(4);
        }
      }
      expect(out.got.map((m) => m.frame.seq)).toEqual([...out.got.map((m) => m.frame.seq)].sort((a, b) => a - b));
      expect(out.got.some((m) => m.detections.length > 0)).toBe(true);
      expect(out.refused).toBe('PROTOCOL_STREAM_UNKNOWN');
      expect(readdirSync(join(dir, 'node_modules'))).toEqual(['groundstream-client', 'rxjs', 'ws']);
    }, 120_000);
  });
});
