/**
 * Reads a recording back: one part file, or every part of the recording in a directory (or named
 * by its base path). Tolerates what a crash leaves behind: a last line with no newline that does
 * not parse is dropped and counted. Anything else malformed is RECORD_INVALID with file and line.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GroundstreamError } from '../errors.js';
import type { DetectionsMessage } from '../protocol/messages.js';
import { SESSION_FORMAT_VERSION, parsePartFileName, type EndLine, type SessionHeader } from './session-format.js';

/** One `detections` message and when the recorder received it (ms since the epoch). */
export interface RecordedResult {
  readonly receivedAt: number;
  readonly message: DetectionsMessage;
}

export interface Session {
  /** The first part's header (`part` is that part's number). */
  readonly header: SessionHeader;
  /** Part files read, in order. */
  readonly files: readonly string[];
  /** Every recorded result, in the order received. */
  readonly results: readonly RecordedResult[];
  /** Results the server said it dropped for the recorder (`missed` lines), summed. */
  readonly missed: number;
  /** The closing line, absent when the recorder did not stop cleanly. */
  readonly end?: EndLine;
  /** Incomplete last lines dropped (one per part at most: what a crash can leave). */
  readonly truncated: number;
  /** Part numbers below the last one read whose files are not there (deleted, or not copied). */
  readonly missingParts: readonly number[];
}

function invalid(detail: string): never {
  throw new GroundstreamError('RECORD_INVALID', detail);
}

/** The records of one NDJSON text; an incomplete, unparsable last line is dropped and reported. */
export function parseNdjson(text: string, name: string): { records: unknown[]; truncated: boolean } {
  const lines = text.split('\n');
  const last = lines.pop()!; // '' when the text ends with a newline
  const records: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      invalid(`${name}:${i + 1}: ${(e as Error).message}`);
    }
  });
  if (last.trim() === '') return { records, truncated: false };
  try {
    // a complete record whose newline did not make it to disk
    records.push(JSON.parse(last));
    return { records, truncated: false };
  } catch {
    return { records, truncated: true };
  }
}

/** The part files `path` names: a part file, a directory holding one recording, or a base path. */
export function sessionFiles(path: string): string[] {
  if (existsSync(path) && statSync(path).isFile()) return [path];
  if (existsSync(path) && statSync(path).isDirectory()) {
    const parts = readdirSync(path).map((n) => ({ n, p: parsePartFileName(n) })).filter((x) => x.p !== null);
    const bases = [...new Set(parts.map((x) => x.p!.base))].sort();
    if (bases.length === 0) invalid(`no recording (<name>-0001.ndjson) in ${path}`);
    if (bases.length > 1) invalid(`${path} holds several recordings (${bases.join(', ')}): name one, e.g. ${join(path, bases[0]!)}`);
    return parts.sort((a, b) => a.p!.part - b.p!.part).map((x) => join(path, x.n));
  }
  const dir = dirname(path);
  const base = basename(path);
  if (existsSync(dir) && statSync(dir).isDirectory()) {
    const parts = readdirSync(dir)
      .map((n) => ({ n, p: parsePartFileName(n) }))
      .filter((x) => x.p?.base === base)
      .sort((a, b) => a.p!.part - b.p!.part);
    if (parts.length) return parts.map((x) => join(dir, x.n));
  }
  return invalid(`no such recording: ${path}`);
}

function checkHeader(h: unknown, name: string): SessionHeader {
  const o = h as Partial<SessionHeader> | null;
  if (!o || o.type !== 'session') invalid(`${name}: the first line is not a session header`);
  if (typeof o.version !== 'number' || o.version > SESSION_FORMAT_VERSION) {
    invalid(`${name}: format version ${String(o.version)}; this groundstream reads up to ${SESSION_FORMAT_VERSION}`);
  }
  if (typeof o.stream !== 'string' || !Array.isArray(o.queries) || typeof o.threshold !== 'number' || !o.server?.model) {
    invalid(`${name}: the session header lacks stream, queries, threshold or server`);
  }
  return o as SessionHeader;
}

function checkResult(r: Record<string, unknown>, where: string): RecordedResult {
  const m = r.message as Partial<DetectionsMessage> | undefined;
  const f = m?.frame;
  const ok =
    typeof r.receivedAt === 'number' &&
    m?.type === 'detections' &&
    Array.isArray(m.detections) &&
    typeof m.queryVersion === 'number' &&
    !!f &&
    [f.seq, f.pts, f.capturedAt, f.width, f.height].every((v) => typeof v === 'number' && Number.isFinite(v));
  if (!ok) invalid(`${where}: not a detections record (receivedAt, message.frame, message.detections)`);
  return { receivedAt: r.receivedAt as number, message: m as DetectionsMessage };
}

/** Reads a recording (see sessionFiles for what `path` may name). Throws RECORD_INVALID. */
export function readSession(path: string): Session {
  const files = sessionFiles(path);
  let header: SessionHeader | undefined;
  const results: RecordedResult[] = [];
  let missed = 0;
  let truncated = 0;
  let end: EndLine | undefined;
  const parts = new Set<number>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      return invalid(`${file}: ${(e as Error).message}`);
    }
    const parsed = parseNdjson(text, file);
    if (parsed.truncated) truncated++;
    const [first, ...rest] = parsed.records;
    if (first === undefined) {
      if (parsed.truncated) continue; // a crash while writing the header of a new part
      if (text.length === 0 && files.length > 1 && file === files.at(-1)) continue; // a crash between creating the last part and writing to it
      invalid(`${file}: empty`);
    }
    const h = checkHeader(first, file);
    if (header && h.id !== header.id) invalid(`${file} belongs to another recording (session ${h.id}, not ${header.id})`);
    header ??= h;
    if (Number.isInteger(h.part)) parts.add(h.part);
    rest.forEach((rec, i) => {
      const r = rec as Record<string, unknown>;
      if (r?.type === 'detections') results.push(checkResult(r, `${file}:${i + 2}`));
      else if (r?.type === 'missed' && typeof r.count === 'number') missed += r.count;
      else if (r?.type === 'end') end = r as unknown as EndLine;
      // other types (status, error, subscribed, and any a later version adds) are not needed here
    });
  }
  if (!header) return invalid(`${path}: no session header`);
  const last = Math.max(0, ...parts);
  const missingParts = Array.from({ length: last }, (_, i) => i + 1).filter((n) => !parts.has(n));
  return { header, files, results, missed, truncated, missingParts, ...(end ? { end } : {}) };
}
