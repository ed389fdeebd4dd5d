/**
 * Line charts as PNG without a browser: an SVG string (axes, medians joined by lines, the spread
 * over runs as whiskers) rendered by sharp (librsvg).
 */
import sharp from 'sharp';
import type { Chart } from './step.js';

const W = 760;
const H = 420;
const M = { left: 70, right: 200, top: 44, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** 4 to 7 round ticks covering [lo, hi]. */
function niceTicks(lo: number, hi: number): number[] {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (hi - lo) / s <= 6)!;
  const out: number[] = [];
  // The last tick is the first at or above `hi`, so that nothing is drawn above the axis.
  for (let v = Math.floor(lo / step) * step; ; v += step) {
    out.push(Number(v.toPrecision(12)));
    if (v >= hi - step * 1e-9) break;
  }
  return out;
}

const label = (v: number) => (Math.abs(v) >= 1000 ? `${v / 1000}k` : String(Number(v.toPrecision(4))));

export function chartSvg(chart: Chart): string {
  const pts = chart.series.flatMap((s) => s.points);
  const xs = pts.map((p) => p.x);
  const ys = pts.flatMap((p) => [p.y, p.hi ?? p.y]).filter(Number.isFinite);
  const fx = chart.logX ? Math.log10 : (v: number) => v;
  // 4% of the range on each side, so that end points sit off the axes.
  const pad = (fx(Math.max(...xs)) - fx(Math.min(...xs))) * 0.04;
  const x0 = fx(Math.min(...xs)) - pad;
  const x1 = fx(Math.max(...xs)) + pad;
  const yTicks = niceTicks(0, Math.max(...ys, 0) * 1.05);
  const yMax = yTicks.at(-1)!;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const px = (v: number) => M.left + (x1 === x0 ? pw / 2 : ((fx(v) - x0) / (x1 - x0)) * pw);
  const py = (v: number) => M.top + ph - (v / yMax) * ph;
  const xTicks = chart.logX ? [...new Set(xs)].sort((a, b) => a - b) : niceTicks(Math.min(...xs), Math.max(...xs)).filter((v) => v >= Math.min(...xs) && v <= Math.max(...xs));

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - M.right / 2 + M.left / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(chart.title)}</text>`,
  ];
  for (const t of yTicks) {
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${py(t)}" y2="${py(t)}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 8}" y="${py(t) + 4}" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of xTicks) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333"/>`);
    parts.push(`<text x="${px(t)}" y="${M.top + ph + 19}" text-anchor="middle">${label(t)}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333"/>`);

  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(chart.xLabel)}${chart.logX ? ' (log scale)' : ''}</text>`);
  parts.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`);

  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const sorted = [...s.points].filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
    const d = sorted.map((p, j) => `${j ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const p of sorted) {
      if (p.lo !== undefined && p.hi !== undefined && Number.isFinite(p.lo) && Number.isFinite(p.hi)) {
        const x = px(p.x);
        parts.push(`<path d="M${x},${py(p.lo)} L${x},${py(p.hi)} M${x - 4},${py(p.lo)} L${x + 4},${py(p.lo)} M${x - 4},${py(p.hi)} L${x + 4},${py(p.hi)}" stroke="${color}" stroke-width="1.2"/>`);
      }
      parts.push(`<circle cx="${px(p.x)}" cy="${py(p.y)}" r="3.5" fill="${color}"/>`);
    }
    const ly = M.top + 10 + i * 22;
    const lx = W - M.right + 16;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 30}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push(`<text x="${W - M.right + 16}" y="${M.top + 10 + chart.series.length * 22 + 6}" fill="#666" font-size="11">dots: median, bars: min–max</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

export async function renderChart(chart: Chart, file: string): Promise<void> {
  await sharp(Buffer.from(chartSvg(chart))).png().toFile(file);
}
