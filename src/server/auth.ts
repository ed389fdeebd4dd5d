/**
 * API tokens and their rights, and the browser Origin allow-list. Tokens are compared in constant
 * time (SHA-256 digests through timingSafeEqual, every token checked, no early exit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { tokenFromSubprotocols } from '../protocol/index.js';

export type Right = 'watch' | 'push' | 'manage';
export const ALL_RIGHTS: readonly Right[] = ['watch', 'push', 'manage'];

export interface TokenSpec {
  token: string;
  rights: Right[];
  /** For logs; never the token itself. */
  name?: string;
  /** WebSocket connections open at once with this token, at most. Default: no cap of its own. */
  maxClients?: number;
}

export interface AuthConfig {
  tokens: TokenSpec[];
  /** Whether requests need a token. */
  required: boolean;
  /** Origins browsers may connect from. Empty: any, where tokens are required (a page needs one
   * to get anywhere); on a server without tokens, only its own pages and pages served from this
   * machine (a loopback host name). Requests without Origin are not browsers. */
  allowedOrigins: string[];
  /** The server needs no token and listens on loopback only: then it answers only requests for a
   * loopback host name (a page whose name was rebound to 127.0.0.1 is refused). */
  localOnly?: boolean;
  /** Also refuse requests a proxy says it passed on from elsewhere (requireAuth "auto": a proxy in
   * front of a tokenless server would serve everyone behind it). Best effort: a proxy that adds no
   * forwarding header is not seen. */
  refuseProxied?: boolean;
}

/** Headers a proxy adds; a request with any of them (other than a loopback address) came from elsewhere. */
const FORWARDED = ['x-forwarded-for', 'x-real-ip', 'forwarded', 'via', 'x-forwarded-host'] as const;

function proxiedFromElsewhere(req: IncomingMessage): boolean {
  for (const name of FORWARDED) {
    const v = req.headers[name];
    if (v === undefined) continue;
    if (name !== 'x-forwarded-for' && name !== 'x-real-ip') return true;
    // a local development proxy says 127.0.0.1 or ::1: that is still this machine
    const addrs = String(v).split(',').map((a) => a.trim());
    if (!addrs.every((a) => isLoopback(a) || a === '::ffff:127.0.0.1')) return true;
  }
  return false;
}

export type AuthResult =
  | {
      ok: true;
      rights: ReadonlySet<Right>;
      name: string;
      /** Which token (its place in the list), for counting its connections; absent without tokens. */
      token?: number;
      /** That token's cap on connections at once (TokenSpec.maxClients). */
      maxClients?: number;
    }
  | { ok: false; status: 401 | 403; reason: string };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `host` is a loopback address or name (auth is optional there): 127.0.0.0/8 and ::1
 * as addresses only (`127.0.0.1.attacker.example` is a name like any other), `localhost` and
 * `*.localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
  return bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'));
}

/** The host name of a Host header or an origin's authority (no port, IPv6 in brackets). */
function hostName(authority: string): string {
  try {
    return new URL(`http://${authority}`).hostname.toLowerCase();
  } catch {
    return '';
  }
}

export class Auth {
  private readonly tokens: { hash: Buffer; rights: ReadonlySet<Right>; name: string; index: number; maxClients?: number }[];

  constructor(private readonly cfg: AuthConfig) {
    this.tokens = cfg.tokens.map((t, i) => ({
      hash: digest(t.token),
      rights: new Set(t.rights),
      name: t.name ?? `token${i + 1}`,
      index: i,
      ...(t.maxClients !== undefined ? { maxClients: t.maxClients } : {}),
    }));
  }

  get required(): boolean {
    return this.cfg.required;
  }

  /** The rights `token` carries, in constant time with respect to the token list. */
  check(token: string | undefined): AuthResult {
    if (!this.cfg.required) return { ok: true, rights: new Set(ALL_RIGHTS), name: 'anonymous' };
    if (!token) return { ok: false, status: 401, reason: 'a token is required' };
    const h = digest(token);
    let found: (typeof this.tokens)[number] | undefined;
    for (const t of this.tokens) if (timingSafeEqual(t.hash, h) && !found) found = t;
    if (!found) return { ok: false, status: 401, reason: 'unknown token' };
    return { ok: true, rights: found.rights, name: found.name, token: found.index, ...(found.maxClients !== undefined ? { maxClients: found.maxClients } : {}) };
  }

  /**
   * Where a request comes from, before any token: a browser page's Origin (see allowedOrigins),
   * and on a tokenless loopback server the Host it named and whether a proxy passed it on (see
   * localOnly). null when it may go on. Without this, any web page the operator opened could
   * watch, push to and add streams on a tokenless local server (cross-site WebSocket, a form
   * POST), or read its API after rebinding its own name to 127.0.0.1.
   */
  refusal(req: IncomingMessage): AuthResult | null {
    const origin = req.headers.origin;
    if (origin && !this.originAllowed(origin, req.headers.host ?? '')) {
      const how = this.cfg.allowedOrigins.length ? 'it is not in allowedOrigins' : 'pages from other sites need allowedOrigins';
      return { ok: false, status: 403, reason: `origin ${origin} is not allowed (${how})` };
    }
    if (this.cfg.localOnly) {
      const host = req.headers.host ?? '';
      if (!isLoopback(hostName(host))) {
        return { ok: false, status: 403, reason: `host ${JSON.stringify(host)} is not a loopback name, and this server without tokens answers local names only` };
      }
    }
    if (this.cfg.refuseProxied && proxiedFromElsewhere(req)) {
      return { ok: false, status: 403, reason: 'a request a proxy passed on from elsewhere needs a token, and this server has none: give it tokens to serve through a proxy' };
    }
    return null;
  }

  private originAllowed(origin: string, host: string): boolean {
    let o: URL | undefined;
    try {
      o = new URL(origin);
    } catch {
      o = undefined; // "null" (a sandboxed or file: page) and anything unparsable
    }
    // the server's own pages always (where the Host could be a rebound name, localOnly refused it)
    if (o && o.host.toLowerCase() === host.toLowerCase()) return true;
    if (this.cfg.allowedOrigins.length) return this.cfg.allowedOrigins.includes(origin);
    if (this.cfg.required) return true;
    return !!o && isLoopback(o.hostname);
  }

  /** Origin first (browsers), then the token: `Authorization: Bearer`, or the WebSocket subprotocol. */
  authenticate(req: IncomingMessage): AuthResult {
    const refused = this.refusal(req);
    if (refused) return refused;
    const header = req.headers.authorization;
    const bearer = /^bearer /i.test(header ?? '') ? header!.slice(7).trim() : undefined;
    const offered = req.headers['sec-websocket-protocol'];
    const sub = offered ? tokenFromSubprotocols(String(offered).split(',')) : undefined;
    return this.check(bearer ?? sub);
  }
}
