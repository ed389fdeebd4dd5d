/**
 * The viewer page (/): pick a stream, type queries, and watch the video with its boxes, plus live
 * latency, rates and the stream's status. The picture is the server's viewer image of the very
 * frame each result was computed on (paired by seq in FrameSync), so boxes and picture agree;
 * frames without an image (images are rate-limited) update the numbers, not the picture.
 *
 * Pause (the button, or the space bar outside the text field) freezes the picture and its boxes;
 * the numbers keep running. For tests and tools, #stage carries `data-seq` (frame on screen),
 * `data-count` (its boxes), `data-frame-width`/`data-frame-height` (its source size) and
 * `data-paused`.
 */
import { GroundstreamClient, type DetectionsMessage, type StreamInfo } from '../client/index.js';
import { drawDetections } from './draw-boxes.js';
import { FrameSync } from './frame-sync.js';
import { LiveSubscription, onErrors } from './live-subscription.js';
import { fragmentParams, fragmentString, keptFragment, overlayUrl, pageParams, pageQuery, parsePageOptions, splitQueries, type PageQuery } from './page-params.js';
import { colorsForUrl, queryColors } from './query-colors.js';
import { RateMeter } from './rate-meter.js';

/** Viewer images asked for: width in pixels, images a second. */
const IMAGE = { maxWidth: 640, maxRate: 10 } as const;

const el = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = el<HTMLFormElement>('controls');
const streamSelect = el<HTMLSelectElement>('stream');
const queriesInput = el<HTMLInputElement>('queries');
const thresholdInput = el<HTMLInputElement>('threshold');
const thresholdValue = el<HTMLOutputElement>('threshold-value');
const stage = el<HTMLElement>('stage');
const canvas = el<HTMLCanvasElement>('picture');
const ctx = canvas.getContext('2d')!;
const message = el<HTMLElement>('message');
const legend = el<HTMLUListElement>('legend');
const overlayLink = el<HTMLAnchorElement>('overlay-link');
const stat = (name: string) => el<HTMLElement>(`stat-${name}`);

const parsed = parsePageOptions(pageParams(location.search, location.hash));
// The viewer is forgiving: a bad parameter is reported and its default used. The report stays
// (whatever else is said) until the user changes something.
const page = parsed.options;
let urlProblems = parsed.errors.length ? `Not used from the address: ${parsed.errors.join('; ')}` : '';
/** The page's look and the overlay's rate, as the address and the overlay link carry them (the
 * viewer itself takes every result: it is there to see what the model does). */
const style = {
  labelSize: page.labelSize,
  lineWidth: page.lineWidth,
  scores: page.scores,
  smoothing: page.smoothing,
  hold: page.hold,
  fit: page.fit,
  ...(page.maxRate !== undefined ? { maxRate: page.maxRate } : {}),
};

const client = new GroundstreamClient({
  url: new URL('v1/ws', location.href).href,
  ...(page.token ? { token: page.token } : {}),
  reconnect: { initialMs: 500, maxMs: 5000 },
});

let live: LiveSubscription | null = null;
let queries: readonly string[] = [];
/** The threshold asked for: the address's, else the model's (from hello), else the user's; unset
 * until one of them says (the slider's middle is made up). */
let threshold: number | undefined = page.threshold;
/** The address or the user set the threshold: only then do the address and the overlay link carry
 * it (the model's default is the server's to choose). */
let thresholdSet = page.threshold !== undefined;
let streams: readonly StreamInfo[] = [];
/** Results received, and the newest of them drawn: images decode asynchronously, so a later
 * result's picture may be ready first. Counted here, not by frame seq, which starts again from 0
 * when a server restarts, a pushing client restarts, or a replay loops. */
let arrivals = 0;
let lastDrawn = -1;
let paused = false;
let missed = 0;
const results = new RateMeter();
const shown = new RateMeter();
const sync = new FrameSync<Promise<ImageBitmap | null>>(8, (p) => void p.then((b) => b?.close()));

function say(text: string): void {
  message.textContent = [text, urlProblems].filter(Boolean).join(' · ');
}
say('');

/** The colour of a query's boxes: by the queries asked for, which the address's `color` list
 * follows (set again with each acknowledgement: the server's list merges duplicates). */
let colorOf = queryColors(page.queries, page.colors);

/** The address and the overlay link follow the settings the server acknowledged (a refused
 * query never lands in a link), styles included, each query with the colour it is drawn in. The
 * fragment keeps only the token: settings left there would win over the address on a reload.
 * `address: false`: the link only. */
function showSettings(q: PageQuery, address = true): void {
  const settings = { ...q, colors: colorsForUrl(q.queries, colorOf), style };
  if (address) history.replaceState(null, '', `?${pageQuery(settings)}${keptFragment(location.hash)}`);
  overlayLink.href = overlayUrl({ ...settings, ...(page.token ? { token: page.token } : {}) }); // the overlay must present the token too
}

// ---------------------------------------------------------------- streams and status

/** The connection was refused for good: that message stays. A missing or unknown token (close
 * code 4001) also brings up a field to type it into: it goes where the address carries it (the
 * fragment, which browsers never send to a server), and the page starts again with it. */
let refused = false;
const tokenForm = el<HTMLFormElement>('token-form');
const tokenInput = el<HTMLInputElement>('token');
onErrors(client, (text, token) => {
  refused = true;
  say(token ? `${text} Or type it here:` : text);
  if (!token) return;
  tokenForm.hidden = false;
  tokenInput.focus();
});
tokenForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = tokenInput.value.trim();
  if (!token) return;
  const fragment = fragmentParams(location.hash.slice(1)).filter(([k]) => k !== 'token');
  location.hash = fragmentString([...fragment, ['token', token]]);
  location.reload();
});
client.status$.subscribe((state) => {
  const badge = el<HTMLElement>('connection');
  badge.dataset.state = state;
  badge.textContent = state === 'open' ? 'connected' : state;
  if (state === 'open') return;
  // what the list said is no longer known: no stream is shown as live while we cannot see it
  for (const opt of Array.from(streamSelect.options)) opt.textContent = opt.value;
  streams = [];
  showStream();
  if (state !== 'closed' && live) {
    blank(); // the last picture and its numbers would look live while nothing comes
    say('Connection lost: reconnecting…');
  }
});

client.streams$.subscribe((list) => {
  streams = list;
  // the stream being watched stays selected, also when it comes back after a removal; one the
  // address names that is not there selects nothing (the message says so), not another
  const want = live?.stream ?? (streamSelect.value || page.stream || list[0]?.id || '');
  streamSelect.replaceChildren(
    ...list.map((s) => {
      const opt = document.createElement('option');
      opt.value = s.id;
      opt.textContent = `${s.id} (${s.state})`;
      return opt;
    }),
  );
  if (list.some((s) => s.id === want)) streamSelect.value = want;
  else if (want) streamSelect.selectedIndex = -1;
  showStream();
});

/** Why a stream is in its state (ffmpeg's error, "end of stream"), from its latest status. */
const details = new Map<string, string>();
client.streamStatus$.subscribe((s) => {
  if (s.detail) details.set(s.stream, s.detail);
  else details.delete(s.stream);
  showStream();
});

function showStream(): void {
  const id = live?.stream ?? streamSelect.value;
  const s = streams.find((x) => x.id === id);
  const badge = el<HTMLElement>('stream-state');
  badge.dataset.state = s?.state ?? '';
  badge.textContent = s ? s.state : id ? 'unknown' : '–';
  // the reason for anything but live, on hover and for screen readers
  const why = s && s.state !== 'live' ? details.get(s.id) : undefined;
  if (why) badge.title = why;
  else badge.removeAttribute('title');
  stat('size').textContent = s?.width && s.height ? `${s.width}×${s.height}` : '–';
}

// ---------------------------------------------------------------- subscribing

function start(): void {
  if (refused) return;
  // (the address's stream when the server lists none to this page: see connect() below)
  const stream = streamSelect.value || (streams.length ? '' : (page.stream ?? ''));
  const wanted = splitQueries(queriesInput.value);
  if (!stream) return say('No stream to watch yet.');
  if (wanted.length === 0) return say('Type something to look for, e.g. "red circle".');
  say('');
  if (live && live.stream === stream) {
    const target = live;
    live.update({ queries: wanted, ...(threshold !== undefined ? { threshold } : {}) }).catch((e: Error) => live === target && say(e.message));
    return;
  }
  live?.close();
  sync.reset();
  lastDrawn = -1;
  missed = 0;
  results.reset();
  shown.reset();
  delete stage.dataset.seq;
  stage.dataset.count = '0';
  live = new LiveSubscription(
    client,
    { stream, queries: wanted, ...(threshold !== undefined ? { threshold } : {}), image: IMAGE },
    {
      subscribed: (ack) => {
        queries = ack.queries;
        colorOf = queryColors(live?.settings.queries ?? ack.queries, page.colors);
        say('');
        renderLegend(null);
        showSettings({ stream, queries: ack.queries, ...(thresholdSet ? { threshold: ack.threshold } : {}) });
      },
      image: (frame) => {
        // copy out of the message buffer; decoding happens off the main thread
        const blob = new Blob([frame.data.slice()], { type: 'image/jpeg' });
        sync.addImage(frame.seq, createImageBitmap(blob).catch(() => null));
      },
      detections: onResult,
      missed: (m) => {
        missed += m.count;
        stat('missed').textContent = String(missed);
      },
      down: (reason) => {
        // no picture or numbers of a stream that is not coming: they would look live
        blank();
        if (!refused && client.state !== 'closed') say(`${stream}: ${reason}. Trying again…`);
      },
      refused: (error) => {
        // not tried again: the user has to change something
        blank();
        if (!refused && client.state !== 'closed') say(`${stream}: ${error.message}.`);
      },
    },
  );
  showStream();
}

/** Clears the picture, its boxes and the per-result numbers. */
function blank(): void {
  sync.reset();
  lastDrawn = ++arrivals; // images still decoding are not drawn
  dropPending();
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  delete stage.dataset.seq;
  stage.dataset.count = '0';
  for (const k of ['latency', 'infer', 'e2e']) stat(k).textContent = '–';
  renderLegend(null);
}

function onResult(msg: DetectionsMessage): void {
  const now = Date.now();
  results.tick(now);
  stat('fps').textContent = results.rate(now).toFixed(1);
  stat('latency').textContent = `${Math.round(msg.timings.total)} ms`;
  stat('infer').textContent = `${msg.timings.infer.toFixed(1)} ms`;
  const image = sync.takeImage(msg.frame.seq);
  if (!image) return;
  const order = ++arrivals;
  void image.then((bitmap) => {
    if (!bitmap) return;
    if (paused || order <= lastDrawn || live?.stream !== msg.stream) return bitmap.close();
    lastDrawn = order;
    queueDraw(bitmap, msg);
  });
}

/**
 * The newest decoded picture not drawn yet, drawn at the next animation frame: after the page
 * stalled, the pictures that decoded meanwhile come in a burst, and only the newest is worth
 * drawing (the others would replay the past).
 */
let pending: { bitmap: ImageBitmap; msg: DetectionsMessage } | null = null;
let frameRequest: number | undefined;
function queueDraw(bitmap: ImageBitmap, msg: DetectionsMessage): void {
  dropPending();
  pending = { bitmap, msg };
  frameRequest ??= requestAnimationFrame(() => {
    frameRequest = undefined;
    const next = pending;
    pending = null;
    if (!next) return;
    // paused or switched streams since it was queued: the picture on screen stays
    if (!paused && live?.stream === next.msg.stream) draw(next.bitmap, next.msg);
    next.bitmap.close();
  });
}

function dropPending(): void {
  pending?.bitmap.close();
  pending = null;
}

function draw(bitmap: ImageBitmap, msg: DetectionsMessage): void {
  if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
  }
  ctx.drawImage(bitmap, 0, 0);
  // boxes are in source pixels, the image is the source scaled down, and the page shows the image
  // at its own size: lines and labels are sized in page pixels
  const k = canvas.clientWidth > 0 ? bitmap.width / canvas.clientWidth : 1;
  drawDetections(ctx, msg.detections, { scaleX: bitmap.width / msg.frame.width, scaleY: bitmap.height / msg.frame.height, offsetX: 0, offsetY: 0 }, {
    colorOf,
    lineWidth: page.lineWidth * k,
    labelSize: page.labelSize * k,
    scores: page.scores,
  });
  stage.dataset.seq = String(msg.frame.seq);
  stage.dataset.count = String(msg.detections.length);
  stage.dataset.frameWidth = String(msg.frame.width);
  stage.dataset.frameHeight = String(msg.frame.height);
  const now = Date.now();
  shown.tick(now);
  stat('shown').textContent = shown.rate(now).toFixed(1);
  stat('e2e').textContent = `${Math.max(0, now - msg.frame.capturedAt)} ms`;
  renderLegend(msg);
}

function renderLegend(msg: DetectionsMessage | null): void {
  legend.replaceChildren(
    ...queries.map((q) => {
      const li = document.createElement('li');
      const sw = document.createElement('span');
      sw.className = 'swatch';
      sw.style.background = colorOf(q);
      const name = document.createElement('span');
      name.textContent = q;
      const n = document.createElement('span');
      n.className = 'n';
      n.textContent = msg ? String(msg.detections.filter((d) => d.query === q).length) : '';
      li.append(sw, name, n);
      return li;
    }),
  );
}

// ---------------------------------------------------------------- controls

function showThreshold(): void {
  thresholdValue.textContent = Number(thresholdInput.value).toFixed(2);
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  urlProblems = ''; // the user has taken over from the address
  start();
});
streamSelect.addEventListener('change', () => {
  urlProblems = '';
  if (live) start();
  else showStream();
});
thresholdInput.addEventListener('input', () => {
  threshold = Number(thresholdInput.value);
  thresholdSet = true;
  showThreshold();
});
const pauseButton = el<HTMLButtonElement>('pause');
function togglePause(): void {
  paused = !paused;
  pauseButton.setAttribute('aria-pressed', String(paused));
  pauseButton.textContent = paused ? 'Resume' : 'Pause';
  if (paused) stage.dataset.paused = '';
  else delete stage.dataset.paused;
}
pauseButton.addEventListener('click', togglePause);
document.addEventListener('keydown', (e) => {
  if (e.key === ' ' && !(e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLButtonElement)) {
    e.preventDefault();
    togglePause();
  }
});
thresholdInput.addEventListener('change', () => {
  // the threshold alone: text typed in the queries field waits for Enter
  urlProblems = '';
  threshold = Number(thresholdInput.value);
  thresholdSet = true;
  if (!live) return say('');
  const target = live;
  live.update({ threshold }).catch((e: Error) => live === target && say(e.message));
});

queriesInput.value = page.queries.join(', ');
client.hello$.subscribe((hello) => {
  // the model's default threshold, unless the URL or the user set one
  if (threshold === undefined) {
    threshold = hello.model.threshold;
    thresholdInput.value = String(threshold);
    showThreshold();
  }
});
if (threshold !== undefined) thresholdInput.value = String(threshold);
// (until the server says its model's default, the slider's middle would be a made-up value)
if (threshold !== undefined) showThreshold();
else thresholdValue.textContent = '–';

// Until the first Watch, the overlay link already shows what the address asks for (the address
// itself is left as it is: it may hold what the page needs on a reload).
if (page.stream) showSettings({ stream: page.stream, queries: page.queries, ...(page.threshold !== undefined ? { threshold: page.threshold } : {}) }, false);

void client
  .connect()
  .then(() => {
    if (live || !page.stream) return;
    // (a list with nothing in it may be all this token is shown, as for a token without the watch
    // right: then subscribe, and the server's answer says why)
    if (streams.length && !streams.some((s) => s.id === page.stream)) {
      // not another stream in its place: say so, and let the user pick
      const have = streams.map((s) => s.id).join(', ');
      return say(`There is no stream "${page.stream}" on this server${have ? ` (it has: ${have})` : ''}. Pick one and press Watch.`);
    }
    if (page.queries.length) start();
  })
  .catch((e: Error) => {
    if (!refused) say(e.message);
  });
setInterval(() => {
  // rates fall to zero when results stop
  const now = Date.now();
  stat('fps').textContent = results.rate(now).toFixed(1);
  stat('shown').textContent = shown.rate(now).toFixed(1);
}, 1000);
