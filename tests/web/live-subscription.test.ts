/** LiveSubscription (the pages' subscription that stays up) against the SDK and a fake server. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
});
