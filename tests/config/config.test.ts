import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromEnv, readConfigFile, resolveConfig } from '../../src/config/config.js';
import { reachableUrl, serveConfig } from '../../src/cli/serve.js';
import { isGroundstreamError } from '../../src/errors.js';

const invalid = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return isGroundstreamError(e, 'CONFIG_INVALID') ? e.message : String(e);
  }
  return 'no error';
};

describe('config', () => {
  it('layers defaults < file < env < flags and freezes the result', () => {
    const c = resolveConfig({ port: 1000, host: '0.0.0.0' }, fromEnv({ PORT: '2000' }), { port: 3000 });
    expect(c.port).toBe(3000);
    expect(c.host).toBe('0.0.0.0');
    expect(c.concurrency).toBe(1);
    expect(Object.isFrozen(c)).toBe(true);
    expect(resolveConfig({ port: 1000 }, fromEnv({ PORT: '2000' })).port).toBe(2000);
  });

  it('adds GROUNDSTREAM_TOKEN to the tokens of the config file instead of replacing them', () => {
    const file = { tokens: [{ token: 'viewer-token-0123456789', rights: ['watch' as const] }] };
    const c = resolveConfig(file, fromEnv({ GROUNDSTREAM_TOKEN: 'admin-token-0123456789' }));
    expect(c.tokens.map((t) => [t.token, t.rights])).toEqual([
      ['viewer-token-0123456789', ['watch']],
      ['admin-token-0123456789', ['watch', 'push', 'manage']],
    ]);
    expect(resolveConfig(file).tokens).toHaveLength(1);
    expect(invalid(() => resolveConfig({ tokens: 'x' as never }, fromEnv({ GROUNDSTREAM_TOKEN: 'admin-token-0123456789' })))).toMatch(/tokens must be an array/);
  });

  it('moves inference to worker threads when more than one may run at once', () => {
    expect(resolveConfig({}).inferenceWorkers).toBe('auto'); // one at a time: the model's size decides
    expect(resolveConfig({ inferenceWorkers: 'auto', concurrency: 2 }).inferenceWorkers).toBe(2);
    expect(resolveConfig({ concurrency: 3 }).inferenceWorkers).toBe(3); // on the event loop they could not overlap
    expect(resolveConfig({ concurrency: 3, inferenceWorkers: 1 }).inferenceWorkers).toBe(1);
    expect(resolveConfig({ inferenceWorkers: 2 }).inferenceWorkers).toBe(2);
    expect(serveConfig({ concurrency: 2, demo: false }, {}).inferenceWorkers).toBe(2);
    expect(invalid(() => resolveConfig({ inferenceWorkers: -1 }))).toMatch(/inferenceWorkers/);
    // a config file's string number is parsed for both
    expect(resolveConfig({ concurrency: '2' as unknown as number }).inferenceWorkers).toBe(2);
  });

  it('refuses bad values with CONFIG_INVALID naming the field', () => {
    expect(invalid(() => resolveConfig(fromEnv({ PORT: 'eighty' })))).toMatch(/PORT must be an integer/);
    // decimal digits only: Number() alone would read these as 18085 and 10000
    for (const PORT of ['0x46A5', '1e4', '8080.0', '']) if (PORT) expect(invalid(() => resolveConfig(fromEnv({ PORT }))), PORT).toMatch(/PORT must be an integer/);
    expect(resolveConfig(fromEnv({ PORT: ' 8081 ' })).port).toBe(8081);
    expect(invalid(() => resolveConfig({ concurrency: 0 }))).toMatch(/concurrency/);
    expect(invalid(() => resolveConfig({ streams: [{ id: 'a b', source: 'x' }] }))).toMatch(/streams\[0\]\.id/);
    expect(invalid(() => resolveConfig({ streams: [{ id: 'a', source: 'x' }, { id: 'a', source: 'y' }] }))).toMatch(/repeated/);
    expect(invalid(() => resolveConfig({ logLevel: 'loud' }))).toMatch(/logLevel/);
  });

  it('refuses a misspelt setting in a config file, naming it and the file, instead of ignoring it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-config-'));
    const file = (name: string, body: unknown) => {
      const p = join(dir, name);
      writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
      return p;
    };
    try {
      const typo = file('typo.json', { port: 18085, maxClientz: 3 });
      expect(invalid(() => serveConfig({ config: typo }, {}))).toMatch(/unknown setting "maxClientz" in .*typo\.json \(known: .*maxClients/);
      expect(invalid(() => serveConfig({ config: file('limit.json', { limits: { maxMesageBytes: 10 } }) }, {}))).toMatch(
        /unknown protocol limit "maxMesageBytes" \(known: maxMessageBytes/,
      );
      expect(invalid(() => serveConfig({ config: file('bound.json', { limits: { maxQueries: 0 } }) }, {}))).toMatch(/maxQueries must be a positive integer/);
      expect(invalid(() => resolveConfig(readConfigFile(file('stream.json', { streams: [{ id: 'a', source: 'x', fps: 5 }] }))))).toMatch(
        /unknown setting "fps" in streams\[0\]/,
      );
      expect(invalid(() => resolveConfig({ streams: [{ id: 'a', source: 'x', loop: 'yes' as never }] }))).toMatch(/streams\[0\]: "loop" must be true or false/);
      expect(invalid(() => resolveConfig({ tokens: [{ token: 'a-token-of-16-chars', rigths: ['watch'] } as never] }))).toMatch(/unknown setting "rigths" in tokens\[0\]/);
      expect(invalid(() => resolveConfig({ tokens: [{ token: 'a-token-of-16-chars', maxClients: 0 } as never] }))).toMatch(/tokens\[0\]\.maxClients must be an integer/);
      expect(invalid(() => resolveConfig({ maxClientsPerAddress: 0 }))).toMatch(/maxClientsPerAddress must be an integer/);
      expect(invalid(() => resolveConfig({ allowDevices: 'yes' as never }))).toMatch(/allowDevices must be true or false/);
      expect(serveConfig({ allowDevices: true }, {}).allowDevices).toBe(true);
      expect(invalid(() => serveConfig({ stream: ['c=clips/clip01-640x360.mp4#loop#ondemand'] }, {}))).toMatch(/"onDemand" applies to live sources only/);
      expect(serveConfig({ stream: ['cam=rtsp://192.168.1.64/s#ondemand'] }, {}).streams.find((s) => s.id === 'cam')).toMatchObject({ onDemand: true });
      expect(serveConfig({ stream: ['cam=rtsp://192.168.1.64/s#udp'] }, {}).streams.find((s) => s.id === 'cam')).toMatchObject({ rtspTransport: 'udp' });
      expect(invalid(() => resolveConfig({ streams: [{ id: 'h', source: 'http://cam/x.ts', rtspTransport: 'udp' }] }))).toMatch(/"rtspTransport" applies to rtsp/);
      expect(invalid(() => resolveConfig({ streams: [{ id: 'r', source: 'rtsp://cam/x', rtspTransport: 'quic' as never }] }))).toMatch(/"rtspTransport" must be "tcp" or "udp"/);
      expect(invalid(() => resolveConfig({ deniedNetworks: ['10.0.0.0/8', '192.168.0.0'] }))).toMatch(/deniedNetworks: "192\.168\.0\.0" is not a network in CIDR form/);
      expect(invalid(() => resolveConfig({ maxQueriesPerClient: 1.5 }))).toMatch(/maxQueriesPerClient must be an integer/);
      expect(resolveConfig({ tokens: [{ token: 'a-token-of-16-chars', rights: ['watch'], maxClients: 4 }] }).tokens[0]).toMatchObject({ maxClients: 4 });
      expect(invalid(() => readConfigFile(file('list.json', [1, 2])))).toMatch(/one JSON object/);
      // what is spelt right still loads
      const good = serveConfig({ config: file('good.json', { port: 18086, maxClients: 3, limits: { maxMessageBytes: 4096 } }) }, {});
      expect(good).toMatchObject({ port: 18086, maxClients: 3, limits: { maxMessageBytes: 4096 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses stream options that would be ignored for their kind of source', () => {
    const stream = (o: object) => invalid(() => resolveConfig({ streams: [{ id: 'a', ...o } as never] }));
    expect(stream({ source: 'a.mp4', live: false })).toMatch(/"live" applies to URL sources only/);
    expect(stream({ source: 'rtsp://cam/s', loop: true })).toMatch(/"loop" applies to files only/);
    expect(stream({ source: 'http://h/a.mp4', realtime: true })).toMatch(/"realtime" applies to a URL only with "live": false/);
    expect(stream({ source: 'push', realtime: false })).toMatch(/"realtime" does not apply to a pushed stream/);
    // what fits is kept
    expect(resolveConfig({ streams: [{ id: 'a', source: 'http://h/a.mp4', live: false, realtime: false }] }).streams[0]).toMatchObject({ live: false, realtime: false });
    expect(resolveConfig({ streams: [{ id: 'a', source: 'a.mp4', realtime: false, loop: true }] }).streams[0]).toMatchObject({ realtime: false, loop: true });
    // --stream sets only what it is given
    expect(serveConfig({ demo: false, stream: ['cam=rtsp://127.0.0.1/x', 'f=http://h/a.mp4#finite#fast', 'p=push'] }, {}).streams).toMatchObject([
      { id: 'cam', source: 'rtsp://127.0.0.1/x', realtime: true, loop: false },
      { id: 'f', live: false, realtime: false },
      { id: 'p', source: 'push' },
    ]);
    expect(invalid(() => serveConfig({ demo: false, stream: ['p=push#loop'] }, {}))).toMatch(/"loop" does not apply to a pushed stream/);
    expect(invalid(() => serveConfig({ demo: false, stream: ['c=a.mp4#slow'] }, {}))).toMatch(/#slow/);
  });

  it('serve prints a URL others can open when bound to every interface, not http://0.0.0.0', () => {
    const lan = { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }], eth0: [{ address: '192.0.2.2', family: 'IPv4', internal: false }] } as never;
    expect(reachableUrl('http://0.0.0.0:18941', lan)).toBe('http://192.0.2.2:18941');
    expect(reachableUrl('http://[::]:18941', lan)).toBe('http://192.0.2.2:18941');
    expect(reachableUrl('http://0.0.0.0:18941', { lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }] } as never)).toBe('http://127.0.0.1:18941');
    expect(reachableUrl('http://127.0.0.1:8080', lan)).toBe('http://127.0.0.1:8080');
  });

  it('serve opens the looping demo stream when it is given no stream (and not told not to), and parses --stream', () => {
    expect(serveConfig({}, {}).streams).toEqual([expect.objectContaining({ id: 'demo', realtime: true, loop: true })]);
    const c = serveConfig({ stream: ['cam=rtsp://127.0.0.1/x', 'clip=a.mp4#fast#loop'] }, {});
    expect(c.streams.map((s) => s.id)).toEqual(['cam', 'clip']); // a site's own streams replace the demo
    expect(c.streams[1]).toMatchObject({ source: 'a.mp4', realtime: false, loop: true });
    expect(serveConfig({ demo: false }, {}).streams).toEqual([]);
    expect(serveConfig({}, { PORT: '9999' }).port).toBe(9999);
  });

  it('takes the model settings serve shares with detect from the file and from flags, flags winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gs-config-'));
    try {
      const file = join(dir, 'model.json');
      writeFileSync(file, JSON.stringify({ providers: ['cuda', 'cpu'], threshold: 0.1, nmsIou: 0.5, variant: 'model_quantized.onnx' }));
      expect(serveConfig({ config: file, demo: false }, {})).toMatchObject({ providers: ['cuda', 'cpu'], threshold: 0.1, nmsIou: 0.5, variant: 'model_quantized.onnx' });
      const c = serveConfig({ config: file, demo: false, provider: ['cpu'], threshold: 0.02, nms: 'off', variant: 'fp16' }, {});
      expect(c).toMatchObject({ providers: ['cpu'], threshold: 0.02, nmsIou: null, variant: 'fp16' });
      expect(serveConfig({ demo: false, nms: 0.3 }, {}).nmsIou).toBe(0.3);
      // unset: the model's own
      const none = serveConfig({ demo: false }, {});
      expect([none.threshold, none.nmsIou, none.variant, none.providers]).toEqual([undefined, undefined, undefined, ['cpu']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses model settings out of range, naming them', () => {
    expect(invalid(() => serveConfig({ demo: false, threshold: 1.5 }, {}))).toMatch(/threshold must be a number in \[0, 1\], got 1\.5/);
    expect(invalid(() => serveConfig({ demo: false, nms: 2 }, {}))).toMatch(/nmsIou must be an IoU in \(0, 1\], or null \(--nms off\) for no NMS, got 2/);
    expect(invalid(() => resolveConfig({ nmsIou: 'x' as never }))).toMatch(/nmsIou/);
    expect(invalid(() => resolveConfig({ variant: '' }))).toMatch(/variant must be a non-empty string/);
    expect(invalid(() => resolveConfig({ providers: [] }))).toMatch(/providers must name at least one execution provider/);
  });
});
