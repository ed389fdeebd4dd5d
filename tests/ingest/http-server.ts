/** A small HTTP server for network tests: serves fixed bodies, optionally paced like a live
 * stream, and can be killed mid-stream and brought back on the same port. */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  readonly body: Uint8Array;
  readonly type?: string;
  /** Send `burstBytes` at once, then `bytesPerSecond`; 0 holds the connection open, silent. */
  readonly pace?: { readonly bytesPerSecond: number; readonly burstBytes?: number };
}

export interface TestServer {
  readonly port: number;
  url(path: string): string;
  /** Requests served so far. */
  readonly hits: number;
  /** Drops every connection and stops listening, as if the process died. */
  kill(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

export async function startServer(routes: Record<string, Route>): Promise<TestServer> {
  const timers = new Set<NodeJS.Timeout>();
  let hits = 0;
  const send = (res: ServerResponse, route: Route) => {
    res.writeHead(200, { 'content-type': route.type ?? 'video/mp2t' });
    if (!route.pace) return void res.end(route.body);
    const { bytesPerSecond, burstBytes = 0 } = route.pace;
    let sent = Math.min(burstBytes, route.body.length);
    res.write(route.body.subarray(0, sent));
    const tick = setInterval(() => {
      if (bytesPerSecond === 0) return;
      const next = Math.min(route.body.length, sent + Math.ceil(bytesPerSecond / 25));
      res.write(route.body.subarray(sent, next));
      sent = next;
      if (sent >= route.body.length) {
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
