/**
 * Carrying a bearer token in the WebSocket handshake. Browsers cannot set headers on a WebSocket,
 * so the token travels as a second offered subprotocol, `groundstream.bearer.<base64url(token)>`
 * (the pattern Kubernetes uses); the server must select SUBPROTOCOL, never the bearer entry.
 * Query strings are avoided because they end up in access logs.
 */
import { SUBPROTOCOL } from './version.js';

export const BEARER_PREFIX = 'groundstream.bearer.';

/** The subprotocols a client offers: SUBPROTOCOL first, then the token if any. */
export function clientSubprotocols(token?: string): string[] {
  return token ? [SUBPROTOCOL, BEARER_PREFIX + base64UrlEncode(token)] : [SUBPROTOCOL];
}

/** The token from an offered subprotocol list (header value split on commas), or undefined. */
export function tokenFromSubprotocols(offered: Iterable<string>): string | undefined {
  for (const p of offered) {
    const trimmed = p.trim();
    if (trimmed.startsWith(BEARER_PREFIX)) return base64UrlDecode(trimmed.slice(BEARER_PREFIX.length));
  }
  return undefined;
}

function base64UrlEncode(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function base64UrlDecode(encoded: string): string | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return undefined;
  try {
    const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
