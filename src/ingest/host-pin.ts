/**
 * Host names looked up in Node, for an ffmpeg that cannot look them up itself.
 *
 * The bundled ffmpeg (@ffmpeg-installer, a static build) crashes with SIGSEGV on any host name,
 * `localhost` included: glibc's resolver, linked statically, loads the system's NSS modules at
 * run time, and they do not match it. Addresses work. So when that binary reads a URL, every
 * (re)connect looks the URL's host up here and hands ffmpeg the address instead; HTTP(S) keep the
 * name in their Host header, so that virtual hosts still answer. What this cannot cover, and the
 * status says so when it happens: a redirect or an HLS playlist naming another host (ffmpeg looks
 * that one up itself), and TLS servers that need the name in SNI (ffmpeg sends none to an address).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { GroundstreamError } from '../errors.js';

/** Every address of a host name, in the resolver's order. */
export type HostLookup = (host: string) => Promise<readonly { address: string; family: number }[]>;

const systemLookup: HostLookup = (host) => dnsLookup(host, { all: true });

/** A URL with its host name replaced by an address. */
export interface PinnedUrl {
  readonly url: string;
  /** The Host header HTTP(S) must send (the name, and the port as written), when a name was replaced. */
  readonly hostHeader?: string;
}

interface Authority {
  /** Up to and including `://` and any `user:password@`. */
  readonly before: string;
  readonly host: string;
  /** `:port` and everything after the host. */
  readonly after: string;
  readonly port: string;
}

/** Splits `scheme://[userinfo@]host[:port]rest`; undefined for an IPv6 literal or no authority. */
function splitAuthority(url: string): Authority | undefined {
  const start = url.indexOf('://');
  if (start < 0) return undefined;
  const from = start + 3;
  // Where ffmpeg ends the authority: at `/` or `?` (a `#` may sit in a password).
  const end = url.slice(from).search(/[/?]/);
  const authority = end < 0 ? url.slice(from) : url.slice(from, from + end);
  // A password may hold `@`: the host starts after the last one, as ffmpeg splits it.
  const at = authority.lastIndexOf('@');
  const hostPort = authority.slice(at + 1);
  if (hostPort.startsWith('[')) return undefined; // [v6 address]
  const colon = hostPort.indexOf(':');
  const host = colon < 0 ? hostPort : hostPort.slice(0, colon);
  const port = colon < 0 ? '' : hostPort.slice(colon);
  const before = url.slice(0, from + at + 1);
  return { before, host, port, after: url.slice(before.length + host.length) };
}

/** The host a URL names (an IPv6 literal without its brackets); undefined without an authority. */
export function urlHost(url: string): string | undefined {
  const a = splitAuthority(url);
  if (a) return a.host || undefined;
  const v6 = /^[a-z][a-z0-9+.,-]*:\/\/(?:[^/?]*@)?\[([0-9a-f:.%]+)\]/i.exec(url);
  return v6?.[1];
}

/** Every address of the URL's host: the host itself when it is an address, else looked up (IPv4
 * first). undefined without a host. INGEST_OPEN_FAILED when the name does not resolve in time. */
export async function hostAddresses(url: string, lookup: HostLookup = systemLookup, timeoutMs = 10_000): Promise<readonly { address: string; family: number }[] | undefined> {
  const host = urlHost(url);
  if (!host) return undefined;
  const literal = isIP(host);
  if (literal) return [{ address: host, family: literal }];
  let addresses: readonly { address: string; family: number }[];
  let timer: NodeJS.Timeout | undefined;
  try {
    // The system's lookup has no deadline of its own (unreachable DNS servers take tens of seconds).
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { code: `no answer in ${timeoutMs} ms` })), timeoutMs);
    });
    addresses = await Promise.race([lookup(host), late]);
  } catch (e) {
    const why = e instanceof Error ? ((e as NodeJS.ErrnoException).code ?? e.message) : String(e);
    throw new GroundstreamError('INGEST_OPEN_FAILED', `cannot resolve host ${host}: ${why}`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
  if (!addresses.length) throw new GroundstreamError('INGEST_OPEN_FAILED', `cannot resolve host ${host}: no address`);
  return [...addresses.filter((x) => x.family === 4), ...addresses.filter((x) => x.family !== 4)];
}

/**
 * `url` with its host name replaced by one of its addresses: IPv4 ones first (cameras and test
 * servers listen there more often than on IPv6), and the `attempt`-th of them (counting from 0,
 * round and round), so that retries go through every address as ffmpeg itself would. Addresses
 * and IPv6 literals come back unchanged. A name that does not resolve fails with
 * INGEST_OPEN_FAILED, naming it.
 */
export async function pinHost(url: string, lookup: HostLookup = systemLookup, attempt = 0, timeoutMs = 10_000): Promise<PinnedUrl> {
  const a = splitAuthority(url);
  if (!a || !a.host || isIP(a.host)) return { url };
  return pinTo(url, (await hostAddresses(url, lookup, timeoutMs))!, attempt);
}

/** pinHost with the host's addresses already looked up (hostAddresses). */
export function pinTo(url: string, addresses: readonly { address: string; family: number }[], attempt = 0): PinnedUrl {
  const a = splitAuthority(url);
  if (!a || !a.host || isIP(a.host) || !addresses.length) return { url };
  const chosen = addresses[attempt % addresses.length]!;
  const address = chosen.family === 6 ? `[${chosen.address}]` : chosen.address;
  return { url: a.before + address + a.after, hostHeader: a.host + a.port };
}
