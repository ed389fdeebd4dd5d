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
import { drawDetections } from './draw-boxes.js';
import { fitTransform } from './fit.js';
import { pageParams, parsePageOptions, type PageOptions } from './page-params.js';
import { LiveSubscription, onErrors } from './live-subscription.js';
import { queryColors } from './query-colors.js';

const canvas = document.getElementById('boxes') as HTMLCanvasElement;
const ctx = canvas.getContext('2d')!;
const parsed = parsePageOptions(pageParams(location.search, location.hash), true);

if (parsed.ignored.length) console.warn(`groundstream overlay: not used from the URL: ${parsed.ignored.join(', ')}`);
if (parsed.errors.length) {
  const p = document.createElement('pre');
  p.className = 'errors';
  p.textContent = `groundstream overlay: fix the URL (see docs/web.md)\n${parsed.errors.map((e) => `- ${e}`).join('\n')}`;
  document.body.append(p);
  canvas.dataset.state = 'invalid';
} else {
  run(parsed.options);
}

/**
 * What only the person setting the overlay up can fix, shown on the page: a connection or a
 * subscription the server refused for good (a token; a query over the server's limits), or a
 * subscription refused before it ever worked (a mistyped stream). Once boxes have come, a later
 * outage (a server restart) stays invisible: the overlay is on air by then, and it comes back by
 * itself.
 */
function noticeBoard(): (text: string | null) => void {
  const board = document.createElement('pre');
  board.className = 'errors';
  board.hidden = true;
  document.body.append(board);
  return (text) => {
    board.hidden = !text;
    board.textContent = text ? `groundstream overlay: ${text}` : '';
    if (text) canvas.dataset.notice = text;
    else delete canvas.dataset.notice;
  };
}

function run(o: PageOptions): void {
  const notice = noticeBoard();
  /** Results have come: the overlay is on air, and outages stay off the picture. */
  let worked = false;
  /** The connection, or the subscription, was refused for good: that notice stays. */
  let refused = false;
  const smoother = new BoxSmoother(o.smoothing);
  let last: DetectionsMessage | null = null;
  let shown: DrawnDetection[] = [];
  let holdTimer: ReturnType<typeof setTimeout> | undefined;
  /** The newest result not drawn yet, and the animation frame that will draw it (see show()). */
  let pending: DetectionsMessage | null = null;
  let frameRequest: number | undefined;

  // by the URL's queries, which `color` follows (the server's list merges duplicates)
  const colorOf = queryColors(o.queries, o.colors);

  /** The canvas holds no box (cleared, or only empty results since): an empty result changes
   * nothing on it, and is not drawn (a 1080p clear at 30 results a second costs the browser). */
  let blank = true;
  const draw = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.round(window.innerWidth * dpr);
    const h = Math.round(window.innerHeight * dpr);
    const resized = canvas.width !== w || canvas.height !== h;
    if (resized) {
      canvas.width = w;
      canvas.height = h;
    }
    const count = last ? shown.length : 0;
    if (blank && count === 0 && !resized) {
      canvas.dataset.count = '0';
      return;
    }
    blank = count === 0;
    ctx.clearRect(0, 0, w, h);
    canvas.dataset.count = String(last ? shown.length : 0);
    if (!last) return;
    const t = fitTransform(last.frame, { width: w, height: h }, o.fit);
    drawDetections(ctx, shown, t, { colorOf, lineWidth: o.lineWidth * dpr, labelSize: o.labelSize * dpr, scores: o.scores });
  };

  const clear = () => {
    last = null;
    shown = [];
    pending = null;
    smoother.reset();
    delete canvas.dataset.seq;
    draw();
  };

  /**
   * Draws the newest result once per animation frame. Results that came in between are skipped,
   * not smoothed or drawn: after the page stalled (a busy OBS, a throttled tab) the backlog arrives
   * in a burst, and drawing each of it would only replay the past. The smoother weighs the time
   * between the results it sees, so skipping some changes nothing about how smooth boxes are.
   */
  const show = (msg: DetectionsMessage) => {
    pending = msg;
    frameRequest ??= requestAnimationFrame(() => {
      frameRequest = undefined;
      const next = pending;
      pending = null;
      if (!next) return; // cleared meanwhile
      last = next;
      shown = smoother.update(next.detections, next.frame);
      canvas.dataset.seq = String(next.frame.seq);
      draw();
    });
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
  onErrors(client, (text) => {
    // nothing will come back: say why, whether it had worked before or not
    refused = true;
    notice(text);
  });
  // A stream that is there but whose source delivers nothing yet: worth a word before it ever worked.
  client.streams$.subscribe((list) => {
    const s = list.find((x) => x.id === o.stream);
    if (worked || refused || !s) return;
    if (s.state === 'reconnecting' || s.state === 'stalled' || s.state === 'failed' || s.state === 'ended') {
      notice(`stream "${o.stream}" is ${s.state}: its source delivers no frames, so there is nothing to draw yet.`);
    }
  });

  new LiveSubscription(
    client,
    { stream: o.stream!, queries: o.queries, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}), ...(o.maxRate !== undefined ? { maxRate: o.maxRate } : {}) },
    {
      detections: (msg) => {
        if (!worked && !refused) notice(null);
        worked = true;
        show(msg);
        clearTimeout(holdTimer);
        // at a low maxRate, results come further apart than the hold: it stretches to cover the gap
        if (o.hold > 0) holdTimer = setTimeout(clear, o.maxRate ? Math.max(o.hold, 1500 / o.maxRate) : o.hold);
      },
      down: (reason, error) => {
        console.warn(`groundstream: subscription to ${o.stream} is down (${reason}); retrying`);
        clear();
        if (worked || refused || client.state === 'closed') return;
        const code = (error as { code?: string } | undefined)?.code;
        const hint = code === 'PROTOCOL_STREAM_UNKNOWN' ? ' Is the stream id right? (Trying again every 2 s: it may not be open yet.)' : ' (Trying again every 2 s.)';
        notice(`cannot watch stream "${o.stream}": ${reason}.${hint}`);
      },
      refused: (error) => {
        // waiting will not mend it: say so even on air, as for a refused connection
        console.warn(`groundstream: subscription to ${o.stream} refused: ${error.message}`);
        clear();
        if (client.state === 'closed') return;
        refused = true;
        notice(`cannot watch stream "${o.stream}": ${error.message}. Fix the URL (docs/web.md); this will not be tried again.`);
      },
    },
  );
  window.addEventListener('resize', draw);
  void client.connect().catch((e: Error) => console.error('groundstream:', e.message));
  draw();
}
