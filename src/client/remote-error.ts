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

/**
 * CLIENT_CONNECTION_REJECTED because the server closed the connection with a code that means
 * "do not come back as you are" (docs/protocol.md, close codes): 4001 a missing or unknown token,
 * 4003 a token without the right, 4010 another protocol version. The code and the server's reason
 * are fields, so a program can tell them apart without reading the message.
 */
export class ConnectionRejectedError extends GroundstreamError {
  constructor(
    readonly closeCode: number,
    readonly closeReason: string,
  ) {
    super('CLIENT_CONNECTION_REJECTED', `close code ${closeCode}${closeReason ? ` (${closeReason})` : ''}`);
    this.name = 'ConnectionRejectedError';
  }
}
