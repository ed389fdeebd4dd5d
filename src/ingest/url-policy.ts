/**
 * What a source may open. URL sources: only the protocols the operator allows, and ffmpeg is told
 * the same list (-protocol_whitelist), so a playlist or redirect cannot pull in `file:` or
 * `concat:` behind our back. File sources: only inside configured directories, checked on the
 * real path (no escape through `..` or symlinks), read with a demuxer allow-list so that a local
 * playlist cannot reach other files. Capture devices: only when enabled.
 */
import { realpath as fsRealpath, stat as fsStat } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { GroundstreamError } from '../errors.js';
import { urlHost } from './host-pin.js';

export interface IngestPolicy {
  /** URL schemes a URL source may use. Default DEFAULT_PROTOCOLS. `file`, `concat`, `subfile`,
   * `pipe` and anything else are refused unless listed. */
  readonly allowedProtocols?: readonly string[];
  /** Directories file sources may read from (symlinks resolved). Default none: file sources are
   * refused. Relative file paths are looked up in each, in order. */
  readonly fileRoots?: readonly string[];
  /** Demuxers a file source may use (ffmpeg -format_whitelist). Default DEFAULT_FILE_FORMATS. */
  readonly fileFormats?: readonly string[];
  /** Whether V4L2 capture devices (/dev/videoN) may be opened. Default false. */
  readonly allowDevices?: boolean;
  /** Networks (CIDR) URL sources may not reach: checked on the address when the source is added
   * and on every address its host name has at each (re)connect. Default DEFAULT_DENIED_NETWORKS. */
  readonly deniedNetworks?: readonly string[];
}

/**
 * Where no camera lives and cloud credentials do: link-local (the instance metadata services of
 * AWS, GCP and Azure at 169.254.169.254; AWS's IPv6 one, fd00:ec2::254; Alibaba's 100.100.100.200)
 * and `0.0.0.0/8` and `::` (which Linux connects to this machine). Private networks and loopback stay
 * reachable, since cameras and local test servers live there: deny them in the config if yours do not.
 */
export const DEFAULT_DENIED_NETWORKS: readonly string[] = ['0.0.0.0/8', '::/128', '169.254.0.0/16', '100.100.100.200/32', 'fe80::/10', 'fd00:ec2::254/128'];

/** A BlockList of `cidrs`; CONFIG_INVALID naming the first that is not an IPv4 or IPv6 CIDR. */
export function deniedNetworkList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(typeof c === 'string' ? c.trim() : '');
    const family = m ? isIP(m[1]!) : 0;
    const bits = m ? Number(m[2]) : NaN;
    if (!m || !family || bits > (family === 4 ? 32 : 128)) {
      throw new GroundstreamError('CONFIG_INVALID', `deniedNetworks: ${JSON.stringify(c)} is not a network in CIDR form (e.g. "10.0.0.0/8", "fc00::/7")`);
    }
    list.addSubnet(m[1]!, bits, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

/** Whether `address` lies in a denied network (an IPv4-mapped IPv6 address counts as its IPv4). */
export function isDenied(address: string, list: BlockList): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? (isIP(address) === 4 ? address : undefined);
  return v4 ? list.check(v4, 'ipv4') : isIP(address) === 6 && list.check(address, 'ipv6');
}

/** INGEST_DESTINATION_REFUSED when any of `addresses` (those of `host`) is denied. */
export function checkDestination(host: string, addresses: readonly { address: string }[], list: BlockList): void {
  const bad = addresses.find((a) => isDenied(a.address, list));
  if (bad) {
    const via = bad.address === host ? '' : ` (${host} resolves to it)`;
    throw new GroundstreamError('INGEST_DESTINATION_REFUSED', `${bad.address}${via} is in a denied network (deniedNetworks)`);
  }
}

export const DEFAULT_PROTOCOLS: readonly string[] = ['rtsp', 'rtsps', 'http', 'https'];

/** Containers a clip may come in; playlists (hls), concat lists and image sequences are left out
 * because they open further files. */
export const DEFAULT_FILE_FORMATS: readonly string[] = [
  'mov', 'matroska', 'mpegts', 'avi', 'flv', 'mpeg', 'h264', 'hevc', 'mjpeg', 'ivf', 'yuv4mpegpipe', 'nut', 'ogg',
];

/** ffmpeg protocols each allowed scheme needs internally. HLS over http(s) needs `hls` and, for
 * encrypted segments, `crypto`; both only wrap another protocol, which is checked too. */
const PROTOCOL_NEEDS: Readonly<Record<string, readonly string[]>> = {
  http: ['http', 'tcp', 'hls', 'crypto'],
  https: ['https', 'tls', 'tcp', 'hls', 'crypto'],
  rtsp: ['rtsp', 'rtp', 'srtp', 'tcp', 'udp'],
  rtsps: ['rtsps', 'rtsp', 'rtp', 'srtp', 'tcp', 'tls', 'udp'],
  rtmp: ['rtmp', 'tcp'],
  rtmps: ['rtmps', 'tls', 'tcp'],
  rtp: ['rtp', 'udp'],
  srt: ['srt'],
};

export type RtspTransport = 'tcp' | 'udp';

/** Where frames come from, before the policy is applied. */
export type SourceSpec =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'url';
      readonly url: string;
      /** RTSP only. Default 'tcp' (works through NAT and firewalls; UDP loses packets). */
      readonly rtspTransport?: RtspTransport;
      /** Whether the URL is a live stream: reconnect when it drops, no pacing. Default true; set
       * false for a finite video served over HTTP (then it ends like a file). */
      readonly live?: boolean;
    }
  | {
      readonly kind: 'device';
      readonly path: string;
      /** V4L2 options passed to ffmpeg: e.g. 'mjpeg', '1280x720', 30. Default: the device's. */
      readonly inputFormat?: string;
      readonly videoSize?: string;
      readonly framerate?: number;
    };

/** A source that passed the policy: what ffmpeg opens and how. */
export interface ResolvedInput {
  readonly kind: SourceSpec['kind'];
  /** The argument of ffmpeg's -i: `file:` + real path, the URL, or the device path. */
  readonly target: string;
  /** ffmpeg protocols allowed while reading it. */
  readonly protocols: readonly string[];
  /** ffmpeg demuxers allowed (files only). */
  readonly formats?: readonly string[];
  /** Live: reconnects when it drops, runs at its own rate. */
  readonly live: boolean;
  readonly rtspTransport?: RtspTransport;
  readonly device?: { readonly inputFormat?: string; readonly videoSize?: string; readonly framerate?: number };
  /** For status and logs: the target with credentials redacted, or a file as it was named (not
   * its real path). */
  readonly display: string;
  /** URLs: the networks the host's addresses may not be in, checked at each (re)connect. */
  readonly denied?: BlockList;
}

const DEVICE_RE = /^\/dev\/video\d+$/;

/**
 * Reads a source written as text: `rtsp://…`, `http(s)://…` (HLS too), other `scheme://…`,
 * `v4l2:/dev/video0` (or `/dev/videoN`), `file:clips/a.mp4`, `file:///abs/a.mp4`, or a plain path.
 */
export function parseSourceUri(uri: string): SourceSpec {
  const s = uri.trim();
  if (s.length === 0 || /[\0\r\n]/.test(s)) throw new GroundstreamError('INGEST_SOURCE_INVALID', JSON.stringify(uri));
  if (s.startsWith('v4l2:')) return { kind: 'device', path: s.slice(5) };
  if (DEVICE_RE.test(s)) return { kind: 'device', path: s };
  if (s.startsWith('file://')) return { kind: 'file', path: decodeURIComponent(new URL(s).pathname) };
  if (s.startsWith('file:')) return { kind: 'file', path: s.slice(5) };
  // Any other `scheme:` is a URL, so that `concat:`, `subfile,,…:` or `pipe:` reach the protocol check.
  if (/^[a-z][a-z0-9+.,-]*:/i.test(s) && !/^[a-z]:[\\/]/i.test(s)) return { kind: 'url', url: s };
  return { kind: 'file', path: s };
}

/** The ffmpeg -protocol_whitelist for the allowed schemes: each plus what it needs inside. */
export function protocolWhitelist(allowed: readonly string[] = DEFAULT_PROTOCOLS): string[] {
  const out = new Set<string>();
  for (const p of allowed) for (const q of PROTOCOL_NEEDS[p.toLowerCase()] ?? [p.toLowerCase()]) out.add(q);
  return [...out];
}

/** The URL's scheme if the policy allows it; otherwise INGEST_PROTOCOL_REFUSED. */
export function checkUrl(url: string, policy: IngestPolicy = {}): string {
  const m = /^([a-z][a-z0-9+.,-]*):/i.exec(url);
  const scheme = m?.[1]?.toLowerCase();
  if (!scheme) throw new GroundstreamError('INGEST_SOURCE_INVALID', `not a URL: ${redactSecrets(url)}`);
  const allowed = (policy.allowedProtocols ?? DEFAULT_PROTOCOLS).map((p) => p.toLowerCase());
  // A nested scheme (`hls+http`, `crypto+file`) or a list (`subfile,,…`) must be allowed as written.
  if (!allowed.includes(scheme)) {
    throw new GroundstreamError('INGEST_PROTOCOL_REFUSED', `${scheme} (allowed: ${allowed.join(', ') || 'none'})`);
  }
  if (!url.slice(scheme.length + 1).startsWith('//')) {
    throw new GroundstreamError('INGEST_SOURCE_INVALID', `expected ${scheme}://…: ${redactSecrets(url)}`);
  }
  // Where the host ends is read differently by different ffmpeg builds when the authority holds
  // `#` (5.x ends it there, the bundled 2018 build does not) or `\`: `http://10.0.0.1#@camera/`
  // would be checked as `camera` and opened as 10.0.0.1. Such characters in a user name or
  // password are written percent-encoded (%23, %5C).
  const authority = url.slice(scheme.length + 3).split(/[/?]/, 1)[0]!;
  if (/[#\\\s]/.test(authority)) {
    throw new GroundstreamError('INGEST_SOURCE_INVALID', `the host part of ${redactSecrets(url)} holds "#", "\\" or a space, which ffmpeg builds read differently; percent-encode them in a user name or password (%23, %5C, %20)`);
  }
  return scheme;
}

export interface FsProbe {
  realpath(path: string): Promise<string>;
  isFile(path: string): Promise<boolean>;
}

const realFs: FsProbe = {
  realpath: (p) => fsRealpath(p),
  isFile: async (p) => (await fsStat(p)).isFile(),
};

/** Whether `child` is `root` or below it; both must be real (symlink-free, absolute) paths. */
export function isInside(root: string, child: string): boolean {
  const rel = relative(root, child);
  return rel === '' || (!rel.startsWith('..' + sep) && rel !== '..' && !isAbsolute(rel));
}

/**
 * The real path of `path` if it is a regular file inside one of `roots`; otherwise
 * INGEST_PATH_REFUSED (outside, or no roots) or INGEST_SOURCE_INVALID (missing, not a file).
 * A relative path is tried against the working directory first (`fixtures/clips/a.mp4` typed in
 * the repository), then against each root (`clips/a.mp4` with fixtures/ as a root); either way
 * the file it names must lie inside a root.
 */
export async function confineFile(path: string, roots: readonly string[], fs: FsProbe = realFs): Promise<string> {
  if (roots.length === 0) throw new GroundstreamError('INGEST_PATH_REFUSED', `${path} (no file directories configured)`);
  const realRoots = await Promise.all(roots.map((r) => fs.realpath(resolve(r)).catch(() => undefined)));
  const candidates = isAbsolute(path) ? [path] : [resolve(path), ...roots.map((r) => resolve(r, path))];
  // Missing: said so only for a name inside an allowed directory. Otherwise "refused" whether or
  // not it exists, or the answer would tell anyone who may add streams which files the server has.
  const mayName = (c: string) => [...roots.map((r) => resolve(r)), ...realRoots].some((r) => r !== undefined && isInside(r, resolve(c)));
  let missingInside = false;
  for (const c of candidates) {
    const real = await fs.realpath(c).catch(() => undefined);
    if (real === undefined) {
      missingInside ||= mayName(c);
      continue;
    }
    if (realRoots.some((r) => r !== undefined && isInside(r, real))) {
      if (!(await fs.isFile(real).catch(() => false))) throw new GroundstreamError('INGEST_SOURCE_INVALID', `not a regular file: ${path}`);
      return real;
    }
  }
  if (missingInside) {
    const where = isAbsolute(path) ? '' : ' (relative paths are looked up in the working directory and in each allowed directory)';
    throw new GroundstreamError('INGEST_SOURCE_INVALID', `no such file: ${path}${where}`);
  }
  throw new GroundstreamError('INGEST_PATH_REFUSED', path);
}

/** Applies the policy to a source: refuses what it does not allow, resolves files to real paths. */
export async function resolveSource(spec: SourceSpec, policy: IngestPolicy = {}, fs: FsProbe = realFs): Promise<ResolvedInput> {
  switch (spec.kind) {
    case 'url': {
      const scheme = checkUrl(spec.url, policy);
      const rtsp = scheme === 'rtsp' || scheme === 'rtsps';
      const denied = deniedNetworkList(policy.deniedNetworks ?? DEFAULT_DENIED_NETWORKS);
      // an address is checked now; a name when the source connects (it may not resolve yet)
      const host = urlHost(spec.url);
      // (a host we cannot read, e.g. an IPv6 zone id, could not be checked at connect either)
      if (!host) throw new GroundstreamError('INGEST_SOURCE_INVALID', `no host that can be checked in ${redactSecrets(spec.url)}`);
      if (isIP(host)) checkDestination(host, [{ address: host }], denied);
      return {
        denied,
        kind: 'url',
        target: spec.url,
        protocols: protocolWhitelist(policy.allowedProtocols ?? DEFAULT_PROTOCOLS),
        live: spec.live ?? true,
        ...(rtsp && { rtspTransport: spec.rtspTransport ?? 'tcp' }),
        display: redactSecrets(spec.url),
      };
    }
    case 'file': {
      const real = await confineFile(spec.path, policy.fileRoots ?? [], fs);
      return {
        kind: 'file',
        target: `file:${real}`,
        protocols: ['file'],
        formats: policy.fileFormats ?? DEFAULT_FILE_FORMATS,
        live: false,
        display: spec.path, // as given: where the server keeps its files is its own business
      };
    }
    case 'device': {
      if (!policy.allowDevices) throw new GroundstreamError('INGEST_DEVICE_REFUSED', `${spec.path} (devices are disabled)`);
      const real = await fs.realpath(spec.path).catch(() => undefined);
      if (real === undefined) throw new GroundstreamError('INGEST_SOURCE_INVALID', `no such device: ${spec.path}`);
      if (!DEVICE_RE.test(real)) throw new GroundstreamError('INGEST_DEVICE_REFUSED', `${spec.path} is not a V4L2 device`);
      const { inputFormat, videoSize, framerate } = spec;
      if (inputFormat !== undefined && !/^[a-z0-9_]+$/i.test(inputFormat)) throw new GroundstreamError('INGEST_SOURCE_INVALID', `input format ${inputFormat}`);
      if (videoSize !== undefined && !/^\d{1,5}x\d{1,5}$/.test(videoSize)) throw new GroundstreamError('INGEST_SOURCE_INVALID', `video size ${videoSize}`);
      if (framerate !== undefined && !(framerate > 0 && framerate <= 1000)) throw new GroundstreamError('INGEST_SOURCE_INVALID', `frame rate ${framerate}`);
      return {
        kind: 'device',
        target: real,
        protocols: ['file'],
        live: true,
        device: { ...(inputFormat && { inputFormat }), ...(videoSize && { videoSize }), ...(framerate && { framerate }) },
        display: real,
      };
    }
  }
}

/** Query parameters that carry credentials in camera URLs (`?user=admin&pwd=...`, `?token=...`). */
const SECRET_PARAM = /([?&;][a-z0-9_.-]*?(?:pass(?:word|phrase)?|passwd|pas|pwd|pw|token|key|secret|auth|sig(?:nature)?|credentials?|session(?:[_-]?id)?|sid)=)[^&;#\s"']*/gi;

/** Hides credentials in URLs: `user:password@`, and the values of query parameters named like
 * secrets (ffmpeg repeats the URL in its errors, and the API shows each stream's source). */
export function redactSecrets(text: string): string {
  // Up to the last `@` before the path: a password may itself hold `@` (ffmpeg splits at the last);
  // not across spaces (`rtsp://cam:554 refused; mail admin@example.com` keeps its host).
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s"]*@/gi, '$1***@').replace(SECRET_PARAM, '$1***');
}
