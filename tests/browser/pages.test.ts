/**
 * The viewer and overlay pages in a real browser (Debian's Chromium via playwright-core) against a
 * real server playing a fixture clip in a loop. Pixels are checked where the clip's truth file says
 * the boxes must be, for the very frame on screen (the pages expose its seq). With
 * UPDATE_SCREENSHOTS=1 (`npm run screenshots`), a passing run refreshes the screenshots in docs/
 * (viewer.png, overlay.png); otherwise it leaves the tree alone.
 *
 * Uses the bundled model; GS_FAKE_MODEL=colour swaps in a colour-matching fake to check the pages
 * alone.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundingModel } from '../../src/model/index.js';
import type { GroundstreamServer } from '../../src/server/server.js';
import { clips, type Truth } from '../helpers/fixtures.js';
import {
  addLoopingClip,
  buildPages,
  checkerboard,
  clipFrame,
  decodePng,
  DOCS,
  isColour,
  launchChromium,
  pixel,
  reachFor,
  scaleBox,
  startServer,
  strokedEdges,
  testModel,
  truthAt,
  type Rgba,
} from './helpers/pages.js';

/** Writes a screenshot into docs/ when asked to (UPDATE_SCREENSHOTS=1); a plain run changes no tracked file. */
async function keepScreenshot(name: string, png: Buffer): Promise<void> {
  if (process.env.UPDATE_SCREENSHOTS === '1') await writeFile(join(DOCS, name), png);
}

const CLIP = clips().find((c) => c.path.includes('clip03'))!; // 640x360, one red square, two purple circles
const STREAM = 'shapes';
/** The query whose boxes are checked, drawn in a colour nothing in the clip has. */
const CHECKED = 'red square';
const LIME = [0, 255, 0];
const QUERIES = [CHECKED, 'purple circle'];

let model: GroundingModel;
let server: GroundstreamServer;
let base: string;
let webRoot: string;
let browser: Browser;

beforeAll(async () => {
  [model, webRoot, browser] = await Promise.all([testModel(), buildPages(), launchChromium()]);
  ({ server, base } = await startServer(model, webRoot));
  await addLoopingClip(base, STREAM, CLIP.path);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await model?.close();
});

const objectsOf = (truth: Truth, seq: number, query: string) => truthAt(truth, seq).filter((o) => `${o.color} ${o.shape}` === query);

/**
 * Screenshots `shoot()` while the page shows one frame: reads the frame's seq before and after,
 * and tries again when a new frame came in between. Resolves with the seq and the picture.
 */
async function steadyShot(page: Page, seqOf: () => Promise<string | null>, shoot: () => Promise<Buffer>): Promise<{ seq: number; png: Buffer }> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const before = await seqOf();
    const png = await shoot();
    const after = await seqOf();
    if (before !== null && before === after) return { seq: Number(before), png };
  }
  throw new Error('the page never held one frame long enough for a screenshot');
}

/** Polls `check` on steady screenshots until it passes (the detector may miss a frame now and then). */
async function eventually<T>(tries: number, attempt: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      return await attempt();
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw last;
}

function expectBoxDrawn(img: Rgba, box: readonly number[], label: string): void {
  const edges = strokedEdges(img, box, LIME, reachFor(box));
  expect(edges.sort(), `${label}: box edges drawn around truth ${box.map(Math.round).join(',')}`).toEqual(['bottom', 'left', 'right', 'top']);
  // a box, not a blob: nothing drawn through the object's middle
  expect(isColour(pixel(img, (box[0]! + box[2]!) / 2, (box[1]! + box[3]!) / 2), LIME), `${label}: centre of the box is not stroked`).toBe(false);
}

describe('viewer page', () => {
  it('shows the stream with boxes drawn where the truth says, on the frame they belong to', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/?color=00ff00`);
    await page.waitForSelector(`#stream option[value="${STREAM}"]`, { state: 'attached' });
    await page.selectOption('#stream', STREAM);
    await page.fill('#queries', QUERIES.join(', '));
    await page.press('#queries', 'Enter');
    // the first boxes drawn on a picture
    await page.waitForFunction(() => Number(document.getElementById('stage')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });

    const stage = page.locator('#stage');
    const canvas = page.locator('#picture');
    await eventually(20, async () => {
      // freeze the picture (the viewer's Pause), check it, and let it run again if the check fails
      if ((await page.getAttribute('#pause', 'aria-pressed')) === 'true') await page.click('#pause');
      await page.waitForTimeout(250);
      await page.click('#pause');
      const shot = await steadyShot(page, () => stage.getAttribute('data-seq'), () => canvas.screenshot());
      const img = await decodePng(shot.png);
      const scale = img.width / CLIP.truth.width;
      const targets = objectsOf(CLIP.truth, shot.seq, CHECKED);
      expect(targets.length).toBe(1);
      const box = scaleBox(targets[0]!.box, scale);
      // the picture is the frame the boxes belong to: the red square is under its truth box
      const [r, g, b] = pixel(img, (box[0]! + box[2]!) / 2, (box[1]! + box[3]!) / 2);
      expect(r > 150 && g < 100 && b < 100, `red square at the centre of its truth box in frame ${shot.seq}, got rgb(${r},${g},${b})`).toBe(true);
      expectBoxDrawn(img, box, `viewer frame ${shot.seq}`);
    });
    expect(Number(await stage.getAttribute('data-frame-width'))).toBe(CLIP.truth.width);

    // live numbers and the stream's status
    await page.waitForFunction(() => Number(document.getElementById('stat-fps')?.textContent) > 0);
    expect(await page.textContent('#stat-latency')).toMatch(/^\d+ ms$/);
    expect(await page.textContent('#stream-state')).toBe('live');
    expect(await page.getAttribute('#connection', 'data-state')).toBe('open');
    expect(await page.locator('#legend li').count()).toBe(2);
    expect(errors).toEqual([]);

    await keepScreenshot('viewer.png', await page.screenshot());
    await page.close();
  });

  it('keeps to what the address asks: no other stream for a missing one, bad parameters reported, the look kept, refused queries left out', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const text = () => page.textContent('#message');
    await page.goto(`${base}/?stream=nosuch&q=red+square&threshold=7`);
    await page.waitForFunction(() => /no stream "nosuch"/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await text()).toMatch(new RegExp(`it has: [^)]*${STREAM}.*threshold must be a number in \\[0, 1\\]`));
    expect(new URL(page.url()).searchParams.get('stream')).toBe('nosuch'); // not swapped for another
    expect(await page.getAttribute('#stage', 'data-seq')).toBeNull(); // and nothing watched
    expect([await page.inputValue('#stream'), await page.textContent('#stream-state')]).toEqual(['', '–']); // nor shown as chosen

    // the query in the fragment, where + is a space as in the query string
    await page.goto(`${base}/?stream=${STREAM}&labelSize=28&scores=0&fit=cover&maxRate=4#q=red+square`);
    await page.waitForFunction(() => Number(document.getElementById('stage')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    const address = () => new URL(page.url()).searchParams;
    expect([address().get('labelSize'), address().get('scores'), address().get('fit'), address().getAll('q')]).toEqual(['28', '0', 'cover', ['red square']]);
    expect(new URL(page.url()).hash).toBe(''); // moved to the query string, where a reload reads it
    // the overlay link carries the rate, and no threshold: none was given, the model's default is the server's
    const link = new URL((await page.getAttribute('#overlay-link', 'href'))!, base).searchParams;
    expect([link.get('maxRate'), link.get('threshold'), link.getAll('q')]).toEqual(['4', null, ['red square']]);
    await page.fill('#queries', 'x'.repeat(300));
    await page.press('#queries', 'Enter');
    await page.waitForFunction(() => /256/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(address().getAll('q')).toEqual(['red square']);
    expect(await page.getAttribute('#overlay-link', 'href')).toContain('q=red+square');
    await page.close();
  });

  it('clears a stream that is removed while watched, says so, and picks it up again when it is back', async () => {
    await addLoopingClip(base, 'brief', CLIP.path);
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/?stream=brief&q=red+square`);
    await page.waitForFunction(() => Number(document.getElementById('stage')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    await fetch(`${base}/v1/streams/brief`, { method: 'DELETE' });
    await page.waitForFunction(() => /brief: the stream was removed from the server/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(await page.getAttribute('#stage', 'data-seq')).toBeNull(); // no picture left that looks live
    expect(await page.textContent('#stat-latency')).toBe('–');
    expect(await page.locator('#stream option[value="brief"]').count()).toBe(0); // gone from the list
    await addLoopingClip(base, 'brief', CLIP.path);
    await page.waitForFunction(() => Number(document.getElementById('stage')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    expect(await page.inputValue('#stream')).toBe('brief');
    await fetch(`${base}/v1/streams/brief`, { method: 'DELETE' });
    await page.close();
  });
});

describe('overlay page', () => {
  // smoothing off: boxes are exactly the detections of the frame in data-seq; a low rate keeps a
  // frame on screen long enough for a steady screenshot. The checked query comes third, after a
  // duplicate the server merges: its colour is the URL's third (it is second in the server's list).
  const url = () =>
    `${base}/overlay?stream=${STREAM}&q=purple+circle&q=Purple+Circle&q=${encodeURIComponent(CHECKED)}&color=ff3d9a&color=2ee6ff&color=00ff00&smoothing=0&hold=5000&maxRate=3`;
  let page: Page;

  beforeAll(async () => {
    // the viewport is the clip's size, so (fit=contain) source pixels are page pixels
    page = await browser.newPage({ viewport: { width: CLIP.truth.width, height: CLIP.truth.height } });
  });

  afterAll(async () => {
    await page?.close();
  });

  const seqOf = () => page.getAttribute('#boxes', 'data-seq');

  it('draws boxes where the truth says, on a transparent background', async () => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url());
    await page.waitForFunction(() => Number(document.getElementById('boxes')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });

    const { seq, png } = await eventually(30, async () => {
      const shot = await steadyShot(page, seqOf, () => page.screenshot({ omitBackground: true }));
      const img = await decodePng(shot.png);
      expect([img.width, img.height]).toEqual([CLIP.truth.width, CLIP.truth.height]);
      const targets = objectsOf(CLIP.truth, shot.seq, CHECKED);
      expect(targets.length).toBe(1);
      const box = targets[0]!.box;
      expectBoxDrawn(img, box, `overlay frame ${shot.seq}`);
      // transparent inside the box and away from every drawn query's objects
      expect(pixel(img, (box[0] + box[2]) / 2, (box[1] + box[3]) / 2)[3]).toBe(0);
      const drawn = truthAt(CLIP.truth, shot.seq).filter((o) => QUERIES.includes(`${o.color} ${o.shape}`));
      const away: [number, number][] = [];
      for (let y = 4; y < img.height; y += 16) {
        for (let x = 4; x < img.width; x += 16) {
          const near = drawn.some((o) => x > o.box[0] - 30 && x < o.box[2] + 30 && y > o.box[1] - 40 && y < o.box[3] + 30);
          if (!near) away.push([x, y]);
        }
      }
      const clear = away.filter(([x, y]) => pixel(img, x, y)[3] === 0).length;
      // (not 1: a false detection elsewhere draws a box there, which is fine for this check)
      expect(clear / away.length, 'share of the background far from the objects that is fully transparent').toBeGreaterThan(0.9);
      return shot;
    });
    const img = await decodePng(png);
    let transparent = 0;
    for (let i = 3; i < img.data.length; i += 4) if (img.data[i] === 0) transparent++;
    expect(transparent / (img.width * img.height), "share of the page fully transparent").toBeGreaterThan(0.8);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgba(0, 0, 0, 0)');
    expect(errors).toEqual([]);

    // docs: the overlay alone (on a checkerboard, where transparency shows) and over its video frame
    const frame = clipFrame(CLIP.path, seq % CLIP.truth.frames.length);
    const { width: w, height: h } = img;
    const doc = await sharp({ create: { width: 2 * w + 16, height: h, channels: 4, background: '#111418' } })
      .composite([
        { input: await checkerboard(w, h), left: 0, top: 0 },
        { input: png, left: 0, top: 0 },
        { input: frame, left: w + 16, top: 0 },
        { input: png, left: w + 16, top: 0 },
      ])
      .png()
      .toBuffer();
    await keepScreenshot('overlay.png', doc);
  });

  it('shows what is wrong with a broken URL instead of boxes', async () => {
    const bad = await browser.newPage({ viewport: { width: 640, height: 360 } });
    await bad.goto(`${base}/overlay?q=red+square&threshold=7&color=blorb&treshold=0.5`);
    const text = await bad.textContent('.errors');
    expect(text).toContain('stream is required');
    expect(text).toContain('unknown parameter "treshold" (did you mean threshold?)');
    expect(text).toContain('threshold must be a number in [0, 1]');
    expect(text).toContain('color "blorb" is not a colour'); // a typo, not a name CSS knows
    expect(await bad.getAttribute('#boxes', 'data-state')).toBe('invalid');
    await bad.close();
  });

  it("says that a query over the server's limits will never be taken, and does not try again", async () => {
    const p = await browser.newPage({ viewport: { width: 640, height: 360 } });
    const sent: string[] = [];
    p.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && sent.push(f.payload)));
    await p.goto(`${base}/overlay?stream=${STREAM}&q=red+square&q=${'x'.repeat(257)}`);
    await p.waitForSelector('.errors:not([hidden])', { timeout: 20_000 });
    expect(await p.textContent('.errors:not([hidden])')).toMatch(/cannot watch stream "shapes": query is too long: "x{40}…" is 257 characters long; this server takes at most 256\. .*will not be tried again/);
    await p.waitForTimeout(2500); // past the 2 s retry
    expect(sent.filter((m) => m.includes('"subscribe"'))).toEqual([]);
    await p.close();
  });

  it('after the page stalled, draws the newest result once, not every result that waited', async () => {
    const p = await browser.newPage({ viewport: { width: 640, height: 360 } });
    // when each result reached the page (the overlay's own socket)
    await p.addInitScript(() => {
      const w = window as unknown as { arrivals: number[] };
      w.arrivals = [];
      const Native = WebSocket;
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          this.addEventListener('message', (e) => typeof e.data === 'string' && e.data.includes('"type":"detections"') && w.arrivals.push(performance.now()));
        }
      };
    });
    await p.goto(`${base}/overlay?stream=${STREAM}&q=red+square&smoothing=0`); // every result
    await p.waitForFunction(() => Number(document.getElementById('boxes')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    const burst = await p.evaluate(async () => {
      const draws: number[] = [];
      new MutationObserver(() => draws.push(performance.now())).observe(document.getElementById('boxes')!, { attributes: true, attributeFilter: ['data-seq'] });
      const until = performance.now() + 3000;
      while (performance.now() < until); // the main thread stalls, as in a busy OBS
      const end = performance.now();
      await new Promise((r) => setTimeout(r, 1000));
      // the backlog comes in the first few tens of ms, then results at the stream's pace
      const after = (ts: number[]) => ts.filter((t) => t >= end && t < end + 200).length;
      return { arrivals: after((window as unknown as { arrivals: number[] }).arrivals), draws: after(draws) };
    });
    expect(burst.arrivals, 'results that came just after the stall').toBeGreaterThan(8);
    // drawn one by one, there would be as many draws as results
    expect(burst.draws, `draws just after the stall, for ${burst.arrivals} results`).toBeLessThanOrEqual(burst.arrivals / 2);
    await p.close();
  });

  it('says when the stream it names is not there (a typo, or not open yet), and clears that once boxes come', async () => {
    const p = await browser.newPage({ viewport: { width: 640, height: 360 } });
    await p.goto(`${base}/overlay?stream=later&q=red+square`);
    await p.waitForSelector('.errors:not([hidden])', { timeout: 20_000 });
    expect(await p.textContent('.errors:not([hidden])')).toMatch(/cannot watch stream "later": .*Is the stream id right\?/);
    await addLoopingClip(base, 'later', CLIP.path);
    await p.waitForFunction(() => Number(document.getElementById('boxes')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    expect(await p.isHidden('.errors')).toBe(true);
    await fetch(`${base}/v1/streams/later`, { method: 'DELETE' });
    await p.close();
  });

  it('says so when the server refuses the connection, on both pages, with how to give the token; the viewer takes it in a field', async () => {
    const locked = await startServer(model, webRoot, 0, {
      tokens: [
        { token: 'browser-test-token-0123', rights: ['watch'] },
        { token: 'push-only-token-0123456', rights: ['push'] },
        { token: 'k9+Zp/Qe7rT2+xYw==base64', rights: ['watch'] },
      ],
      requireAuth: true,
      streams: [{ id: STREAM, source: CLIP.path, loop: true }],
    });
    try {
      for (const [fragment, says] of [
        ['', /close code 4001 \(a token is required\)\. Give the server's token at the end of the address: #token=YOUR_TOKEN/],
        ['#token=wrong-token-0123456789', /close code 4001 \(unknown token\)\. The token at the end of the address \(#token=…\) is not one this server knows/],
      ] as const) {
        const o = await browser.newPage({ viewport: { width: 640, height: 360 } }); // (a new page: a changed fragment alone loads nothing)
        await o.goto(`${locked.base}/overlay?stream=${STREAM}&q=red+square${fragment}`);
        await o.waitForSelector('.errors:not([hidden])', { timeout: 20_000 });
        const text = await o.textContent('.errors:not([hidden])');
        expect(text).toMatch(says);
        expect(text).not.toMatch(/refused the connection.*refused the connection/);
        expect(await o.getAttribute('#boxes', 'data-state')).toBe('closed');
        await o.close();
      }
      // a base64 token pasted into the fragment as it is: its + signs are plus signs
      const b64 = await browser.newPage({ viewport: { width: 640, height: 360 } });
      await b64.goto(`${locked.base}/overlay?stream=${STREAM}&q=red+square#token=k9+Zp/Qe7rT2+xYw==base64`);
      await b64.waitForFunction(() => document.getElementById('boxes')?.dataset.state === 'open', undefined, { timeout: 20_000 });
      await b64.waitForFunction(() => document.getElementById('boxes')?.dataset.seq !== undefined, undefined, { timeout: 120_000, polling: 100 });
      await b64.close();
      const p = await browser.newPage({ viewport: { width: 640, height: 360 } });
      await p.goto(`${locked.base}/?stream=${STREAM}&q=red+square`);
      await p.waitForFunction(() => /refused the connection/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 20_000 });
      expect(await p.textContent('#message')).toMatch(/close code 4001.*#token=YOUR_TOKEN.*Or type it here:/);
      // the viewer takes the token in a field: a wrong one is refused as unknown, the right one connects
      for (const [token, connects] of [['not-the-token-0123', false], ['browser-test-token-0123', true]] as const) {
        await p.waitForSelector('#token-form:not([hidden])', { timeout: 20_000 });
        await p.fill('#token', token);
        await p.click('#token-form button[type=submit]');
        if (!connects) {
          await p.waitForFunction(() => /unknown token/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 20_000 });
          continue;
        }
        await p.waitForFunction(() => Number(document.getElementById('stage')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
      }
      expect(await p.getAttribute('#connection', 'data-state')).toBe('open');
      expect(await p.isHidden('#token-form')).toBe(true);
      expect(await p.textContent('#message')).not.toMatch(/refused/);
      expect(new URL(p.url()).hash).toBe('#token=browser-test-token-0123'); // in the fragment, never sent to the server
      await p.close();
      // a token that may push but not watch is shown no streams: the page says why, not "no such stream"
      const q = await browser.newPage({ viewport: { width: 640, height: 360 } });
      await q.goto(`${locked.base}/?stream=${STREAM}&q=red+square#token=push-only-token-0123456`);
      await q.waitForFunction(() => /lacks the "watch" right/.test(document.getElementById('message')?.textContent ?? ''), undefined, { timeout: 20_000 });
      expect(await q.textContent('#message')).not.toMatch(/There is no stream/);
      await q.close();
    } finally {
      await locked.server.close();
    }
  });

  it('comes back by itself after the server restarts', async () => {
    const port = Number(new URL(base).port);
    // every notice the page shows from here on (there should be none: it is on air)
    await page.evaluate(() => {
      const w = window as unknown as { notices: string[] };
      const boxes = document.getElementById('boxes')!;
      w.notices = [];
      new MutationObserver(() => boxes.dataset.notice && w.notices.push(boxes.dataset.notice)).observe(boxes, { attributes: true, attributeFilter: ['data-notice'] });
    });
    await server.close();
    await page.waitForFunction(() => document.getElementById('boxes')?.dataset.state !== 'open', undefined, { timeout: 20_000 });
    expect(await page.getAttribute('#boxes', 'data-count')).toBe('0');
    // the stream is added only once the page has been refused it on the new server, as after a
    // real restart whose streams open a moment after it listens
    const refused = page.waitForEvent('console', { predicate: (m) => /subscription to shapes is down .*no such stream|PROTOCOL_STREAM_UNKNOWN|unknown stream/i.test(m.text()), timeout: 60_000 });
    ({ server, base } = await startServer(model, webRoot, port));
    await refused;
    await addLoopingClip(base, STREAM, CLIP.path);
    await page.waitForFunction(() => Number(document.getElementById('boxes')?.dataset.count) > 0, undefined, { timeout: 120_000, polling: 100 });
    expect(await page.getAttribute('#boxes', 'data-state')).toBe('open');
    // on air, the outage (and the stream missing until it was added again) showed nothing
    expect(await page.evaluate(() => (window as unknown as { notices: string[] }).notices)).toEqual([]);
  });
});
