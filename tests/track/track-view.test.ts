import { describe, expect, it } from 'vitest';
import type { TrackedDetection } from '../../src/track/stream-tracker.js';
import { TrackView } from '../../src/track/track-view.js';

const d = (trackId: number | undefined, x = 0): TrackedDetection => ({
  query: 'star',
  score: 0.8,
  box: [x, 0, x + 10, 10],
  ...(trackId !== undefined ? { trackId } : {}),
  smoothed: { box: [x + 1, 1, x + 11, 11], score: 0.7 },
});

describe('TrackView', () => {
  it('marks a track new the first time this subscriber sees it, updated after', () => {
    const v = new TrackView();
    expect(v.apply([d(1), d(undefined)], []).detections.map((x) => x.track)).toEqual(['new', undefined]);
    expect(v.apply([d(1), d(2)], []).detections.map((x) => x.track)).toEqual(['updated', 'new']);
  });

  it('reports lost only the IDs it handed out, once', () => {
    const v = new TrackView();
    v.apply([d(1)], []);
    expect(v.apply([], [1, 2]).lost).toEqual([1]);
    expect(v.apply([], [1]).lost).toEqual([]);
    expect(v.known).toBe(0);
  });

  it('hands out raw values by default and smoothed ones when asked, never the internal field', () => {
    const raw = new TrackView().apply([d(1)], []).detections[0]!;
    expect(raw).toEqual({ query: 'star', score: 0.8, box: [0, 0, 10, 10], trackId: 1, track: 'new' });
    const smooth = new TrackView(true).apply([d(1)], []).detections[0]!;
    expect(smooth).toEqual({ query: 'star', score: 0.7, box: [1, 1, 11, 11], trackId: 1, track: 'new' });
  });
});
