/** The per-client outbox on a fake socket whose buffer the test fills and drains. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeServerMessage, type DetectionsMessage } from '../../src/protocol/index.js';
import { hardLimit, Outbox, type LagMeter, type SendTarget } from '../../src/server/outbox.js';
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

/** A lag meter (lag-probe.ts's side of the outbox) whose state the test sets: `behind`, the probes
 * out, and the answers, which it gives oldest first (`answer`), calling the outbox back as a
 * LagProbe does. */
class FakeLag implements LagMeter {
  behind = false;
  out = 0; // probes not yet answered
  probes = 0; // probes sent
  answers = { count: 0, lastMs: 0 };
  private hook: (() => void) | undefined;
  lagging() {
    return this.behind;
  }
  probesOut() {
    return this.out;
  }
  probeNow() {
    this.out++;
    this.probes++;
  }
  answered() {
    return this.answers;
  }
  onAnswered(hook: () => void) {
    this.hook = hook;
  }
  /** The oldest probe out is answered after `ms` (or, with none out, the client caught up). */
  answer(ms = 0) {
    if (this.out > 0) this.out--;
    this.answers = { count: this.answers.count + 1, lastMs: ms };
    this.hook?.();
  }
  /** It is no longer behind: what waited goes (as on a LagProbe's answer). */
  caughtUp() {
    this.behind = false;
    this.hook?.();
  }
}

/** A socket with a lag meter. */
function pacedSocket() {
  const lag = new FakeLag();
  const socket = Object.assign(new FakeSocket(), { lag });
  const seqs = () => socket.sent.filter((m: any) => m.type === 'detections').map((m: any) => m.frame.seq as number);
  return { socket, lag, seqs, answer: (ms: number) => lag.answer(ms) };
}

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

  it('conflates while the client is behind in time, with its buffer under the limit, and sends the newest once it catches up', () => {
    vi.useFakeTimers();
    const { socket, lag } = pacedSocket();
    const box = new Outbox(socket, 1000);
    box.offer('s', framed(result(1)));
    lag.behind = true; // the lag probe has gone unanswered too long; no byte waits here
    for (let seq = 2; seq <= 4; seq++) box.offer('s', framed(result(seq)));
    box.send({ type: 'pong', id: 'p' }); // control messages still go
    vi.advanceTimersByTime(50);
    expect(socket.sent).toEqual([result(1), { type: 'pong', id: 'p' }]);
    lag.caughtUp(); // its answer came
    vi.advanceTimersByTime(20);
    expect(socket.sent.slice(2)).toEqual([{ type: 'missed', subscription: 's', count: 2 }, result(4)]);
  });

  it('paces a client that fell behind in time: a window of results in flight that shrinks while answers come late', () => {
    vi.useFakeTimers();
    const { socket, lag, seqs, answer } = pacedSocket();
    const box = new Outbox(socket, 1_000_000);
    box.offer('s', framed(result(1)));
    lag.behind = true;
    box.offer('s', framed(result(2)));
    box.offer('s', framed(result(3)));
    lag.caughtUp(); // it read everything it was sent
    vi.advanceTimersByTime(20);
    expect(socket.sent.slice(1)).toEqual([{ type: 'missed', subscription: 's', count: 1 }, result(3)]);
    expect(lag.probes).toBe(1); // a probe behind the result
    // paced, window 1: nothing more goes until that probe is answered; meanwhile the newest waits
    box.offer('s', framed(result(4)));
    box.offer('s', framed(result(5)));
    vi.advanceTimersByTime(50);
    expect(seqs()).toEqual([1, 3]);
    answer(100); // round trip 100 ms: the best so far, so the window grows to 2
    vi.advanceTimersByTime(20);
    expect(seqs()).toEqual([1, 3, 5]);
    box.offer('s', framed(result(6))); // one in flight, window 2: goes
    box.offer('s', framed(result(7))); // two in flight: waits
    expect(seqs()).toEqual([1, 3, 5, 6]);
    // a slow reader: the answer comes late (6 waited behind 5 in its buffer): the window shrinks
    // to 1, and with one still out, 7 waits
    answer(250);
    vi.advanceTimersByTime(20);
    expect(seqs()).toEqual([1, 3, 5, 6]);
    answer(260);
    vi.advanceTimersByTime(20);
    expect(seqs()).toEqual([1, 3, 5, 6, 7]);
    box.offer('s', framed(result(8))); // window 1, one out: waits
    expect(seqs()).toEqual([1, 3, 5, 6, 7]);
    expect(lag.out).toBe(1);
  });

  it('unpaces a client that only answers late because it is far away: its round trips stay the same as more are in flight', () => {
    vi.useFakeTimers();
    const { socket, lag, seqs, answer } = pacedSocket();
    const box = new Outbox(socket, 1_000_000);
    lag.behind = true;
    box.offer('s', framed(result(1)));
    lag.caughtUp();
    vi.advanceTimersByTime(20);
    let seq = 2;
    // every round trip 80 ms, however many are in flight: the window grows by one a window of
    // answers (1 + 2 + ... + 8 of them to pass 8)
    for (let k = 0; k < 40; k++) {
      answer(80);
      for (let j = 0; j < 3; j++) box.offer('s', framed(result(seq++)));
      vi.advanceTimersByTime(20);
    }
    // back on the full stream: every result goes, and no probe rides with each
    const probes = lag.probes;
    const before = seqs().length;
    for (let j = 0; j < 5; j++) box.offer('s', framed(result(seq++)));
    expect(seqs().length - before).toBe(5);
    expect(lag.probes).toBe(probes);
  });

  it('keeps a waiting result that has a frame image rather than replace it with a newer one without', () => {
    vi.useFakeTimers();
    const socket = new FakeSocket();
    const box = new Outbox(socket, 1000);
    socket.bufferedAmount = 5000;
    const jpeg = new Uint8Array([0xff, 0xd8, 1]);
    box.offer('s', framed(result(1)));
    box.offer('s', framed(result(2)), jpeg); // pictured: replaces 1
    box.offer('s', framed(result(3))); // no picture: 2 stays
    box.offer('s', framed(result(4)));
    socket.bufferedAmount = 0;
    vi.advanceTimersByTime(20);
    expect(socket.sent).toEqual([{ type: 'missed', subscription: 's', count: 3 }, jpeg, result(2)]);
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
