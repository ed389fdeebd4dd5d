import type { Box } from './types.js';

/** Area of a box; 0 for an empty or inverted one. */
export function area(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}

/** Intersection over union of two boxes; 0 when both are empty. */
export function iou(a: Box, b: Box): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Clip a box to [0, width] x [0, height]. */
export function clipBox(b: Box, width: number, height: number): Box {
  return [
    Math.min(Math.max(b[0], 0), width),
    Math.min(Math.max(b[1], 0), height),
    Math.min(Math.max(b[2], 0), width),
    Math.min(Math.max(b[3], 0), height),
  ];
}

/**
 * Greedy non-maximum suppression: keeps the highest-scoring item, drops every other whose box
 * overlaps it by more than `iouThreshold`, and repeats. Returns the kept items, best first.
 */
export function nms<T extends { score: number; box: Box }>(items: readonly T[], iouThreshold: number, limit = Infinity): T[] {
  const sorted = [...items].sort((a, b) => b.score - a.score);
  const kept: T[] = [];
  for (const it of sorted) {
    if (kept.length >= limit) break; // (the rest score lower: the first `limit` kept are the same)
    if (kept.every((k) => iou(k.box, it.box) <= iouThreshold)) kept.push(it);
  }
  return kept;
}
