/**
 * What a recording lacks, for whoever reads its scores: they cover only what is there. A CI gate
 * that passed on half a run should say so (`eval --session --strict` fails on any of these).
 */
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Session } from '../record/read-session.js';
import { parsePartFileName } from '../record/session-format.js';

/** End reasons of a recording that ran as long as it was meant to: its time was up, it was
 * stopped, or the stream it recorded came to its end. Any other (`disconnected`, `error`,
 * `stream-failed`, `stream-removed`, or one a later recorder adds) cut it short. */
export const CLEAN_END_REASONS: readonly string[] = ['seconds', 'stopped', 'stream-ended'];

export function sessionWarnings(s: Session): string[] {
  const w: string[] = [];
  if (s.missingParts.length) w.push(`part${s.missingParts.length > 1 ? 's' : ''} ${s.missingParts.join(', ')} of the recording ${s.missingParts.length > 1 ? 'are' : 'is'} missing`);
  if (s.truncated) w.push(`${s.truncated} part${s.truncated > 1 ? 's end' : ' ends'} in a cut line (a crash, or a copy still being written)`);
  if (s.end && !CLEAN_END_REASONS.includes(s.end.reason)) {
    w.push(`the recording was cut short: it ended with reason "${s.end.reason}"${s.end.detail ? ` (${s.end.detail})` : ''}`);
  }
  if (!s.end) w.push(noEnd(s));
  return w;
}

/** Why there is no end line: the recording goes on in later parts not read, or the recorder
 * did not finish. */
function noEnd(s: Session): string {
  const later = laterParts(s.files.at(-1)!);
  if (later.length) {
    const base = join(dirname(s.files.at(-1)!), parsePartFileName(basename(s.files.at(-1)!))!.base);
    return `no end line in the part${s.files.length > 1 ? 's' : ''} read: the recording goes on in ${later.join(', ')} (give ${base} to score all of it)`;
  }
  return 'no end line: the recorder did not finish (killed, or still running)';
}

/** Part files of the same recording after `file`, beside it. */
function laterParts(file: string): string[] {
  const me = parsePartFileName(basename(file));
  const dir = dirname(file);
  if (!me || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => {
      const p = parsePartFileName(n);
      return p?.base === me.base && p.part > me.part;
    })
    .sort()
    .map((n) => join(dir, n));
}
