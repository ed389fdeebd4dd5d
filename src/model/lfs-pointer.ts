/**
 * Git LFS pointer files: what a `git clone` of a model repository leaves in place of each big file
 * when Git LFS is not installed. onnxruntime reads one as a corrupt graph ("Protobuf parsing
 * failed"), which sends people looking in the wrong place, so it is recognised and named instead.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { GroundstreamError } from '../errors.js';

const MAGIC = 'version https://git-lfs';

/** The start of `path` (at most `n` bytes), or '' when it cannot be read. */
function head(path: string, n: number): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const buf = Buffer.alloc(n);
    return buf.toString('utf8', 0, readSync(fd, buf, 0, n, 0));
  } catch {
    return ''; // (a missing file is reported by whoever opens it)
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** MODEL_NOT_FOUND when `path` is a Git LFS pointer rather than the file it stands for. */
export function checkNotLfsPointer(path: string): void {
  const text = head(path, 200);
  if (!text.startsWith(MAGIC)) return;
  const size = /\bsize (\d+)/.exec(text)?.[1];
  const real = size ? ` (the real file is ${(Number(size) / 1e6).toFixed(1)} MB)` : '';
  throw new GroundstreamError(
    'MODEL_NOT_FOUND',
    `${path} is a Git LFS pointer, not the file itself${real}: the repository was cloned without Git LFS. ` +
      'Run `git lfs install` and then `git lfs pull` in the model folder (or download the file from the model\'s page)',
  );
}
