/** LiveSubscription (the pages' subscription that stays up) against the SDK and a fake server. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { GroundstreamClient, type SubscribedMessage } from '../../src/client/index.js';
import { LiveSubscription } from '../../src/web/live-subscription.js';
import { FakeServer, until } from '../client/fake-server.js';

let server: FakeServer;
let client: GroundstreamClient;
let live: LiveSubscription | undefined;

beforeEach(async () => {
  server = await FakeServer.start();
  client = new GroundstreamClient({ url: server.url, reconnect: { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 } });
  await client.connect();
});

afterEach(async () => {
  live?.close();
  client.close();
  await server.close();
});

describe('LiveSubscription', () => {
  it('undoes a change the server refuses while the subscription lives, and only that change', async () => {
    const acks: SubscribedMessage[] = [];
    live = new LiveSubscription(client, { stream: 'cam1', queries: ['a'] }, { detections: () => {}, subscribed: (a) => acks.push(a) }, 50);
    await until(() => acks.length === 1, 5000, 'subscribed');
    await live.update({ threshold: 0.6 });
    await expect(live.update({ queries: ['forbidden'] })).rejects.toMatchObject({ code: 'QUERY_INVALID' });
    expect(live.settings).toMatchObject({ queries: ['a'], threshold: 0.6 });
  });

  it('keeps a change whose subscription ended before the server could answer, and subscribes with it when the stream is back', async () => {
    const acks: SubscribedMessage[] = [];
    live = new LiveSubscription(client, { stream: 'cam1', queries: ['a'] }, { detections: () => {}, subscribed: (a) => acks.push(a) }, 50);
    await until(() => acks.length === 1, 5000, 'subscribed');
    server.streams = []; // the server comes back without the stream for a while
    server.dropAll();
    await until(() => client.state === 'reconnecting', 5000, 'reconnecting');
    await expect(live.update({ queries: ['b'] })).rejects.toMatchObject({ code: 'PROTOCOL_STREAM_UNKNOWN' });
    expect(live.settings.queries).toEqual(['b']);
    server.streams = ['cam1'];
    await until(() => acks.at(-1)?.queries[0] === 'b', 5000, 'subscribed again, with the change');
  });

  it('does not try again a refusal that waiting cannot mend, and says so once', async () => {
    // a server that announces longer queries than its decoder takes: the page sends, the server refuses
    client.close();
    server.helloPatch = { limits: { ...DEFAULT_LIMITS, maxQueryLength: 1000 } };
    client = new GroundstreamClient({ url: server.url, reconnect: { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 } });
    await client.connect();
    const refusals: Error[] = [];
    const downs: string[] = [];
    const subscribes = vi.spyOn(client, 'subscribe');
    live = new LiveSubscription(client, { stream: 'cam1', queries: ['x'.repeat(257)] }, { detections: () => {}, down: (r) => downs.push(r), refused: (e) => refusals.push(e) }, 20);
    await until(() => refusals.length === 1, 5000, 'refused');
    expect(refusals[0]).toMatchObject({ code: 'PROTOCOL_INVALID_MESSAGE' });
    await new Promise((r) => setTimeout(r, 300)); // fifteen retry periods
    expect([refusals.length, downs, subscribes.mock.calls.length]).toEqual([1, [], 1]);
    // a change subscribes again
    await live.update({ queries: ['red square'] });
    await until(() => server.received.some((m) => m.type === 'subscribe' && m.queries[0] === 'red square'), 5000, 'subscribed with the change');
  });

  it("checks queries against the server's announced limits before sending them, naming the query", async () => {
    client.close();
    server.helloPatch = { limits: { ...DEFAULT_LIMITS, maxQueries: 2, maxQueryLength: 10 } };
    client = new GroundstreamClient({ url: server.url, reconnect: { initialMs: 50, maxMs: 50, factor: 1, jitter: 0 } });
    await client.connect();
    const refusals: Error[] = [];
    live = new LiveSubscription(client, { stream: 'cam1', queries: ['a', 'b', 'third'] }, { detections: () => {}, refused: (e) => refusals.push(e) }, 20);
    await until(() => refusals.length === 1, 5000, 'refused');
    expect(refusals[0]).toMatchObject({ code: 'QUERY_INVALID', message: expect.stringContaining('"third" is query 3 of 3; this server takes at most 2') });
    await expect(live.update({ queries: ['a', 'much too long'] })).rejects.toMatchObject({ code: 'QUERY_TOO_LONG', message: expect.stringContaining('"much too long" is 13 characters long; this server takes at most 10') });
    expect(server.received.filter((m) => m.type === 'subscribe')).toEqual([]);
    expect(live.settings.queries).toEqual(['a', 'b', 'third']); // a change refused here changes nothing
  });
});
