/**
 * Append-only NDJSON with rotation. Each record is serialised first and then written with one
 * `fs.writeSync` of the complete line (newline included), so a crash of the process loses at most
 * the line being written: a reader drops a last line that has no newline and does not parse.
 * Lines are in the kernel once `write()` returns; with `fsync` they are on disk too.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { GroundstreamError } from '../errors.js';
import { parsePartFileName, partFileName } from './session-format.js';

export interface NdjsonWriterOptions {
  /** Directory the parts go in (created if missing). */
  readonly dir: string;
  /** Parts are named `<base>-0001.ndjson`, `<base>-0002.ndjson`, ... */
  readonly base: string;
  /** The first line of every part, given the part number (from 1). Default: none. */
  readonly header?: (part: number) => unknown;
  /** Start a new part before a line would take the current one past this many bytes. Default: never. */
  readonly rotateBytes?: number;
  /** Start a new part before writing into one opened this many seconds ago or more. Default: never. */
  readonly rotateSeconds?: number;
  /** fsync after every line (slow; survives power loss, not only a crash). Default false: fsync on
   * rotation and close only. */
  readonly fsync?: boolean;
  /** Clock for rotateSeconds, ms. Default Date.now. */
  readonly now?: () => number;
}

export class NdjsonWriter {
  /** Paths of the parts written so far, in order. */
  readonly paths: string[] = [];
  /** Lines written, headers excluded. */
  lines = 0;
  private fd: number | null = null;
  private part = 0;
  private partBytes = 0;
  /** Bytes of the current part's header: a part holding only that never rotates. */
  private headerBytes = 0;
  private partOpenedAt = 0;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: NdjsonWriterOptions) {
    if (options.rotateBytes !== undefined && !(options.rotateBytes > 0)) invalid(`rotateBytes must be > 0, got ${options.rotateBytes}`);
    if (options.rotateSeconds !== undefined && !(options.rotateSeconds > 0)) invalid(`rotateSeconds must be > 0, got ${options.rotateSeconds}`);
    checkBaseName(options.base);
    this.now = options.now ?? Date.now;
    // Any part of this name already there (a later one too): refused now, before anything is
    // written, rather than when rotation reaches it halfway through a recording.
    const taken = partsDir(options.dir).find((f) => parsePartFileName(f)?.base === options.base);
    if (taken !== undefined) {
      throw new GroundstreamError('RECORD_WRITE_FAILED', `${join(options.dir, taken)} exists: a recording named ${JSON.stringify(options.base)} is there already`);
    }
  }

  /** The part being written, or undefined before the first line. */
  get currentPath(): string | undefined {
    return this.fd === null ? undefined : this.paths.at(-1);
  }

  /** Appends one record as one line, rotating first if it is due. Throws RECORD_WRITE_FAILED. */
  write(record: unknown): void {
    if (this.closed) throw new GroundstreamError('RECORD_WRITE_FAILED', 'writer is closed');
    const line = Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
    if (this.fd === null || this.rotationDue(line.length)) this.openNext();
    this.append(line);
    this.lines++;
  }

  /** Flushes to disk and closes the current part. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closePart();
  }

  private rotationDue(bytes: number): boolean {
    if (this.partBytes <= this.headerBytes) return false; // never leave a part with no records
    const { rotateBytes, rotateSeconds } = this.options;
    if (rotateBytes !== undefined && this.partBytes + bytes > rotateBytes) return true;
    return rotateSeconds !== undefined && this.now() - this.partOpenedAt >= rotateSeconds * 1000;
  }

  private openNext(): void {
    this.closePart();
    this.part++;
    const path = join(this.options.dir, partFileName(this.options.base, this.part));
    try {
      // 'wx': a recording never overwrites another one
      this.fd = openSync(path, 'wx');
    } catch (e) {
      throw new GroundstreamError('RECORD_WRITE_FAILED', `${path}: ${(e as Error).message}`, { cause: e });
    }
    this.paths.push(path);
    this.partBytes = 0;
    this.partOpenedAt = this.now();
    const header = this.options.header?.(this.part);
    if (header !== undefined) this.append(Buffer.from(`${JSON.stringify(header)}\n`, 'utf8'));
    this.headerBytes = this.partBytes;
  }

  private append(line: Buffer): void {
    try {
      let done = 0;
      // one call writes a line whole on local files; the loop only covers a short write
      while (done < line.length) done += writeSync(this.fd!, line, done, line.length - done);
      if (this.options.fsync) fsyncSync(this.fd!);
    } catch (e) {
      throw new GroundstreamError('RECORD_WRITE_FAILED', `${this.paths.at(-1)}: ${(e as Error).message}`, { cause: e });
    }
    this.partBytes += line.length;
  }

  private closePart(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

function invalid(detail: string): never {
  throw new GroundstreamError('CONFIG_INVALID', detail);
}

/**
 * Refuses a part name that is not a plain file name: with a path separator or `..` in it, a
 * recording would land outside its directory (`--name ../../x`). CONFIG_INVALID.
 */
export function checkBaseName(base: string): void {
  if (base === '' || /[/\\\0]/.test(base) || base.includes('..')) {
    invalid(`a recording name must be a plain file name (no path separators, no ".."), got ${JSON.stringify(base)}`);
  }
}

/** Creates the directory if missing and lists it. RECORD_WRITE_FAILED when it cannot be (a
 * regular file in the way, no permission). */
function partsDir(dir: string): string[] {
  try {
    mkdirSync(dir, { recursive: true });
    return readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? `${dir} is not a directory (a file is in the way)` : `${dir}: ${(e as Error).message}`;
    throw new GroundstreamError('RECORD_WRITE_FAILED', why, { cause: e });
  }
}
