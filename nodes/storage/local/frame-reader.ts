//! Reads the frames of a log file in order, a buffer of about a megabyte at a time, so that a log
//! of any size is streamed and never held in memory. Each frame is checked as it is read (magic,
//! expected position, length within the file, checksum); the first frame that fails ends the
//! stream with a `bad` item saying where and why, and the caller decides what that means (a torn
//! tail on open; damage anywhere else).

import type { FileHandle } from 'node:fs/promises';
import { decodeFrameHeader, frameChecksumMatches, frameHeaderLength, hasFrameMagic } from './log-frame.ts';

export const chunkBytes = 1 << 20;

export type FrameRead =
  | { readonly kind: 'frame'; readonly offset: number; readonly position: number; readonly bytes: Uint8Array }
  | { readonly kind: 'bad'; readonly offset: number; readonly problem: string };

/** Reads up to `length` bytes at `offset` into a new buffer; shorter only at the end of the file. */
export async function readAt(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buffer : buffer.subarray(0, done);
}

/** A window on the file: the bytes [start, start + buffer.length). */
class Window {
  start = 0;
  buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly handle: FileHandle,
    private readonly endOffset: number,
  ) {}

  /** Makes [offset, offset + length) available; false when the file ends before that. */
  async cover(offset: number, length: number): Promise<boolean> {
    if (offset >= this.start && offset + length <= this.start + this.buffer.length) return true;
    const size = Math.min(Math.max(chunkBytes, length), this.endOffset - offset);
    this.buffer = await readAt(this.handle, offset, size);
    this.start = offset;
    return this.buffer.length >= length;
  }
}

/**
 * The frames in [startOffset, endOffset) of the file, expected to hold positions from
 * `firstPosition` on; ends after the last frame or at the first bad one.
 */
export async function* readFrames(
  handle: FileHandle,
  startOffset: number,
  endOffset: number,
  firstPosition: number,
): AsyncGenerator<FrameRead> {
  const window = new Window(handle, endOffset);
  let position = firstPosition;
  for (let offset = startOffset; offset < endOffset; position++) {
    const read = await readFrame(window, offset, endOffset, position);
    yield read;
    if (read.kind === 'bad') return;
    offset += frameHeaderLength + read.bytes.length;
  }
}

async function readFrame(window: Window, offset: number, endOffset: number, position: number): Promise<FrameRead> {
  const bad = (problem: string): FrameRead => ({ kind: 'bad', offset, problem });
  if (endOffset - offset < frameHeaderLength || !(await window.cover(offset, frameHeaderLength))) {
    return bad(`a partial frame header of ${endOffset - offset} bytes`);
  }
  const at = offset - window.start;
  const header = decodeFrameHeader(window.buffer, at);
  if (header === null) return bad('no frame magic');
  if (header.position !== position) return bad(`a frame for position ${header.position}, expected ${position}`);
  const frameLength = frameHeaderLength + header.length;
  if (offset + frameLength > endOffset || !(await window.cover(offset, frameLength))) {
    return bad(`a frame of ${header.length} bytes running past the end at offset ${endOffset}`);
  }
  const start = offset - window.start;
  const stored = window.buffer.subarray(start + frameHeaderLength, start + frameLength);
  if (!frameChecksumMatches(window.buffer, start, header, stored)) return bad('a frame whose checksum does not match');
  const bytes = new Uint8Array(header.length);
  bytes.set(stored);
  return { kind: 'frame', offset, position, bytes };
}

/**
 * The offset of the first valid frame after `fromOffset` (exclusive) whose position is at least
 * `positionMin`, or null. Used after a bad frame: finding one means the damage is not a torn tail.
 */
export async function findValidFrameAfter(
  handle: FileHandle,
  fromOffset: number,
  endOffset: number,
  positionMin: number,
): Promise<number | null> {
  for (let start = fromOffset + 1; start + frameHeaderLength <= endOffset; start += chunkBytes) {
    const window = await readAt(handle, start, Math.min(chunkBytes + frameHeaderLength, endOffset - start));
    const last = Math.min(chunkBytes, window.length - frameHeaderLength + 1);
    for (let index = 0; index < last; index++) {
      if (hasFrameMagic(window, index) && (await isValidFrame(handle, window, index, start + index, endOffset, positionMin))) {
        return start + index;
      }
    }
  }
  return null;
}

async function isValidFrame(
  handle: FileHandle,
  window: Buffer,
  index: number,
  offset: number,
  endOffset: number,
  positionMin: number,
): Promise<boolean> {
  const header = decodeFrameHeader(window, index);
  if (header === null || header.position < positionMin) return false;
  if (offset + frameHeaderLength + header.length > endOffset) return false;
  const bytes = await readAt(handle, offset + frameHeaderLength, header.length);
  return bytes.length === header.length && frameChecksumMatches(window, index, header, bytes);
}
