/**
 * The behaviour every FrameSource shares, run against each implementation (ffmpeg file source,
 * pushed frames). `produce(n)` makes the source have at least n frames to give.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { BackpressurePolicy, FrameSource } from '../../src/ingest/index.js';
import { record, sleep, untilCount, waitForState } from './helpers.js';

export interface ContractHarness {
  readonly source: FrameSource;
  produce(n: number): Promise<void>;
}

export function frameSourceContract(name: string, make: (policy: BackpressurePolicy) => Promise<ContractHarness>): void {
  describe(`FrameSource contract: ${name}`, () => {
    it('starts connecting, goes live with the first frame, and numbers frames from 0', async () => {
      const { source, produce } = await make('latest');
      expect(source.status.state).toBe('connecting');
      const rec = record(source);
      const stateAtFirstFrame: string[] = [];
      source.frames$.subscribe((f) => f.seq === 0 && stateAtFirstFrame.push(source.status.state));
      source.start();
      await produce(3);
      await untilCount(source.frames$, rec.frames, 3);
      expect(stateAtFirstFrame).toEqual(['live']);
      expect(rec.frames.slice(0, 3).map((f) => f.seq)).toEqual([0, 1, 2]);
      for (const f of rec.frames) {
        expect(f.streamId).toBe(source.streamId);
        expect(f.data.length).toBe(f.width * f.height * 3);
        expect(f.capturedAt).toBeGreaterThan(0);
      }
      expect(rec.frames[1]!.pts).toBeGreaterThanOrEqual(rec.frames[0]!.pts);
      expect(source.latest).toBe(rec.frames.at(-1));
      await source.stop();
    });

    it('ends on stop(): `ended`, frames$ and status$ complete, late subscribers still see the end', async () => {
      const { source, produce } = await make('latest');
      const allFrames = lastValueFrom(source.frames$.pipe(toArray()));
      source.start();
      await produce(1);
      await waitForState(source, 'live');
      await source.stop();
      await allFrames; // completed
      expect(source.status.state).toBe('ended');
      const late = await lastValueFrom(source.status$.pipe(toArray()));
      expect(late.map((s) => s.state)).toEqual(['ended']);
      await source.stop(); // twice is fine
    });

    it('under `wait`, emits only the frames asked for, in order, none skipped', async () => {
      const { source, produce } = await make('wait');
      const rec = record(source);
      source.start();
      await produce(6);
      await sleep(200);
      expect(rec.frames).toHaveLength(0);
      source.request(2);
      await untilCount(source.frames$, rec.frames, 2);
      await sleep(200);
      expect(rec.frames).toHaveLength(2);
      source.request(4);
      await untilCount(source.frames$, rec.frames, 6);
      expect(rec.frames.map((f) => f.seq)).toEqual([0, 1, 2, 3, 4, 5]);
      await source.stop();
    });

    it('emits nothing after stop()', async () => {
      const { source, produce } = await make('latest');
      const first = firstValueFrom(source.frames$);
      source.start();
      await produce(2);
      await first;
      await source.stop();
      const after: unknown[] = [];
      source.frames$.subscribe((f) => after.push(f));
      await produce(2).catch(() => undefined);
      await sleep(50);
      expect(after).toEqual([]);
    });
  });
}
