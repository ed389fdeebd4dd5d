/** A small HTTP server for network tests: serves fixed bodies, optionally paced like a live
 * stream, and can be killed mid-stream and brought back on the same port. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  readonly body?: Uint8Array;
  /** Answer 302 to this URL instead of a body. */
  readonly redirect?: string;
  readonly type?: string;
  /** Send `burstBytes` at once, then `bytesPerSecond`; 0 holds the connection open, silent. */
  readonly pace?: { readonly bytesPerSecond: number; readonly burstBytes?: number };
}

export interface TestServer {
  readonly port: number;
  url(path: string): string;
  /** Requests served so far. */
  readonly hits: number;
  /** The Host header of each request, in order. */
  readonly hosts: readonly (string | undefined)[];
  /** Drops every connection and stops listening, as if the process died. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  const timers = new Set<NodeJS.Timeout>();
  let hits = 0;
  const hosts: (string | undefined)[] = [];
  const send = (res: ServerResponse, route: Route) => {
    if (route.redirect) return void res.writeHead(302, { location: route.redirect }).end();
    const body = route.body ?? new Uint8Array(0);
    res.writeHead(200, { 'content-type': route.type ?? 'video/mp2t' });
    if (!route.pace) return void res.end(body);
    const { bytesPerSecond, burstBytes = 0 } = route.pace;
    let sent = Math.min(burstBytes, body.length);
    res.write(body.subarray(0, sent));
    const tick = setInterval(() => {
      if (bytesPerSecond === 0) return;
      const next = Math.min(body.length, sent + Math.ceil(bytesPerSecond / 25));
      res.write(body.subarray(sent, next));
      sent = next;
      if (sent >= body.length) {
        clearInterval(tick);
        res.end();
      }
    }, 40);
    timers.add(tick);
    res.on('close', () => {
      clearInterval(tick);
      timers.delete(tick);
    });
  };
  const server: Server = createServer((req, res) => {
    hits += 1;
    hosts.push(req.headers.host);
    const route = routes[req.url ?? ''];
    if (!route) return void res.writeHead(404).end();
    send(res, route);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    get hits() {
      return hits;
    },
    hosts,
    kill: async () => {
      for (const t of timers) clearInterval(t);
      timers.clear();
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
    restart: () => new Promise<void>((r) => server.listen(port, '127.0.0.1', r)),
  };
}
