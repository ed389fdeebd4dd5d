import type { ErrorMessage } from '../protocol/messages.js';

/**
 * An `error` message from the server, as an Error. `code` is a string, not a catalog type: a newer
 * server may send codes this client does not know.
 */
export class RemoteError extends Error {
  readonly code: string;
  /** The id of the message it answers, or `<stream>/<seq>` of a pushed frame. */
  readonly ref?: string;
  constructor(msg: Pick<ErrorMessage, 'code' | 'message' | 'ref'>) {
    super(msg.message);
    this.name = 'RemoteError';
    this.code = msg.code;
    if (msg.ref !== undefined) this.ref = msg.ref;
  }
}
