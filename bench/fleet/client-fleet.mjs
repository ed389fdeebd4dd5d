/**
 * The benchmark's WebSocket clients, in their own process so that the server's CPU time
 * (process.cpuUsage() in the benchmark process) counts the server alone. Driven over IPC by
 * bench/lib/fleet.ts: open N clients subscribed to a stream, mark the start of a window, collect
 * what arrived (results, latency percentiles, missed notices), close. Plain Node: started with
 * child_process.fork, no TypeScript loader needed.
 *
 * Latency is capture-to-client: arrival time (this process's clock, corrected by the offset the
 * parent measured) minus the frame's capturedAt (the synthetic source's clock).
 */
import WebSocket from 'ws';

const clock = () => performance.timeOrigin + performance.now();
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
/** This process's clock minus the parent's (set by the `skew` command). */
let skew = 0;

class Samples {
  buf = new Float64Array(4096);
  length = 0;
  push(v) {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  sorted() {
    return this.buf.slice(0, this.length).sort();
  }
}

/** Per stream: results and latencies since the last `mark`. */
const windows = new Map();
/** Per group: its sockets. */
const groups = new Map();

function windowFor(stream) {
  let w = windows.get(stream);
  if (!w) {
    w = { results: 0, missed: 0, missedNotices: 0, errors: 0, firstError: undefined, latencies: new Samples(), outside: new Samples(), inDetect: new Samples(), seqs: new Set() };
    windows.set(stream, w);
  }
  return w;
}

/** A number field of a JSON text, found without parsing the whole message. */
function numberField(text, key) {
  const i = text.indexOf(key);
  return i < 0 ? NaN : parseFloat(text.slice(i + key.length, i + key.length + 32));
}

function onMessage(stream, data, isBinary, ws) {
  if (isBinary) return;
  const arrived = clock() - skew;
  const text = String(data);
  const w = windowFor(stream);
  // Hundreds of clients at 30 results a second: read detections messages without JSON.parse so
  // that this process takes as little CPU as possible from the server beside it.
  if (text.startsWith('{"type":"detections"')) {
    const capturedAt = numberField(text, '"capturedAt":');
    const seq = numberField(text, '"seq":');
    const inDetect = numberField(text, '"decode":') + numberField(text, '"infer":');
    if (Number.isFinite(capturedAt) && Number.isFinite(seq) && Number.isFinite(inDetect)) {
      w.results++;
      w.seqs.add(seq);
      w.latencies.push(arrived - capturedAt);
      w.outside.push(arrived - capturedAt - inDetect);
      w.inDetect.push(inDetect);
      return;
    }
  }
  const m = JSON.parse(text);
  if (m.type === 'detections') {
    w.results++;
    w.seqs.add(m.frame.seq);
    w.latencies.push(arrived - m.frame.capturedAt);
    w.outside.push(arrived - m.frame.capturedAt - m.timings.decode - m.timings.infer);
    w.inDetect.push(m.timings.decode + m.timings.infer);
  } else if (m.type === 'ping') {
    // as the protocol asks of every client, and the SDK does: the server's lag probes come so
    if (!ws?.mute) ws?.send(JSON.stringify({ type: 'pong', ...(m.id !== undefined && { id: m.id }) }));
  } else if (m.type === 'missed') {
    w.missedNotices++;
    w.missed += m.count;
  } else if (m.type === 'error') {
    if (ws?.ack?.(m)) return; // the answer to a request: that request fails
    w.errors++;
    w.firstError ??= `${m.code}: ${m.message}`;
  } else if (m.type === 'subscribed' || m.type === 'unsubscribed') {
    ws?.ack?.(m);
  }
}

/** Sends `msg` (a request with an `id`) on `ws` and waits for its answer of type `want`; an error
 * about it fails the request. */
function request(ws, msg, want) {
  return new Promise((resolve, reject) => {
    if (ws.readyState !== WebSocket.OPEN) return reject(new Error(`${msg.type} ${msg.id}: the connection is closed`));
    const done = (f) => {
      clearTimeout(timer);
      ws.ack = undefined;
      f();
    };
    const timer = setTimeout(() => done(() => reject(new Error(`${msg.type} ${msg.id}: no ${want} after 30 s`))), 30_000);
    // true when `m` answered this request
    ws.ack = (m) => {
      if (m.type === 'error' && m.ref === msg.id) return (done(() => reject(new Error(`${msg.type} ${msg.id}: ${m.code}: ${m.message}`))), true);
      if (m.type === want && m.id === msg.id) return (done(resolve), true);
      return false;
    };
    ws.send(JSON.stringify(msg));
  });
}

function openOne(url, stream, queries, threshold, id) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let stage = 'connect';
    const timer = setTimeout(() => reject(new Error(`client ${id} stuck at ${stage} after 60 s`)), 60_000);
    ws.once('open', () => (stage = 'hello'));
    ws.once('close', (code, reason) => (clearTimeout(timer), reject(new Error(`client ${id} closed at ${stage}: ${code} ${reason}`))));
    ws.once('error', (e) => (clearTimeout(timer), reject(e)));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const m = JSON.parse(String(data));
      if (m.type === 'hello') stage = 'subscribed';
      if (m.type === 'hello') ws.send(JSON.stringify({ type: 'subscribe', id, stream, queries, ...(threshold !== undefined && { threshold }) }));
      else if (m.type === 'subscribed') {
        clearTimeout(timer);
        ws.removeAllListeners('message');
        ws.removeAllListeners('close');
        ws.on('message', (d, b) => onMessage(stream, d, b, ws));
        ws.subscription = { type: 'subscribe', id, stream, queries, ...(threshold !== undefined && { threshold }) };
        resolve(ws);
      } else if (m.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`client ${id}: ${m.code}: ${m.message}`));
      }
    });
  });
}

function percentile(s, p) {
  if (!s.length) return NaN;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

const commands = {
  clock: () => ({ t: clock() }),
  skew: ({ value }) => {
    skew = value;
    return {};
  },
  // sameId: every client names its subscription `s1`, as SDK clients name their first one;
  // otherwise each its own (`${prefix}0`, `${prefix}1`, ...), so that no two clients get the same
  // message.
  // mute: the clients leave the protocol's ping unanswered (its WebSocket pings they answer, as
  // ws does), so that the server probes them with those alone.
  async open({ url, group, clients, stream, queries, threshold, sameId, prefix = 's', mute = false }) {
    const sockets = groups.get(group) ?? [];
    groups.set(group, sockets);
    // In batches: hundreds of handshakes at once only measure the accept queue.
    const base = sockets.length;
    for (let i = 0; i < clients; i += 25) {
      const batch = [];
      for (let j = i; j < Math.min(clients, i + 25); j++) batch.push(openOne(url, stream, queries, threshold, sameId ? 's1' : `${prefix}${base + j}`));
      const opened = await Promise.all(batch);
      for (const ws of opened) ws.mute = mute;
      sockets.push(...opened);
    }
    return { open: sockets.length };
  },
  mark() {
    windows.clear();
    return { t: clock() - skew, cpuMs: cpuMs() };
  },
  collect() {
    const out = {};
    for (const [stream, w] of windows) {
      const s = w.latencies.sorted();
      const o = w.outside.sorted();
      const d = w.inDetect.sorted();
      out[stream] = {
        results: w.results,
        frames: w.seqs.size,
        missed: w.missed,
        missedNotices: w.missedNotices,
        errors: w.errors,
        firstError: w.firstError,
        latency: { count: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), max: s.length ? s[s.length - 1] : NaN },
        outsideDetect: { p50: percentile(o, 50), p99: percentile(o, 99) },
        inDetect: { p50: percentile(d, 50), p99: percentile(d, 99) },
      };
    }
    return { t: clock() - skew, cpuMs: cpuMs(), streams: out };
  },
  // A group's clients stay connected, but end their subscriptions (unsubscribe) or take them up
  // again (subscribe), each waiting for the server's answer.
  async unsubscribe({ group }) {
    await Promise.all((groups.get(group) ?? []).map((ws) => request(ws, { type: 'unsubscribe', id: ws.subscription.id }, 'unsubscribed')));
    return {};
  },
  async subscribe({ group }) {
    await Promise.all((groups.get(group) ?? []).map((ws) => request(ws, ws.subscription, 'subscribed')));
    return {};
  },
  async close({ group }) {
    const sockets = groups.get(group) ?? [];
    groups.delete(group);
    await Promise.all(
      sockets.map(
        (ws) =>
          new Promise((resolve) => {
            if (ws.readyState === WebSocket.CLOSED) return resolve();
            ws.once('close', resolve);
            ws.close();
          }),
      ),
    );
    return {};
  },
};

process.on('message', async (msg) => {
  try {
    const result = await commands[msg.cmd](msg);
    process.send({ id: msg.id, ok: true, result });
  } catch (e) {
    process.send({ id: msg.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
});
process.on('disconnect', () => process.exit(0));
