import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isGroundstreamError } from '../../src/errors.js';
import {
  checkUrl,
  DEFAULT_DENIED_NETWORKS,
  deniedNetworkList,
  isDenied,
  confineFile,
  parseSourceUri,
  protocolWhitelist,
  redactSecrets,
  resolveSource,
} from '../../src/ingest/url-policy.js';
import { tempDir } from './helpers.js';

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (e) {
    return isGroundstreamError(e) ? e.code : String(e);
  }
}

describe('parseSourceUri', () => {
  it('tells URLs, files and devices apart', () => {
    expect(parseSourceUri('rtsp://cam/stream')).toEqual({ kind: 'url', url: 'rtsp://cam/stream' });
    expect(parseSourceUri('https://x/live.m3u8')).toEqual({ kind: 'url', url: 'https://x/live.m3u8' });
    expect(parseSourceUri('clips/a.mp4')).toEqual({ kind: 'file', path: 'clips/a.mp4' });
    expect(parseSourceUri('/abs/a b.mp4')).toEqual({ kind: 'file', path: '/abs/a b.mp4' });
    expect(parseSourceUri('file:clips/a.mp4')).toEqual({ kind: 'file', path: 'clips/a.mp4' });
    expect(parseSourceUri('file:///abs/a%20b.mp4')).toEqual({ kind: 'file', path: '/abs/a b.mp4' });
    expect(parseSourceUri('v4l2:/dev/video0')).toEqual({ kind: 'device', path: '/dev/video0' });
    expect(parseSourceUri('/dev/video2')).toEqual({ kind: 'device', path: '/dev/video2' });
  });

  it('sends ffmpeg pseudo-protocols to the protocol check instead of treating them as files', () => {
    for (const s of ['concat:a.mp4|b.mp4', 'subfile,,start,0,end,100,,:/etc/passwd', 'pipe:0']) {
      expect(parseSourceUri(s).kind).toBe('url');
    }
  });

  it('rejects empty input and control characters', async () => {
    expect(await codeOf(() => parseSourceUri('  '))).toBe('INGEST_SOURCE_INVALID');
    expect(await codeOf(() => parseSourceUri('rtsp://x\n-i /etc/passwd'))).toBe('INGEST_SOURCE_INVALID');
  });
});

describe('protocol allow-list', () => {
  it('allows rtsp, rtsps, http and https by default, with what they need inside', () => {
    const wl = protocolWhitelist();
    for (const p of ['rtsp', 'rtsps', 'http', 'https', 'tcp', 'udp', 'tls', 'rtp', 'crypto', 'hls']) expect(wl).toContain(p);
    for (const p of ['file', 'concat', 'subfile', 'pipe', 'data', 'ftp']) expect(wl).not.toContain(p);
  });

  it('refuses file, concat, subfile, pipe and unknown schemes unless enabled', async () => {
    for (const url of ['file:///etc/passwd', 'concat:a|b', 'subfile,,start,0,end,1,,:x', 'pipe:0', 'ftp://x/y', 'hls+http://x/y.m3u8']) {
      expect(await codeOf(() => checkUrl(url))).toBe('INGEST_PROTOCOL_REFUSED');
    }
    expect(checkUrl('ftp://x/y', { allowedProtocols: ['ftp'] })).toBe('ftp');
    expect(await codeOf(() => checkUrl('http://x/', { allowedProtocols: ['rtsp'] }))).toBe('INGEST_PROTOCOL_REFUSED');
  });

  it('gives ffmpeg the same list it checks, and RTSP over TCP by default', async () => {
    const input = await resolveSource({ kind: 'url', url: 'rtsp://u:p@cam/s' }, { allowedProtocols: ['rtsp'] });
    expect(input).toMatchObject({ kind: 'url', target: 'rtsp://u:p@cam/s', live: true, rtspTransport: 'tcp', display: 'rtsp://***@cam/s' });
    expect(input.protocols).toEqual(['rtsp', 'rtp', 'srtp', 'tcp', 'udp']);
  });

  it('redacts credentials in any URL', () => {
    expect(redactSecrets('a rtsp://user:pw@h/x and https://tok@h2/y')).toBe('a rtsp://***@h/x and https://***@h2/y');
    // a password may hold '@' itself: everything up to the last '@' before the host goes
    expect(redactSecrets('rtsp://admin:p@ss@cam.local/stream')).toBe('rtsp://***@cam.local/stream');
    expect(redactSecrets('rtsp://admin:p@ss@cam.local:554 and http://h/a@b')).toBe('rtsp://***@cam.local:554 and http://h/a@b');
    expect(redactSecrets('rtsp://cam.local:554 refused; mail admin@example.com')).toBe('rtsp://cam.local:554 refused; mail admin@example.com'); // (not across spaces)
    expect(redactSecrets('rtsp://cam/s?apikey=a&accessToken=b&loginpas=c&session_id=d&passphrase=e&width=640')).toBe('rtsp://cam/s?apikey=***&accessToken=***&loginpas=***&session_id=***&passphrase=***&width=640');
    // credentials in the query, as many cameras take them; other parameters stay readable
    expect(redactSecrets('http://cam/video.cgi?user=admin&pwd=S3cret&resolution=640x480')).toBe('http://cam/video.cgi?user=admin&pwd=***&resolution=640x480');
    expect(redactSecrets('rtsp://cam/101?token=S3cretTok: Connection refused')).toBe('rtsp://cam/101?token=*** Connection refused'); // (up to a space: a colon may belong to it)
    expect(redactSecrets('https://h/s.m3u8?X-Amz-Signature=abc&api_key=k1&password=p&channel=2')).toBe('https://h/s.m3u8?X-Amz-Signature=***&api_key=***&password=***&channel=2');
  });
});

describe('denied networks', () => {
  it('knows link-local and metadata addresses by default, IPv4-mapped ones too, and leaves cameras on private networks and loopback alone', () => {
    const list = deniedNetworkList(DEFAULT_DENIED_NETWORKS);
    for (const a of ['169.254.169.254', '::ffff:169.254.169.254', '100.100.100.200', 'fd00:ec2::254', 'fe80::1', '0.0.0.0']) expect([a, isDenied(a, list)]).toEqual([a, true]);
    for (const a of ['192.168.1.64', '10.0.0.5', '127.0.0.1', '::1', '100.100.100.201', '8.8.8.8', '2001:db8::1']) expect([a, isDenied(a, list)]).toEqual([a, false]);
  });

  it('refuses a URL source whose address is denied when it is added, and takes the operator\'s own list', async () => {
    expect(await codeOf(resolveSource({ kind: 'url', url: 'http://169.254.169.254/latest/meta-data/' }))).toBe('INGEST_DESTINATION_REFUSED');
    expect(await codeOf(resolveSource({ kind: 'url', url: 'http://[fd00:ec2::254]/latest/' }))).toBe('INGEST_DESTINATION_REFUSED');
    expect(await codeOf(resolveSource({ kind: 'url', url: 'rtsp://admin:pw@192.168.1.64/stream' }))).toBeUndefined();
    const strict = { deniedNetworks: ['10.0.0.0/8', '192.168.0.0/16', '127.0.0.0/8'] };
    expect(await codeOf(resolveSource({ kind: 'url', url: 'rtsp://admin:pw@192.168.1.64/stream' }, strict))).toBe('INGEST_DESTINATION_REFUSED');
    // names are checked when the source connects (ffmpeg-source.suite.ts): they may not resolve yet
    expect(await codeOf(resolveSource({ kind: 'url', url: 'rtsp://camera.local/stream' }, strict))).toBeUndefined();
    expect(await codeOf(resolveSource({ kind: 'url', url: 'http://169.254.169.254/' }, { deniedNetworks: [] }))).toBeUndefined();
  });

  it('refuses a host part that ffmpeg builds split differently (`#`, `\\`, spaces), IPv6 `::`, and a host it cannot read', async () => {
    // ffmpeg 5 ends the host at `#` and would open 127.0.0.2; we would have checked `localhost`
    for (const url of ['http://127.0.0.2:18081#@localhost:18081/x', 'http://a\\@169.254.169.254/', 'rtsp://user:pa ss@cam/x']) {
      expect(await codeOf(resolveSource({ kind: 'url', url })), url).toBe('INGEST_SOURCE_INVALID');
    }
    expect(await codeOf(resolveSource({ kind: 'url', url: 'rtsp://user:pa%23ss@192.168.1.64/x#frag' }))).toBeUndefined();
    for (const url of ['http://[::]:8080/', 'http://[0:0:0:0:0:0:0:0]:8080/']) expect(await codeOf(resolveSource({ kind: 'url', url })), url).toBe('INGEST_DESTINATION_REFUSED');
    expect(await codeOf(resolveSource({ kind: 'url', url: 'http://[::1%lo]:8080/' }))).toBe('INGEST_SOURCE_INVALID');
  });

  it('refuses a list entry that is not a network in CIDR form, naming it', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fc00::/129', 'example.com/8', '']) {
      expect(() => deniedNetworkList([bad])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(JSON.stringify(bad)) }));
    }
  });
});

describe('file confinement', () => {
  const { dir, cleanup } = tempDir();
  afterAll(cleanup);
  const root = join(dir, 'clips');
  mkdirSync(join(root, 'sub'), { recursive: true });
  writeFileSync(join(root, 'a.mp4'), 'x');
  writeFileSync(join(root, 'sub', 'b.mp4'), 'x');
  writeFileSync(join(dir, 'secret.mp4'), 'x');
  symlinkSync(join(dir, 'secret.mp4'), join(root, 'link.mp4'));
  symlinkSync(dir, join(root, 'up'));
  symlinkSync(join(root, 'a.mp4'), join(root, 'inner-link.mp4'));

  it('accepts files inside a root, by relative or absolute path, and returns the real path', async () => {
    expect(await confineFile('a.mp4', [root])).toBe(join(root, 'a.mp4'));
    expect(await confineFile('sub/b.mp4', [root])).toBe(join(root, 'sub', 'b.mp4'));
    expect(await confineFile(join(root, 'sub', '..', 'a.mp4'), [root])).toBe(join(root, 'a.mp4'));
    expect(await confineFile('inner-link.mp4', [root])).toBe(join(root, 'a.mp4'));
  });

  it('refuses escapes through .., absolute paths and symlinks', async () => {
    expect(await codeOf(confineFile('../secret.mp4', [root]))).toBe('INGEST_PATH_REFUSED');
    expect(await codeOf(confineFile(join(dir, 'secret.mp4'), [root]))).toBe('INGEST_PATH_REFUSED');
    expect(await codeOf(confineFile('link.mp4', [root]))).toBe('INGEST_PATH_REFUSED');
    expect(await codeOf(confineFile('up/secret.mp4', [root]))).toBe('INGEST_PATH_REFUSED');
  });

  it('looks a relative path up in the working directory too, still only inside a root', async () => {
    const fixtures = resolve('fixtures'); // tests run from the repository root
    expect(await confineFile('fixtures/clips/clip01-640x360.mp4', [fixtures])).toBe(join(fixtures, 'clips', 'clip01-640x360.mp4'));
    expect(await confineFile('clips/clip01-640x360.mp4', [fixtures])).toBe(join(fixtures, 'clips', 'clip01-640x360.mp4'));
    // a name outside the roots gets the same answer whether or not the file exists there
    expect(await codeOf(confineFile('package.json', [fixtures]))).toBe('INGEST_SOURCE_INVALID'); // (not in fixtures/)
    expect(await codeOf(confineFile('no-such-file.json', [fixtures]))).toBe('INGEST_SOURCE_INVALID');
    expect(await codeOf(confineFile(resolve('package.json'), [fixtures]))).toBe('INGEST_PATH_REFUSED');
    expect(await codeOf(confineFile(resolve('no-such-file.json'), [fixtures]))).toBe('INGEST_PATH_REFUSED');
  });

  it('refuses everything when no directory is configured, and reports missing files and directories', async () => {
    expect(await codeOf(confineFile('a.mp4', []))).toBe('INGEST_PATH_REFUSED');
    expect(await codeOf(confineFile('nope.mp4', [root]))).toBe('INGEST_SOURCE_INVALID');
    expect(await codeOf(confineFile('sub', [root]))).toBe('INGEST_SOURCE_INVALID');
  });

  it('reads files through the file protocol only, with a demuxer allow-list', async () => {
    const input = await resolveSource({ kind: 'file', path: 'a.mp4' }, { fileRoots: [root] });
    expect(input).toMatchObject({ kind: 'file', target: `file:${join(root, 'a.mp4')}`, protocols: ['file'], live: false });
    expect(input.formats).toContain('mov');
    expect(input.formats).not.toContain('hls');
    expect(input.formats).not.toContain('concat');
  });
});

describe('devices', () => {
  it('are refused unless enabled, and must be V4L2 nodes', async () => {
    expect(await codeOf(resolveSource({ kind: 'device', path: '/dev/video0' }))).toBe('INGEST_DEVICE_REFUSED');
    const fs = { realpath: async (p: string) => (p === '/dev/cam' ? '/dev/video3' : p), isFile: async () => false };
    const ok = await resolveSource({ kind: 'device', path: '/dev/cam', videoSize: '640x480' }, { allowDevices: true }, fs);
    expect(ok).toMatchObject({ kind: 'device', target: '/dev/video3', live: true, device: { videoSize: '640x480' } });
    expect(await codeOf(resolveSource({ kind: 'device', path: '/dev/sda' }, { allowDevices: true }, fs))).toBe('INGEST_DEVICE_REFUSED');
    expect(await codeOf(resolveSource({ kind: 'device', path: '/dev/cam', videoSize: '1x1 -i x' }, { allowDevices: true }, fs))).toBe(
      'INGEST_SOURCE_INVALID',
    );
  });
});
