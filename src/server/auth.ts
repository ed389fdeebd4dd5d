/**
 * API tokens and their rights, and the browser Origin allow-list. Tokens are compared in constant
 * time (SHA-256 digests through timingSafeEqual, every token checked, no early exit).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { tokenFromSubprotocols } from '../protocol/index.js';

export type Right = 'watch' | 'push' | 'manage';
export const ALL_RIGHTS: readonly Right[] = ['watch', 'push', 'manage'];

export interface TokenSpec {
  token: string;
  rights: Right[];
  /** For logs; never the token itself. */
  name?: string;
}

export interface AuthConfig {
  tokens: TokenSpec[];
  /** Whether requests need a token. */
  required: boolean;
  /** Origins browsers may connect from; empty = any. Requests without Origin are not browsers. */
  allowedOrigins: string[];
}

export type AuthResult = { ok: true; rights: ReadonlySet<Right>; name: string } | { ok: false; status: 401 | 403; reason: string };

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** True when `host` is a loopback address (auth is optional there). */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host);
}

export class Auth {
  private readonly tokens: { hash: Buffer; rights: ReadonlySet<Right>; name: string }[];

  constructor(private readonly cfg: AuthConfig) {
    this.tokens = cfg.tokens.map((t, i) => ({ hash: digest(t.token), rights: new Set(t.rights), name: t.name ?? `token${i + 1}` }));
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
    return found ? { ok: true, rights: found.rights, name: found.name } : { ok: false, status: 401, reason: 'unknown token' };
  }

  /** Origin first (browsers), then the token: `Authorization: Bearer`, or the WebSocket subprotocol. */
  authenticate(req: IncomingMessage): AuthResult {
    const origin = req.headers.origin;
    if (origin && this.cfg.allowedOrigins.length && !this.cfg.allowedOrigins.includes(origin)) {
      return { ok: false, status: 403, reason: `origin ${origin} is not allowed` };
    }
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const offered = req.headers['sec-websocket-protocol'];
    const sub = offered ? tokenFromSubprotocols(String(offered).split(',')) : undefined;
    return this.check(bearer ?? sub);
  }
}
