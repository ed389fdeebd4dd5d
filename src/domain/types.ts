/** Core records that flow through groundstream. Immutable by convention: stages build new ones. */

/** A decoded video frame, packed RGB (3 bytes a pixel, row-major, no padding). */
export interface Frame {
  /** Which stream this frame belongs to. */
  readonly streamId: string;
  /** Frame number within the stream, from 0, counting decoded frames (dropped ones included). */
  readonly seq: number;
  /** Presentation time in seconds, from the source (0 at the first frame of a file). */
  readonly pts: number;
  /** Wall-clock capture time in milliseconds since the epoch (Date.now() when it was decoded). */
  readonly capturedAt: number;
  readonly width: number;
  readonly height: number;
  /** Size of the source before ingest scaled it to the working size (boxes are reported in this
   * space); absent when not known, in which case it equals width x height. */
  readonly sourceWidth?: number;
  readonly sourceHeight?: number;
  /** Packed RGB bytes, width * height * 3 long. */
  readonly data: Uint8Array;
  /** ms this process spent decoding the frame's image (a pushed JPEG, PNG or WebP); absent when
   * another process decoded it (ffmpeg). Results count it in `timings.decode`. */
  readonly decodeMs?: number;
}

/** Axis-aligned box in source pixels: [x1, y1, x2, y2], x right, y down. */
export type Box = [number, number, number, number];

/** One detection of one query. */
export interface Detection {
  /** The query text as normalised (lower case, single spaces, trimmed). */
  readonly query: string;
  /** Probability in [0, 1] (sigmoid of the model's logit). */
  readonly score: number;
  readonly box: Box;
  /** Track this detection belongs to: stable across frames, unique within the stream (all queries
   * together). Absent until the track is confirmed. */
  readonly trackId?: number;
  /** `new` the first time a subscriber is told about `trackId`, `updated` after that. */
  readonly track?: TrackEvent;
}

/** Where a detection's track stands for the subscriber that receives it. */
export type TrackEvent = 'new' | 'updated';
