/**
 * The WebSocket the client runs on: the browser's global, or `ws` in Node 20 (which has no global
 * WebSocket), or one the caller passes. Both speak the same event-handler API used here.
 */
import { GroundstreamError } from '../protocol/protocol-error.js';

/** The subset of the WHATWG WebSocket the client uses; the browser's and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  // `any` events: the browser's and ws's handler types differ, and handlers only read plain fields.
  onopen: ((event: any) => unknown) | null;
  onmessage: ((event: any) => unknown) | null;
  onclose: ((event: any) => unknown) | null;
  onerror: ((event: any) => unknown) | null;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export const WS_OPEN = 1;

/**
 * `override`, else globalThis.WebSocket, else `ws` loaded on demand. The specifier is a variable
 * so browser bundlers do not try to bundle `ws`; browsers never reach that branch.
 * Throws CLIENT_NO_WEBSOCKET when none is available.
 */
export async function resolveWebSocket(override?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (override) return override;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (typeof global === 'function') return global;
  const specifier = 'ws';
  try {
    const mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as {
      WebSocket?: WebSocketConstructor;
      default?: WebSocketConstructor;
    };
    const ctor = mod.WebSocket ?? mod.default;
    if (typeof ctor === 'function') return ctor;
  } catch (e) {
    throw new GroundstreamError('CLIENT_NO_WEBSOCKET', 'no global WebSocket and the "ws" package could not be loaded', { cause: e });
  }
  throw new GroundstreamError('CLIENT_NO_WEBSOCKET', 'the "ws" package exports no WebSocket');
}
