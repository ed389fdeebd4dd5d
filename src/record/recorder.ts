/**
 * The recording client: subscribes to a stream of a running server through the SDK, like any
 * client, and writes what it receives to NDJSON parts (docs/record-replay.md). It never talks to
 * the model; what it records is exactly what a client got.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { GroundstreamClient, RemoteError, type HelloMessage, type SubscribedMessage } from '../client/index.js';
import { GroundstreamError, isGroundstreamError } from '../errors.js';
import { checkBaseName, NdjsonWriter } from './ndjson-writer.js';
import { SESSION_FORMAT_VERSION, type DetectionsLine, type EndLine, type SessionHeader, type SessionLine } from './session-format.js';

export interface RecordOptions {
  /** Server address, e.g. ws://127.0.0.1:8080/v1/ws (http:// works too). */
  readonly url: string;
  /** Bearer token, when the server wants one (the `watch` right is enough). */
  readonly token?: string;
  readonly stream: string;
  readonly queries: readonly string[];
  /** Default: the server model's. Nothing below it is recorded, so scoring a recording's AP wants a low one. */
  readonly threshold?: number;
  /** Results a second, at most. Default: every result. */
  readonly maxRate?: number;
  /** Directory for the parts (created if missing). */
  readonly out: string;
  /** Part name before `-0001.ndjson`, a plain file name (CONFIG_INVALID otherwise). Default
   * `<stream>-<UTC yyyymmdd>-<hhmmss>-<id6>`, id6 the session id's first six characters. */
  readonly base?: string;
  readonly rotateBytes?: number;
  readonly rotateSeconds?: number;
  readonly fsync?: boolean;
  /** Stop after this many seconds from the subscription's ack. Default: until stopped or the stream ends. */
  readonly seconds?: number;
  /** Give up when the first connection is not open after this many ms. Default 10000. Later
   * losses: see giveUpAfterMs. */
  readonly connectTimeoutMs?: number;
  /** Once recording, stop (reason `disconnected`) when the connection has been down this many ms
   * without coming back. Default 30000. Shorter losses are retried (the SDK's backoff) and the
   * recording carries on. */
  readonly giveUpAfterMs?: number;
  /** Stop when aborted (the CLI aborts on SIGINT/SIGTERM). */
  readonly signal?: AbortSignal;
  /** Called after each result is written. */
  readonly onResult?: (line: DetectionsLine) => void;
}

export interface RecordSummary {
  /** Directory + base: what `replay` and `eval --session` accept. */
  readonly base: string;
  readonly files: readonly string[];
  readonly results: number;
  readonly missed: number;
  /** Why recording stopped (EndLine.reason). */
  readonly reason: string;
  readonly detail?: string;
  readonly header: SessionHeader;
}

/** Wall clock with sub-millisecond resolution, ms since the epoch. */
export function preciseNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

function defaultBase(stream: string, at: number, id: string): string {
  const iso = new Date(at).toISOString(); // 2025-01-31T12:34:56.789Z
  // the session id's first characters: two recorders started in the same second do not collide
  return `${stream}-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${id.slice(0, 6)}`;
}

/** What GET /v1/streams/<id> says about the stream (its `source`), if the server lets us see it. */
async function streamSource(wsUrl: string, stream: string, token?: string): Promise<SessionHeader['source'] | undefined> {
  try {
    const u = new URL(wsUrl);
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
    u.pathname = `/v1/streams/${encodeURIComponent(stream)}`;
    const r = await fetch(u, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
    if (!r.ok) return undefined;
    const b = (await r.json()) as { source?: unknown; width?: unknown; height?: unknown; state?: unknown };
    return {
      ...(typeof b.source === 'string' ? { source: b.source } : {}),
      ...(typeof b.width === 'number' ? { width: b.width } : {}),
      ...(typeof b.height === 'number' ? { height: b.height } : {}),
      ...(typeof b.state === 'string' ? { state: b.state } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Records one subscription until `seconds` pass, `signal` aborts or the server ends the
 * subscription (stream ended, failed or removed). Rejects, writing nothing, when the server
 * refuses the subscription or the connection; resolves with reason `error` when writing fails,
 * `disconnected` when the connection is lost for good after recording began (what was written
 * stays valid either way).
 */
export async function record(options: RecordOptions): Promise<RecordSummary> {
  if (options.signal?.aborted) throw new GroundstreamError('CLIENT_CLOSED', 'aborted before recording began');
  // said before connecting, not once the server has acked
  if (options.base !== undefined) checkBaseName(options.base);
  const client = new GroundstreamClient({ url: options.url, ...(options.token ? { token: options.token } : {}) });
  let hello: HelloMessage;
  let giveUp: ReturnType<typeof setTimeout> | undefined;
  const abortConnect = () => client.close();
  options.signal?.addEventListener('abort', abortConnect);
  try {
    // the SDK retries for ever; a recorder that never got a first connection should say so
    hello = await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        const ms = options.connectTimeoutMs ?? 10_000;
        giveUp = setTimeout(() => reject(new GroundstreamError('CLIENT_RECONNECT_EXHAUSTED', `no connection to ${client.url} in ${ms} ms`)), ms);
      }),
    ]);
  } catch (e) {
    client.close();
    throw e;
  } finally {
    clearTimeout(giveUp);
    options.signal?.removeEventListener('abort', abortConnect);
  }
  const source = await streamSource(client.url, options.stream, options.token);
  const sub = client.subscribe({
    stream: options.stream,
    queries: options.queries,
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
    ...(options.maxRate !== undefined ? { maxRate: options.maxRate } : {}),
  });

  return new Promise<RecordSummary>((resolve, reject) => {
    let writer: NdjsonWriter | undefined;
    let header: SessionHeader | undefined;
    let base = '';
    let results = 0;
    let missed = 0;
    let finalState: string | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let lost: ReturnType<typeof setTimeout> | undefined;
    let done = false;
    const rx: { unsubscribe(): void }[] = [];

    const finish = (reason: string, error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearTimeout(lost);
      options.signal?.removeEventListener('abort', onAbort);
      for (const r of rx) r.unsubscribe();
      sub.unsubscribe();
      client.close();
      if (!writer || !header) return reject(error ?? new GroundstreamError('CLIENT_CLOSED', `recording stopped (${reason}) before the server acked the subscription`));
      // Its first file could not be made (a name already taken): nothing was recorded, and
      // nothing is written now either (an `end` line would open the next part's file).
      if (isGroundstreamError(error, 'RECORD_WRITE_FAILED') && writer.paths.length === 0) return reject(error);
      const detail = error?.message;
      const end: EndLine = { type: 'end', endedAt: preciseNow(), reason, results, missed, ...(detail ? { detail } : {}) };
      try {
        writer.write(end);
      } catch (e) {
        // the disk refused the last line too; what is on it stays readable
        if (writer.paths.length === 0) return reject(e); // (no file at all: the name is taken)
      }
      try {
        writer.close();
      } catch {
        // as above: the fsync failed, the lines written are in the file
      }
      resolve({ base: join(options.out, base), files: [...writer.paths], results, missed, reason, ...(detail ? { detail } : {}), header });
    };
    const onAbort = () => finish('stopped');
    options.signal?.addEventListener('abort', onAbort);
    if (options.signal?.aborted) return onAbort();

    const write = (line: SessionLine) => {
      if (done || !writer) return;
      try {
        writer.write(line);
      } catch (e) {
        finish('error', e as Error);
      }
    };

    const begin = (ack: SubscribedMessage) => {
      const startedAt = preciseNow();
      const info = hello.streams.find((x) => x.id === options.stream);
      const described = info?.width || source ? { ...(info?.width ? { width: info.width, height: info.height } : {}), ...source } : undefined;
      header = {
        type: 'session',
        version: SESSION_FORMAT_VERSION,
        id: randomUUID(),
        part: 1,
        stream: ack.stream,
        queries: ack.queries,
        threshold: ack.threshold,
        ...(ack.maxRate !== undefined ? { maxRate: ack.maxRate } : {}),
        startedAt,
        url: client.url,
        server: { serverVersion: hello.serverVersion, protocolVersion: hello.protocolVersion, model: hello.model },
        ...(described ? { source: described } : {}),
      };
      base = options.base ?? defaultBase(options.stream, startedAt, header.id);
      const h = header;
      try {
        writer = new NdjsonWriter({
          dir: options.out,
          base,
          header: (part) => ({ ...h, part }),
          rotateBytes: options.rotateBytes,
          rotateSeconds: options.rotateSeconds,
          fsync: options.fsync,
        });
      } catch (e) {
        return finish('error', e as Error);
      }
      if (options.seconds !== undefined) timer = setTimeout(() => finish('seconds'), options.seconds * 1000);
    };

    rx.push(
      sub.subscribed$.subscribe((ack) => {
        if (!header) begin(ack);
        else write({ type: 'subscribed', receivedAt: preciseNow(), message: ack }); // a re-subscribe after a reconnect
      }),
      sub.detections$.subscribe({
        next: (message) => {
          const line: DetectionsLine = { type: 'detections', receivedAt: preciseNow(), message };
          write(line);
          if (done) return;
          results++;
          options.onResult?.(line);
        },
        // the server ended the subscription: its stream ended, failed or was removed (it says which)
        complete: () => {
          const r = sub.endReason;
          finish(r === 'stream-ended' || r === 'stream-failed' || r === 'stream-removed' ? r : finalState === 'failed' ? 'stream-failed' : finalState === 'ended' ? 'stream-ended' : 'stream-removed');
        },
        // a re-subscribe after a reconnect refused because the stream ended or went meanwhile is an
        // end of the stream, not an error of the recording
        error: (e: Error) => {
          const code = (e as { code?: string }).code;
          // (the server refuses ended and failed streams alike, and says which in the message)
          if (header && code === 'PROTOCOL_STREAM_ENDED') return finish(finalState === 'failed' || / is failed\b/.test(e.message) ? 'stream-failed' : 'stream-ended');
          if (header && code === 'PROTOCOL_STREAM_UNKNOWN') return finish('stream-removed');
          finish('error', e);
        },
      }),
      sub.missed$.subscribe((m) => {
        missed += m.count;
        write({ type: 'missed', receivedAt: preciseNow(), count: m.count });
      }),
      client.streamStatus$.subscribe((s) => {
        if (s.stream !== options.stream) return;
        if (s.state === 'ended' || s.state === 'failed') finalState = s.state;
        write({ type: 'status', receivedAt: preciseNow(), message: s });
      }),
      // a server gone for good must not keep a recorder (in CI, say) waiting for ever
      client.status$.subscribe((state) => {
        if (state === 'open') {
          clearTimeout(lost);
          lost = undefined;
        } else if (state === 'reconnecting' && !lost) {
          // (before the ack too: the connection may go between connect() and the subscription)
          const ms = options.giveUpAfterMs ?? 30_000;
          lost = setTimeout(() => finish('disconnected', new GroundstreamError('CLIENT_RECONNECT_EXHAUSTED', `the connection to ${client.url} was lost and not back in ${ms / 1000} s`)), ms);
        }
      }),
      client.errors$.subscribe((e) => {
        // results that failed on the server arrive as errors about `<stream>/<seq>`
        if (e instanceof RemoteError && e.ref?.startsWith(`${options.stream}/`)) {
          write({ type: 'error', receivedAt: preciseNow(), message: { type: 'error', code: e.code, message: e.message, ref: e.ref } });
        }
      }),
    );
  });
}
