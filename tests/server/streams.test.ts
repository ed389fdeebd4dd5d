/** StreamManager on its own, with a fake source whose stop() the test controls. */
import { BehaviorSubject, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src/domain/types.js';
import type { FrameSource, SourceStatus } from '../../src/ingest/index.js';
import type { GroundingModel } from '../../src/model/index.js';
import { Limiter } from '../../src/pipeline/limiter.js';
import { StreamManager } from '../../src/server/streams.js';

function fakeSource(id: string, stopped: Promise<void>): FrameSource {
  const status = new BehaviorSubject<SourceStatus>({ state: 'connecting' } as SourceStatus);
  return {
    streamId: id,
    policy: 'latest',
    frames$: new Subject<Frame>(),
    status$: status,
    get status() {
      return status.value;
    },
    latest: undefined,
    start() {},
    request() {},
    stop: () => stopped,
  };
}

describe('StreamManager', () => {
  it('announces a removed stream before its source has finished stopping, so the id can be reused at once', async () => {
    let finishStop!: () => void;
    const stopped = new Promise<void>((resolve) => (finishStop = resolve));
    const model = { info: { threshold: 0.4 } } as unknown as GroundingModel; // no subscriber: never run
    const streams = new StreamManager(model, new Limiter(1), async (spec) => fakeSource(spec.id, stopped));
    const removed: string[] = [];
    streams.removed$.subscribe((id) => removed.push(id));
    await streams.add({ id: 'cam', source: 'push', realtime: true, loop: false });
    const removing = streams.remove('cam');
    // the old source is still stopping (an ffmpeg that has not exited yet) ...
    await new Promise((r) => setTimeout(r, 10));
    expect(removed).toEqual(['cam']);
    // ... and a stream under the same id can come and stay
    const again = await streams.add({ id: 'cam', source: 'push', realtime: true, loop: false });
    expect(streams.get('cam')).toBe(again);
    finishStop();
    expect(await removing).toBe(true);
    expect(removed).toEqual(['cam']);
    expect(streams.get('cam')).toBe(again);
  });
});
