/** The per-client outbox on a fake socket whose buffer the test fills and drains. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeServerMessage, type DetectionsMessage } from '../../src/protocol/index.js';
import { hardLimit, Outbox, type SendTarget } from '../../src/server/outbox.js';
import { framedParts, type FramedText } from '../../src/server/text-frames.js';

class FakeSocket implements SendTarget {
  bufferedAmount = 0;
  readyState = 1;
  sent: unknown[] = [];
  terminated = 0;
  send(data: string | Uint8Array): void {
    this.sent.push(typeof data === 'string' ? JSON.parse(data) : data);
  }
  sendText(t: FramedText): void {
    this.send(t.text());
  }
  terminate(): void {
    this.terminated++;
    this.readyState = 3;
  }
}

const result = (seq: number, subscription = 's'): DetectionsMessage => ({
  type: 'detections',
  subscription,
  stream: 'cam',
  frame: { seq, pts: seq / 30, capturedAt: 0, width: 64, height: 48 },
  queryVersion: 1,
  timings: { decode: 0, infer: 0, total: 0 },
  detections: [],
});

const framed = (m: DetectionsMessage) => framedParts(Buffer.from(encodeServerMessage(m)));

afterEach(() => vi.useRealTimers());

describe('Outbox', () => {
  it('sends results while the buffer is under the limit; above it keeps the newest, then says how many were missed', () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const missed: number[] = [];
    const box = new Outbox(socket, 1000, (n) => missed.push(n));
    box.offer('s', framed(result(1)));
    socket.bufferedAmount = 5000; // the client stopped reading
    for (let seq = 2; seq <= 5; seq++) box.offer('s', framed(result(seq)));
    expect(socket.sent.map((m: any) => m.frame.seq)).toEqual([1]);
    socket.bufferedAmount = 0; // it drains
    vi.advanceTimersByTime(20);
    expect(socket.sent.slice(1)).toEqual([{ type: 'missed', subscription: 's', count: 3 }, result(5)]);
    expect(box.missedTotal).toBe(3);
    expect(missed).toEqual([1, 1, 1]);
  });

  it('always sends control messages, but drops a client whose buffer passes the hard limit', () => {
    const socket = new FakeSocket();
    const limit = 1024 * 1024;
    const box = new Outbox(socket, limit);
    // a big viewer image sent just under the limit takes the buffer well over it: still a reader
    socket.bufferedAmount = limit + 8 * 1024 * 1024;
    box.send({ type: 'pong', id: 'a' });
    expect(socket.sent).toEqual([{ type: 'pong', id: 'a' }]);
    expect(socket.terminated).toBe(0);
    expect(hardLimit(limit)).toBeGreaterThanOrEqual(limit + 16 * 1024 * 1024);
    expect(hardLimit(64 * 1024 * 1024)).toBe(4 * 64 * 1024 * 1024);
    socket.bufferedAmount = hardLimit(limit) + 1;
    box.send({ type: 'pong', id: 'b' });
    box.send({ type: 'pong', id: 'c' });
    box.offer('s', framed(result(1)));
    expect(socket.sent).toEqual([{ type: 'pong', id: 'a' }]);
    expect(socket.terminated).toBe(1);
  });
});
