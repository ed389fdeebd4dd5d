/**
 * Pre-framed text frames: a real ws server writes them beside ws's own frames on the upgraded
 * socket, and a real ws client (which validates every frame it parses) reads them back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import type { SendTarget } from '../../src/server/outbox.js';
import { framedParts, framedTarget, textFrame, writeQueuedFrames } from '../../src/server/text-frames.js';

let http: Server | undefined;
afterEach(async () => {
  if (http) await new Promise((resolve) => http!.close(resolve));
  http = undefined;
});

/** A server that hands each connection to `onOpen` as ws and as the framed target. */
async function serve(onOpen: (ws: WebSocket, out: SendTarget, raw: Duplex) => void, perMessageDeflate = false): Promise<string> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate });
  http = createServer();
  http.on('upgrade', (req, socket: Duplex, head) => wss.handleUpgrade(req, socket, head, (ws) => onOpen(ws, framedTarget(ws, socket), socket)));
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve));
  return `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
}

/** Everything a client receives until the server closes, in order. */
function receiveAll(url: string): Promise<{ messages: (string | Buffer)[]; code: number }> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url); // (offers permessage-deflate: a server with it on accepts)
    const messages: (string | Buffer)[] = [];
    client.on('message', (data, isBinary) => messages.push(isBinary ? (data as Buffer) : String(data)));
    client.on('close', (code) => resolve({ messages, code }));
    client.on('error', reject);
  });
}

describe('textFrame', () => {
  it('uses the 7-bit, 16-bit and 64-bit length forms at their edges, counting UTF-8 bytes, not characters', () => {
    expect([...textFrame('hi')]).toEqual([0x81, 2, 0x68, 0x69]);
    expect(textFrame('x'.repeat(125)).subarray(0, 2)).toEqual(Buffer.from([0x81, 125]));
    expect(textFrame('x'.repeat(126)).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 0, 126]));
    expect(textFrame('x'.repeat(0xffff)).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 0xff, 0xff]));
    expect(textFrame('x'.repeat(0x10000)).subarray(0, 10)).toEqual(Buffer.from([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]));
    const accented = 'é'.repeat(100); // 100 characters, 200 bytes: the 16-bit form
    expect(textFrame(accented).subarray(0, 4)).toEqual(Buffer.from([0x81, 126, 0, 200]));
    expect(textFrame(accented).subarray(4).toString('utf8')).toBe(accented);
  });
});

describe('framedTarget', () => {
  it('a real client reads pre-framed text in order with what ws itself sends, at every length form', async () => {
    const texts = ['', 'hi', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(0xffff), '{"q":"boîte rouge 🟥"}', 'w'.repeat(70_000)];
    const url = await serve((ws, out) => {
      out.send(texts[0]!);
      out.send(new Uint8Array([1, 2, 3])); // binary goes through ws
      for (const t of texts.slice(1)) {
        out.send(t);
        ws.ping(); // a control frame from ws between ours
      }
      out.send(new Uint8Array([4]));
      ws.close(1000);
    });
    const { messages, code } = await receiveAll(url);
    expect(code).toBe(1000);
    expect(messages).toEqual([texts[0], Buffer.from([1, 2, 3]), ...texts.slice(1), Buffer.from([4])]);
  });

  it('a real client reads frames laid out from byte parts (results), in order with the rest, at every length form', async () => {
    const texts = ['', 'hi', 'x'.repeat(125), 'y'.repeat(126), 'z'.repeat(0xffff), '{"q":"boîte rouge 🟥"}', 'w'.repeat(70_000)];
    // each text cut in three parts, one of them across a multi-byte character where there is one
    const parts = (t: string) => {
      const b = Buffer.from(t);
      const [i, j] = [Math.floor(b.length / 3), Math.floor((2 * b.length) / 3) + 1];
      return [b.subarray(0, i), b.subarray(i, Math.min(j, b.length)), b.subarray(Math.min(j, b.length))];
    };
    const url = await serve((ws, out) => {
      for (const t of texts) {
        const f = framedParts(...parts(t));
        expect(f.text()).toBe(t);
        out.sendText(f);
        out.send('between');
      }
      ws.close(1000);
    });
    const { messages } = await receiveAll(url);
    expect(messages).toEqual(texts.flatMap((t) => [t, 'between']));
  });

  it('writes result frames when the pass that queued them ends, counting them in bufferedAmount meanwhile; keeps each socket\'s order; writes them before a close when asked (as the server does), and sends nothing after it', async () => {
    let seen: { buffered: number; written: number; afterPass: number } | undefined;
    const url = await serve((ws, out, raw) => {
      out.sendText(framedParts(Buffer.from('r1')));
      const buffered = out.bufferedAmount;
      const written = raw.writableLength; // nothing yet: r1 waits for the pass to end
      out.send(new Uint8Array([9])); // anything else sent writes what is queued first
      out.sendText(framedParts(Buffer.from('r2')));
      out.sendText(framedParts(Buffer.from('r3')));
      setImmediate(() => {
        seen = { buffered, written, afterPass: out.bufferedAmount - ws.bufferedAmount };
        out.sendText(framedParts(Buffer.from('r4'))); // queued, then the connection closes in the same pass
        writeQueuedFrames(); // what the server's shutdown does before closing its clients
        ws.close(1000);
        out.sendText(framedParts(Buffer.from('r5'))); // after the close: not sent, as ws sends nothing then
      });
    });
    const { messages, code } = await receiveAll(url);
    expect(code).toBe(1000);
    expect(messages).toEqual(['r1', Buffer.from([9]), 'r2', 'r3', 'r4']);
    expect(seen).toEqual({ buffered: 4, written: 0, afterPass: 0 });
  });

  it('clients sent the same text each get all of it, and a different text between is not mixed up', async () => {
    const opened: { ws: WebSocket; out: SendTarget }[] = [];
    let bothOpen!: () => void;
    const ready = new Promise<void>((resolve) => (bothOpen = resolve));
    const url = await serve((ws, out) => {
      opened.push({ ws, out });
      if (opened.length === 2) bothOpen();
    });
    const received = Promise.all([receiveAll(url), receiveAll(url)]);
    await ready;
    const same = JSON.stringify({ type: 'detections', subscription: 's1', detections: [{ query: 'a' }] });
    const other = same.replace('"s1"', '"s2"'); // the same length
    for (const { out } of opened) out.send(same);
    opened[0]!.out.send(other);
    for (const { out } of opened) out.send(same);
    for (const { ws } of opened) ws.close(1000);
    const sorted = (await received).map((r) => r.messages).sort((x, y) => y.length - x.length);
    expect(sorted).toEqual([[same, other, same], [same, same]]);
  });

  it('writes nothing once ws is closing, and counts what it wrote in bufferedAmount', async () => {
    let after: { state: number; threw: unknown; buffered: number; queuedByClose: number; queuedAfter: number } | undefined;
    const url = await serve((ws, out, raw) => {
      raw.cork(); // hold the writes in the socket's queue, where they can be counted
      out.send('held');
      const buffered = out.bufferedAmount;
      ws.close(1000);
      const queuedByClose = raw.writableLength;
      let threw: unknown;
      try {
        out.send('after close'); // ws's own rule: not sent, no throw
      } catch (e) {
        threw = e;
      }
      after = { state: out.readyState, threw, buffered, queuedByClose, queuedAfter: raw.writableLength };
      raw.uncork();
    });
    const { messages } = await receiveAll(url);
    expect(messages).toEqual(['held']);
    expect(after).toMatchObject({ state: WebSocket.CLOSING, threw: undefined, buffered: 2 + 'held'.length });
    expect(after!.queuedAfter).toBe(after!.queuedByClose); // nothing behind the close frame
  });

  it('a connection that negotiated compression gets its text through ws, in order with compressed binary', async () => {
    const url = await serve((ws, out) => {
      out.send('first');
      out.send(new Uint8Array(4096).fill(7)); // ws compresses this asynchronously
      out.send('second'); // written beside ws, this would overtake it
      out.sendText(framedParts(Buffer.from('thi'), Buffer.from('rd'))); // a result: likewise
      ws.close(1000);
    }, true);
    const { messages } = await receiveAll(url);
    expect(messages).toEqual(['first', Buffer.alloc(4096, 7), 'second', 'third']);
  });
});
