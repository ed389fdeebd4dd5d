/**
 * Where `groundstream serve` writes its log: standard output, never at the server's expense.
 *
 * What the reader of standard output does (a log shipper, `| head`, `| less`, journald) must not
 * stop the server, so writes are asynchronous and bounded:
 * - a reader that stops reading fills the pipe; lines then wait in a buffer of `maxBufferBytes`,
 *   and past it are dropped (said once on stderr), while the event loop carries on. A synchronous
 *   destination blocked the whole server instead (sonic-boom sleeps and retries a full pipe);
 * - a reader that went away (EPIPE) costs the log lines, not the server (said once on stderr);
 * - at exit, what is buffered gets `drain(ms)` to go out, and no more: pino's own exit flush of an
 *   asynchronous stdout retried a closed pipe forever, and the server hung on SIGTERM. That flush
 *   is registered only for the destinations pino makes itself, so this one is made here.
 * pino's `fatal` flushes synchronously too (the same retry loop): callers log crashes at `error`.
 */
import SonicBoom from 'sonic-boom';

export interface LogOutput {
  /** The destination to hand pino (or pino-pretty). */
  readonly stream: SonicBoom;
  /** Waits at most `ms` for the buffered lines to be written. */
  drain(ms: number): Promise<void>;
}

export function logOutput(say: (text: string) => void, options: { fd?: number; maxBufferBytes?: number } = {}): LogOutput {
  const stream = new SonicBoom({ fd: options.fd ?? 1, sync: false, maxLength: options.maxBufferBytes ?? 1 << 20 });
  const said = new Set<string>();
  const once = (key: string, text: string) => {
    if (said.has(key)) return;
    said.add(key);
    say(text);
  };
  stream.on('drop', () => once('drop', 'the reader of standard output is not keeping up: log lines are dropped until it does'));
  stream.on('error', (e: NodeJS.ErrnoException) =>
    once(
      e.code ?? 'error',
      e.code === 'EPIPE'
        ? 'standard output was closed (EPIPE): log lines are dropped from now on; the server carries on'
        : `writing the log failed (${e.code ?? e.message}): log lines may be lost; the server carries on`,
    ),
  );
  return {
    stream,
    drain: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        try {
          stream.flush(() => {
            clearTimeout(timer);
            resolve();
          });
        } catch {
          clearTimeout(timer); // (not open yet, or already destroyed: nothing to wait for)
          resolve();
        }
      }),
  };
}
