/**
 * A command's output read by something that stops early (`groundstream eval … | head -1`): the
 * pipe closes, and the next write fails with EPIPE. Unhandled, that error is an uncaught exception
 * with a stack trace and exit code 1, which is also what a failed --min-map50 gate returns, so a
 * passing run would read as a regression. Here a closed standard output or error is no error: what
 * is written to it from then on is dropped, and the command ends with the exit code its work
 * decided. Other write errors stay errors. (`serve` writes its log through log-output.ts.)
 */
import type { Writable } from 'node:stream';

export function tolerateClosedReader(stream: Writable): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE' || e.code === 'ERR_STREAM_DESTROYED') return;
    throw e;
  });
}
