/**
 * Wire protocol version. Bumped on any change a peer of the previous version cannot handle (see
 * docs/protocol.md, "Versioning"); the WebSocket path carries it, so v1 and v2 can be served side by side.
 */
export const PROTOCOL_VERSION = 1;

/** The WebSocket endpoint path for this protocol version. */
export const WS_PATH = `/v${PROTOCOL_VERSION}/ws`;

/** The WebSocket subprotocol a client offers first and the server selects. */
export const SUBPROTOCOL = `groundstream.v${PROTOCOL_VERSION}`;
