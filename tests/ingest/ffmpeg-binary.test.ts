import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import { bundledFfmpeg, FFMPEG_ENV, resolveFfmpeg } from '../../src/ingest/ffmpeg-binary.js';
import { ffmpegVersion } from '../../src/ingest/ffmpeg.js';
import { tempDir } from './helpers.js';

describe('ffmpeg binary resolution', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const fake = join(bin, 'ffmpeg');
  writeFileSync(fake, '#!/bin/sh\necho "ffmpeg version fake"\n');
  chmodSync(fake, 0o755);
  const empty = join(dir, 'empty');
  mkdirSync(empty);

  it('prefers the override, from config or environment', () => {
    expect(resolveFfmpeg({ override: fake, env: { PATH: empty } })).toEqual({ path: fake, origin: 'override' });
    expect(resolveFfmpeg({ env: { PATH: empty, [FFMPEG_ENV]: fake } })).toEqual({ path: fake, origin: 'override' });
    expect(resolveFfmpeg({ override: 'ffmpeg', env: { PATH: bin } })).toEqual({ path: fake, origin: 'override' });
  });

  it('refuses an override that is not there, rather than silently using another binary', () => {
    try {
      resolveFfmpeg({ override: join(dir, 'nope'), env: { PATH: bin } });
      expect.unreachable();
    } catch (e) {
      expect(isGroundstreamError(e, 'INGEST_FFMPEG_NOT_FOUND')).toBe(true);
    }
  });

  it('then takes ffmpeg on PATH, then the bundled build', () => {
    expect(resolveFfmpeg({ env: { PATH: `${empty}:${bin}` } })).toEqual({ path: fake, origin: 'path' });
    const bundled = resolveFfmpeg({ env: { PATH: empty } });
    expect(bundled.origin).toBe('bundled');
    expect(bundled.path).toBe(bundledFfmpeg());
    expect(resolveFfmpeg({ env: { PATH: bin }, skipPath: true }).origin).toBe('bundled');
  });

  it('reads the version line of the binary', () => {
    expect(ffmpegVersion(fake)).toBe('ffmpeg version fake');
    expect(ffmpegVersion(bundledFfmpeg()!)).toMatch(/^ffmpeg version /);
    expect(ffmpegVersion(join(dir, 'nope'))).toBeUndefined();
  });
});
