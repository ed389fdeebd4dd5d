/**
 * The overlay page (/overlay): labelled boxes on a transparent page, for OBS and other streaming
 * software's browser sources. Settings come from the URL (docs/web.md); nothing but boxes is drawn
 * (a broken URL shows its errors instead). It reconnects by itself when the server restarts.
 *
 * For tests and tools, the canvas carries `data-state` (connection), `data-seq` (frame of the boxes
 * drawn) and `data-count` (boxes drawn).
 */
import { GroundstreamClient, type DetectionsMessage } from '../client/index.js';
import { BoxSmoother, type DrawnDetection } from './box-smoother.js';
import { colorFor, drawDetections } from './draw-boxes.js';
import { fitTransform } from './fit.js';
import { pageParams, parsePageOptions, type PageOptions } from './page-params.js';
import { LiveSubscription } from './live-subscription.js';

const canvas = document.getElementById('boxes') as HTMLCanvasElement;
const ctx = canvas.getContext('2d')!;
const parsed = parsePageOptions(pageParams(location.search, location.hash), true);

if (parsed.errors.length) {
  const p = document.createElement('pre');
  p.className = 'errors';
  p.textContent = `groundstream overlay: fix the URL (see docs/web.md)\n${parsed.errors.map((e) => `- ${e}`).join('\n')}`;
  document.body.append(p);
  canvas.dataset.state = 'invalid';
} else {
  run(parsed.options);
}

function run(o: PageOptions): void {
  const smoother = new BoxSmoother(o.smoothing);
  let queries: readonly string[] = o.queries;
  let last: DetectionsMessage | null = null;
  let shown: DrawnDetection[] = [];
  let holdTimer: ReturnType<typeof setTimeout> | undefined;

  const colorOf = (q: string) => colorFor(Math.max(0, queries.indexOf(q)), o.colors);

  const draw = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(window.innerWidth * dpr);
    const h = Math.round(window.innerHeight * dpr);
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.clearRect(0, 0, w, h);
    canvas.dataset.count = String(last ? shown.length : 0);
    if (!last) return;
    const t = fitTransform(last.frame, { width: w, height: h }, o.fit);
    drawDetections(ctx, shown, t, { colorOf, lineWidth: o.lineWidth * dpr, labelSize: o.labelSize * dpr, scores: o.scores });
  };

  const clear = () => {
    last = null;
    shown = [];
    smoother.reset();
    delete canvas.dataset.seq;
    draw();
  };

  const client = new GroundstreamClient({
    url: new URL('v1/ws', location.href).href,
    ...(o.token ? { token: o.token } : {}),
    // come back quickly after a server restart: an overlay on air has nobody to press reload
    reconnect: { initialMs: 500, maxMs: 5000 },
  });
  client.status$.subscribe((state) => {
    canvas.dataset.state = state;
    if (state !== 'open') clear();
  });
  client.errors$.subscribe((e) => console.warn('groundstream:', e.message));

  new LiveSubscription(
    client,
    { stream: o.stream!, queries: o.queries, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(o.maxRate !== undefined ? { maxRate: o.maxRate } : {}) },
    {
      subscribed: (ack) => {
        queries = ack.queries;
      },
      detections: (msg) => {
        last = msg;
        shown = smoother.update(msg.detections);
        canvas.dataset.seq = String(msg.frame.seq);
        draw();
        clearTimeout(holdTimer);
        if (o.hold > 0) holdTimer = setTimeout(clear, o.hold);
      },
      down: (reason) => {
        console.warn(`groundstream: subscription to ${o.stream} is down (${reason}); retrying`);
        clear();
      },
    },
  );
  window.addEventListener('resize', draw);
  void client.connect().catch((e: Error) => console.error('groundstream:', e.message));
  draw();
}
