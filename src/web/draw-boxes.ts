/** Draws labelled boxes on a 2D canvas: the one drawing routine both pages use. */
import type { DrawnDetection } from './box-smoother.js';
import type { Transform } from './fit.js';
import { placeLabels, type LabelRequest } from './label-layout.js';

/** Default box colours, in query order; picked to stand out on video and to differ from each other. */
export const PALETTE: readonly string[] = Object.freeze(['#00e676', '#ff3d9a', '#2ee6ff', '#ffd600', '#b388ff', '#ff6e40', '#c6ff00', '#ffffff']);

/** The colour of the `index`-th query: the page's `color` list first, then the palette. */
export function colorFor(index: number, colors: readonly string[] = []): string {
  return colors[index] ?? PALETTE[index % PALETTE.length]!;
}

export interface BoxStyle {
  /** Colour of a detection's query. */
  colorOf(query: string): string;
  /** Line width, in canvas pixels. */
  lineWidth: number;
  /** Label text size in canvas pixels; 0 draws no labels. */
  labelSize: number;
  /** Put the score (percent) in the label. */
  scores: boolean;
}

/** Black or white, whichever reads better on `color` (a colour the canvas already normalised). */
function textColorOn(ctx: CanvasRenderingContext2D, color: string): string {
  ctx.fillStyle = color;
  const hex = String(ctx.fillStyle); // canvases normalise opaque colours to #rrggbb
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#000';
  const [r, g, b] = [m[1], m[2], m[3]].map((h) => parseInt(h!, 16));
  return 0.299 * r! + 0.587 * g! + 0.114 * b! > 140 ? '#000' : '#fff';
}

export function labelOf(d: DrawnDetection, scores: boolean): string {
  const track = d.trackId !== undefined ? ` #${d.trackId}` : '';
  const score = scores ? ` ${Math.round(d.score * 100)}%` : '';
  return `${d.query}${track}${score}`;
}

/** Draws `detections` (boxes in source pixels) through `t` onto `ctx`. Does not clear. */
export function drawDetections(ctx: CanvasRenderingContext2D, detections: readonly DrawnDetection[], t: Transform, style: BoxStyle): void {
  ctx.save();
  ctx.lineJoin = 'miter';
  ctx.textBaseline = 'top';
  if (style.labelSize > 0) ctx.font = `600 ${style.labelSize}px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif`;
  const corners = (d: DrawnDetection) =>
    [d.box[0] * t.scaleX + t.offsetX, d.box[1] * t.scaleY + t.offsetY, d.box[2] * t.scaleX + t.offsetX, d.box[3] * t.scaleY + t.offsetY] as const;
  // Every box first, then every label: a label drawn before a neighbour's box would be crossed by it.
  ctx.lineWidth = style.lineWidth;
  for (const d of detections) {
    const [x1, y1, x2, y2] = corners(d);
    ctx.strokeStyle = style.colorOf(d.query);
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
  }
  if (style.labelSize <= 0) return ctx.restore();
  const pad = Math.max(2, Math.round(style.labelSize / 4));
  const labels: { d: DrawnDetection; text: string; key: string | undefined; request: LabelRequest }[] = [];
  for (const d of detections) {
    const [x1, y1, x2, y2] = corners(d);
    // a box wholly off the canvas (fit=cover crops the frame): no label pinned to the edge for it
    if (x2 < 0 || y2 < 0 || x1 > ctx.canvas.width || y1 > ctx.canvas.height) continue;
    const text = labelOf(d, style.scores);
    // a tracked object's label keeps last frame's spot while it is free
    const key = d.trackId === undefined ? undefined : `${d.query}\0${d.trackId}`;
    const prefer = key === undefined ? undefined : lastSpot.get(key);
    labels.push({ d, text, key, request: { x1, y1, x2, y2, w: ctx.measureText(text).width + 2 * pad, h: style.labelSize + 2 * pad, prefer } });
  }
  // above each box where there is room, else inside or below it, clear of the labels placed before
  const spots = placeLabels(labels.map((l) => l.request), ctx.canvas.width, ctx.canvas.height, style.lineWidth);
  const seen = new Map<string, number>();
  labels.forEach(({ d, text, key }, i) => {
    const { x, y, w, h, spot } = spots[i]!;
    if (key !== undefined) seen.set(key, spot);
    const color = style.colorOf(d.query);
    ctx.fillStyle = color;
    ctx.fillRect(x, y, w, h);
    ctx.fillStyle = textColorOn(ctx, color);
    ctx.fillText(text, x + pad, y + pad);
  });
  lastSpot = seen;
  ctx.restore();
}

/** The spot each tracked object's label had on the last frame drawn (one canvas a page). */
let lastSpot = new Map<string, number>();
