import { describe, expect, it } from 'vitest';
import { FramePump, type PumpHooks } from '../../src/ingest/frame-pump.js';

/** A pump with controllable gates, fed directly through its Writable. */
function harness(overrides: Partial<PumpHooks> = {}) {
  const delivered: number[] = [];
  const blocked: boolean[] = [];
  const gates = { canTake: true, due: undefined as number | undefined, now: 0 };
  const pump = new FramePump({
    canTake: () => gates.canTake,
    dueAt: () => gates.due,
    deliver: (d) => delivered.push(d[0]!),
    blocked: (b) => blocked.push(b),
    now: () => gates.now,
    ...overrides,
  });
  const write = (bytes: number[]) =>
    new Promise<void>((resolve, reject) => pump.sink.write(Buffer.from(bytes), (e) => (e ? reject(e) : resolve())));
  return { pump, delivered, blocked, gates, write };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('FramePump', () => {
  it('holds stdout until the frame size is known', async () => {
    const h = harness();
    let written = false;
    void h.write([1, 1, 2, 2]).then(() => (written = true));
    await settle();
    expect(written).toBe(false);
    h.pump.setFrameBytes(2);
    await settle();
    expect(written).toBe(true);
    expect(h.delivered).toEqual([1, 2]);
  });

  it('under `wait`, releases only as many frames as the consumer allows, then resumes the pipe', async () => {
    const h = harness();
    h.pump.setFrameBytes(1);
    h.gates.canTake = false;
    let written = false;
    void h.write([1, 2, 3]).then(() => (written = true));
    await settle();
    expect(h.delivered).toEqual([]);
    expect(written).toBe(false);
    expect(h.blocked).toEqual([true]);
    h.gates.canTake = true;
    h.pump.poke();
    await settle();
    expect(h.delivered).toEqual([1, 2, 3]);
    expect(written).toBe(true);
    expect(h.blocked).toEqual([true, false]);
  });

  it('takes the chunks that follow within the same turn (Writable hands them over synchronously)', async () => {
    const h = harness();
    h.pump.setFrameBytes(2);
    h.gates.canTake = false;
    const writes = [h.write([1, 1]), h.write([2, 2]), h.write([3])];
    await settle();
    h.gates.canTake = true;
    h.pump.poke();
    await Promise.all(writes);
    expect(h.delivered).toEqual([1, 2]);
  });

  it('never releases a frame before it is due', async () => {
    const h = harness();
    h.pump.setFrameBytes(1);
    h.gates.due = 10;
    void h.write([7]);
    await settle();
    expect(h.delivered).toEqual([]);
    h.gates.now = 10;
    h.pump.poke();
    expect(h.delivered).toEqual([7]);
  });

  it('resolves `ended` after the last frame, with the bytes of a truncated one', async () => {
    const h = harness();
    h.pump.setFrameBytes(3);
    await h.write([1, 1, 1, 2]);
    h.pump.sink.end();
    expect(await h.pump.ended).toBe(1);
    expect(h.delivered).toEqual([1]);
  });

  it('stops delivering when disposed, even mid-chunk', async () => {
    const h = harness({ deliver: () => h.pump.dispose() });
    h.pump.setFrameBytes(1);
    void h.write([1, 2, 3]);
    await settle();
    expect(await h.pump.ended).toBe(0);
  });
});
