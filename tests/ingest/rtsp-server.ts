/**
 * An RTSP camera for network tests: rtsp-streaming-server (a small RTSP relay in plain Node) with
 * a real ffmpeg publishing a clip to it in a loop at its own rate, as an IP camera would stream.
 * The camera can go away (ffmpeg stops and tears its stream down) and come back on the same URL.
 * The relay speaks RTP over UDP only, so players must ask for `rtsp_transport udp`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import RtspServer from 'rtsp-streaming-server';

export interface TestCamera {
  /** What a player opens. */
  readonly url: string;
  /** Starts publishing (again). */
  start(): void;
  /** Stops publishing: ffmpeg ends the stream cleanly (TEARDOWN), and the relay drops its players. */
  stop(): Promise<void>;
  /** Stops publishing and closes the relay's sockets. */
  close(): Promise<void>;
}

/** `n` different TCP ports that were free a moment ago (all held until all are chosen). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

type Closable = { close(cb?: () => void): unknown };

export async function startCamera(ffmpeg: string, clip: string, path = '/cam'): Promise<TestCamera> {
  const [serverPort, clientPort] = await freePorts(2);
  // RTP/RTCP port pairs for published streams: below Linux's ephemeral range (32768 on), different
  // per run; a pair in use is skipped by the relay.
  const rtpPortStart = 20000 + 2 * Math.floor(Math.random() * 6000);
  const relay = new RtspServer({ serverPort, clientPort, rtpPortStart, rtpPortCount: 20 });
  await relay.start();
  let publisher: ChildProcess | null = null;

  const camera: TestCamera = {
    url: `rtsp://127.0.0.1:${clientPort}${path}`,
    start() {
      if (publisher) return;
      const args = ['-nostdin', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', clip, '-c', 'copy', '-f', 'rtsp', '-rtsp_transport', 'udp', `rtsp://127.0.0.1:${serverPort}${path}`];
      publisher = spawn(ffmpeg, args, { stdio: 'ignore' });
    },
    async stop() {
      const p = publisher;
      publisher = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGTERM'); // ffmpeg finishes the output, which sends TEARDOWN
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
    async close() {
      await camera.stop();
      // The relay has no stop(): close its two RTSP listeners and the UDP sockets of any mount.
      const servers = [relay.PublishServer as unknown as { server: Closable }, relay.ClientServer as unknown as { server: Closable }];
      await Promise.all(servers.map((s) => new Promise((resolve) => s.server.close(() => resolve(undefined)))));
      const mounts = (relay.Mounts as unknown as { mounts: Record<string, { close(): unknown } | undefined> }).mounts;
      for (const m of Object.values(mounts ?? {})) m?.close(); // deleted mounts stay as undefined
    },
  };
  camera.start();
  return camera;
}
