import type { ErrorMessage } from '../protocol/messages.js';
import { GroundstreamError } from '../protocol/protocol-error.js';

/**
 * An `error` message from the server, as an Error. `code` is a string, not a catalog type: a newer
 * server may send codes this client does not know.
 */
export class RemoteError extends Error {
  readonly code: string;
  /** The id of the message it answers, or `<stream>/<seq>` of a pushed frame. */
  readonly ref?: string;
  /** The HTTP status, for an error from the HTTP API (client.streams). */
  readonly status?: number;
  constructor(msg: Pick<ErrorMessage, 'code' | 'message' | 'ref'>, status?: number) {
    super(msg.message);
    this.name = 'RemoteError';
    this.code = msg.code;
    if (msg.ref !== undefined) this.ref = msg.ref;
    if (status !== undefined) this.status = status;
  }
}

/** The server closed the connection with `closeCode` and said `closeReason`: both are fields, so
 * a program can tell the cases apart without reading the message. */
abstract class ClosedByServerError extends GroundstreamError {
  constructor(
    code: 'CLIENT_CONNECTION_REJECTED' | 'CLIENT_CONNECTION_LOST',
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super(code, `close code ${closeCode}${closeReason ? ` (${closeReason})` : ''}`);
  }
}

/**
 * CLIENT_CONNECTION_REJECTED because the server closed the connection with a code that means
 * "do not come back as you are" (docs/protocol.md, close codes): 4001 a missing or unknown token,
 * 4003 a token without the right, 4010 another protocol version.
 */
export class ConnectionRejectedError extends ClosedByServerError {
  constructor(closeCode: number, closeReason: string) {
    super('CLIENT_CONNECTION_REJECTED', closeCode, closeReason);
    this.name = 'ConnectionRejectedError';
  }
}

/**
 * The server closed the connection with a code that is worth a word but not fatal (the client
 * reconnects): 1013 (too many clients, from this address or with this token, said in the
 * reason), 1011, 1009, 4008. Reported on `errors$`, so that an app can show why it keeps
 * reconnecting.
 */
export class ConnectionLostError extends ClosedByServerError {
  constructor(closeCode: number, closeReason: string) {
    super('CLIENT_CONNECTION_LOST', closeCode, closeReason);
    this.name = 'ConnectionLostError';
  }
}
