/** Draws labelled boxes on an image (sharp + an SVG overlay) for `detect --annotate`. */
import sharp from 'sharp';
import type { Detection } from '../domain/types.js';

const PALETTE = ['#00e676', '#ff1744', '#2979ff', '#ffea00', '#d500f9', '#ff9100', '#00e5ff', '#ffffff'];

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Colour for a query: stable across frames and images, by first appearance in `queries`. */
export function queryColor(query: string, queries: readonly string[]): string {
  const i = Math.max(0, queries.indexOf(query));
  return PALETTE[i % PALETTE.length]!;
}

export function overlaySvg(width: number, height: number, detections: readonly Detection[], queries: readonly string[]): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 240));
  const font = Math.max(11, Math.round(Math.min(width, height) / 36));
  const parts = detections.map((d) => {
    const [x1, y1, x2, y2] = d.box;
    const c = queryColor(d.query, queries);
    const label = escapeXml(`${d.query} ${d.score.toFixed(2)}`);
    const ty = y1 - font * 1.3 >= 0 ? y1 - font * 1.3 : y1;
    const tw = Math.round(label.length * font * 0.6 + 8);
    return (
      `<rect x="${x1}" y="${y1}" width="${x2 - x1}" height="${y2 - y1}" fill="none" stroke="${c}" stroke-width="${stroke}"/>` +
      `<rect x="${x1}" y="${ty}" width="${tw}" height="${font * 1.3}" fill="${c}"/>` +
      `<text x="${x1 + 4}" y="${ty + font}" font-family="sans-serif" font-size="${font}" fill="#000">${label}</text>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Writes `input` (encoded image bytes) with the detections drawn on it to `outPath` (format by extension). */
export async function annotate(input: Uint8Array, detections: readonly Detection[], queries: readonly string[], outPath: string): Promise<void> {
  const base = sharp(input).rotate();
  const { width, height } = await base.clone().toBuffer({ resolveWithObject: true }).then((r) => r.info);
  await base.composite([{ input: Buffer.from(overlaySvg(width, height, detections, queries)), top: 0, left: 0 }]).toFile(outPath);
}
