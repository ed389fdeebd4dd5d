/** The stream table a client keeps: listed by `hello`, then changed by `status` messages. Pure. */
import type { HelloMessage, StatusMessage, StreamInfo } from '../protocol/messages.js';

export function streamsFromHello(hello: HelloMessage): readonly StreamInfo[] {
  return Object.freeze(hello.streams.map((s) => Object.freeze({ ...s })));
}

/** The table with `status` applied; a stream not seen before is added at the end, and one the
 * server removed (`ended`, detail `removed`) leaves it. */
export function applyStatus(streams: readonly StreamInfo[], status: StatusMessage): readonly StreamInfo[] {
  if (status.state === 'ended' && status.detail === 'removed') return Object.freeze(streams.filter((s) => s.id !== status.stream));
  const updated = (prev?: StreamInfo): StreamInfo => {
    const width = status.width ?? prev?.width;
    const height = status.height ?? prev?.height;
    return Object.freeze({
      id: status.stream,
      state: status.state,
      ...(width !== undefined ? { width } : {}),
      ...(height !== undefined ? { height } : {}),
    });
  };
  const i = streams.findIndex((s) => s.id === status.stream);
  const next = i < 0 ? [...streams, updated()] : streams.map((s, j) => (j === i ? updated(s) : s));
  return Object.freeze(next);
}
