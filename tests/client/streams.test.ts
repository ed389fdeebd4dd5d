import { describe, expect, it } from 'vitest';
import { applyStatus } from '../../src/client/streams.js';

describe('the stream table', () => {
  it('takes status changes, adds new streams at the end, and drops a stream the server removed', () => {
    let t = applyStatus([], { type: 'status', stream: 'a', state: 'connecting' });
    t = applyStatus(t, { type: 'status', stream: 'b', state: 'live', width: 640, height: 360 });
    t = applyStatus(t, { type: 'status', stream: 'a', state: 'live', width: 320, height: 240 });
    expect(t).toEqual([
      { id: 'a', state: 'live', width: 320, height: 240 },
      { id: 'b', state: 'live', width: 640, height: 360 },
    ]);
    // a file that finished stays listed, as the server lists it; a removed stream goes
    t = applyStatus(t, { type: 'status', stream: 'b', state: 'ended', detail: 'end of stream' });
    expect(t.map((s) => [s.id, s.state])).toEqual([['a', 'live'], ['b', 'ended']]);
    t = applyStatus(t, { type: 'status', stream: 'a', state: 'ended', detail: 'removed' });
    expect(t.map((s) => s.id)).toEqual(['b']);
    expect(Object.isFrozen(t)).toBe(true);
  });
});
