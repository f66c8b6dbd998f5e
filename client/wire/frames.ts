//! Frames: a stream of messages (codec.ts) over one HTTP response body, for lazy results.
//!
//!   ┌──────────────┬─────────────────────┐┌──────────────┬───────────┐
//!   │ length (u32) │ message (length B)  ││ length (u32) │ message … │
//!   └──────────────┴─────────────────────┘└──────────────┴───────────┘
//!     big-endian
//!
//! The body arrives in chunks that have nothing to do with frames: a frame may be split across
//! any number of chunks, and one chunk may hold several frames. `FrameReader` buffers only the
//! frame it is in the middle of, and refuses a length above `frameBytesMax` as soon as it reads
//! the length, before buffering anything of that frame.
import { FactumError } from '../../nodes/util/errors.ts';

/** The largest frame a reader accepts unless told otherwise: 64 MiB. */
export const frameBytesMaxDefault = 64 * 1024 * 1024;

const headerBytes = 4;

/** One frame: `payload`'s length as 4 big-endian bytes, then `payload`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  if (payload.length > 0xffffffff) {
    throw new FactumError('wire/unsupported-value', `cannot frame a message of ${payload.length} bytes: a frame holds at most 4 GiB - 1`, { length: payload.length });
  }
  const frame = new Uint8Array(headerBytes + payload.length);
  new DataView(frame.buffer).setUint32(0, payload.length);
  frame.set(payload, headerBytes);
  return frame;
}

/**
 * Splits a body into frames as its chunks arrive.
 *
 * ```ts
 * const reader = new FrameReader();
 * for await (const chunk of response.body) for (const message of reader.push(chunk)) handle(decode(message));
 * reader.end();
 * ```
 */
export class FrameReader {
  readonly frameBytesMax: number;
  /** The bytes of the length being read (up to 4). */
  private readonly header = new Uint8Array(headerBytes);
  private headerFilled = 0;
  /** The frame being filled, once its length is known; null between frames. */
  private frame: Uint8Array | null = null;
  private frameFilled = 0;
  /** The error that stopped the reader: a stream is not read past a refused frame. */
  private refused: FactumError | null = null;

  /** @param frameBytesMax the longest frame accepted, in bytes. @default - 64 MiB */
  constructor(frameBytesMax: number = frameBytesMaxDefault) {
    if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax < 0) {
      throw new FactumError('wire/malformed', `frameBytesMax must be a non-negative integer, got ${String(frameBytesMax)}`, { frameBytesMax });
    }
    this.frameBytesMax = frameBytesMax;
  }

  /**
   * The frames completed by `chunk`, in order; each is a copy that owns its bytes. After it has
   * thrown, the reader has lost its place in the stream and throws again on every call.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.refused !== null) throw this.refused;
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.frame === null) {
        const take = Math.min(headerBytes - this.headerFilled, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFilled);
        this.headerFilled += take;
        at += take;
        if (this.headerFilled < headerBytes) break;
        this.startFrame();
      }
      const frame = this.frame!;
      const take = Math.min(frame.length - this.frameFilled, chunk.length - at);
      frame.set(chunk.subarray(at, at + take), this.frameFilled);
      this.frameFilled += take;
      at += take;
      if (this.frameFilled === frame.length) {
        frames.push(frame);
        this.frame = null;
      }
    }
    return frames;
  }

  /** Call when the body has ended: throws `wire/malformed` if it stopped in the middle of a frame. */
  end(): void {
    if (this.refused !== null) throw this.refused;
    if (this.frame !== null || this.headerFilled > 0) {
      const state = this.frame === null ? `${this.headerFilled} of the 4 bytes of a frame length` : `${this.frameFilled} of the ${this.frame.length} bytes of a frame`;
      throw new FactumError('wire/malformed', `the stream of frames ended in the middle of a frame: got ${state}`, {
        headerFilled: this.headerFilled,
        frameFilled: this.frameFilled,
        frameBytes: this.frame?.length ?? null,
      });
    }
  }

  private startFrame(): void {
    const length = new DataView(this.header.buffer).getUint32(0);
    this.headerFilled = 0;
    if (length > this.frameBytesMax) {
      throw (this.refused = new FactumError('wire/malformed', `a frame of ${length} bytes is longer than the ${this.frameBytesMax} bytes allowed (frameBytesMax)`, {
        length,
        frameBytesMax: this.frameBytesMax,
      }));
    }
    this.frame = new Uint8Array(length);
    this.frameFilled = 0;
  }
}
