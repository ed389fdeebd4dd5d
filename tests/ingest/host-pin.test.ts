import { describe, expect, it } from 'vitest';
import { buildDecodeArgs } from '../../src/ingest/ffmpeg-args.js';
import { pinHost, type HostLookup } from '../../src/ingest/host-pin.js';
import type { ResolvedInput } from '../../src/ingest/url-policy.js';

/** A resolver that knows a few names, and records what it was asked. */
function fakeLookup(table: Record<string, { address: string; family: number }[]>): HostLookup & { asked: string[] } {
  const asked: string[] = [];
  const f = async (host: string) => {
    asked.push(host);
    const found = table[host];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(f, { asked });
}

const lookup = fakeLookup({
  'camera.local': [{ address: '192.168.1.20', family: 4 }],
  'dual.example': [
    { address: '2001:db8::7', family: 6 },
    { address: '203.0.113.9', family: 4 },
  ],
  'v6only.example': [{ address: '2001:db8::8', family: 6 }],
  empty: [],
});

describe('pinHost: host names looked up for an ffmpeg that cannot', () => {
  it('replaces the name with its address, keeping credentials, port, path, query and fragment as written', async () => {
    expect(await pinHost('rtsp://camera.local/stream', lookup)).toEqual({ url: 'rtsp://192.168.1.20/stream', hostHeader: 'camera.local' });
    expect(await pinHost('rtsp://admin:p@ss@camera.local:8554/live/ch1?subtype=0#x', lookup)).toEqual({
      url: 'rtsp://admin:p@ss@192.168.1.20:8554/live/ch1?subtype=0#x',
      hostHeader: 'camera.local:8554',
    });
    expect(await pinHost('http://camera.local', lookup)).toEqual({ url: 'http://192.168.1.20', hostHeader: 'camera.local' });
    expect(await pinHost('http://camera.local?a=1', lookup)).toEqual({ url: 'http://192.168.1.20?a=1', hostHeader: 'camera.local' });
  });

  it('ends the host where ffmpeg does: a `#` may sit in a password', async () => {
    expect(await pinHost('rtsp://admin:Pa#12@camera.local:554/ch1', lookup)).toEqual({ url: 'rtsp://admin:Pa#12@192.168.1.20:554/ch1', hostHeader: 'camera.local:554' });
    const quiet = fakeLookup({});
    expect(await pinHost('rtsp://admin:Pa#12@192.168.1.10:554/ch1', quiet)).toEqual({ url: 'rtsp://admin:Pa#12@192.168.1.10:554/ch1' });
    expect(quiet.asked).toEqual([]);
    expect((await pinHost('hls+https://camera.local/live.m3u8', lookup)).url).toBe('hls+https://192.168.1.20/live.m3u8');
  });

  it('goes round the addresses from one attempt to the next, IPv4 first', async () => {
    const urls = await Promise.all([0, 1, 2].map((n) => pinHost('http://dual.example/a', lookup, n)));
    expect(urls.map((u) => u.url)).toEqual(['http://203.0.113.9/a', 'http://[2001:db8::7]/a', 'http://203.0.113.9/a']);
  });

  it('gives up on a lookup that does not answer', async () => {
    const never: HostLookup = () => new Promise(() => {});
    await expect(pinHost('rtsp://slow.example/s', never, 0, 50)).rejects.toMatchObject({
      code: 'INGEST_OPEN_FAILED',
      message: expect.stringContaining('cannot resolve host slow.example: no answer in 50 ms'),
    });
  });

  it('prefers an IPv4 address, and brackets an IPv6 one', async () => {
    expect((await pinHost('http://dual.example/a.m3u8', lookup)).url).toBe('http://203.0.113.9/a.m3u8');
    expect((await pinHost('http://v6only.example:8080/a', lookup)).url).toBe('http://[2001:db8::8]:8080/a');
  });

  it('leaves addresses alone without a lookup', async () => {
    const quiet = fakeLookup({});
    for (const url of ['rtsp://10.0.0.5:554/s', 'http://[::1]:8080/x', 'http://u:p@127.0.0.1/x']) {
      expect(await pinHost(url, quiet)).toEqual({ url });
    }
    expect(quiet.asked).toEqual([]);
  });

  it('fails a name that does not resolve with INGEST_OPEN_FAILED, naming the host', async () => {
    await expect(pinHost('rtsp://nowhere.invalid/s', lookup)).rejects.toMatchObject({
      code: 'INGEST_OPEN_FAILED',
      message: expect.stringContaining('cannot resolve host nowhere.invalid: ENOTFOUND'),
    });
    await expect(pinHost('rtsp://empty/s', lookup)).rejects.toMatchObject({ code: 'INGEST_OPEN_FAILED' });
  });

  it('sends the name as the HTTP Host header, and nothing to RTSP', () => {
    const http: ResolvedInput = { kind: 'url', target: 'http://192.168.1.20:8080/a.ts', protocols: ['http', 'tcp'], live: true, display: '' };
    const a = buildDecodeArgs(http, { hostHeader: 'camera.local:8080' });
    expect(a.inputOptions[a.inputOptions.indexOf('-headers') + 1]).toBe('Host: camera.local:8080\r\n');
    const rtsp: ResolvedInput = { ...http, target: 'rtsp://192.168.1.20/s', rtspTransport: 'tcp' };
    expect(buildDecodeArgs(rtsp, { hostHeader: 'camera.local' }).inputOptions).not.toContain('-headers');
    expect(buildDecodeArgs(http).inputOptions).not.toContain('-headers');
    const hls = buildDecodeArgs({ ...http, target: 'hls+https://192.168.1.20/a.m3u8' }, { hostHeader: 'camera.local' });
    expect(hls.inputOptions[hls.inputOptions.indexOf('-headers') + 1]).toBe('Host: camera.local\r\n');
  });
});
