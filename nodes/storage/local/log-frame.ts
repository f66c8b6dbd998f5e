//! The byte layout of a log file. A file opens with a header; then each entry is one frame:
//!
//!   file header (8 bytes):  "FLOG" | format u32 (1)
//!   frame:                  magic u32 "FENT" | length u32 | position u64 | checksum u32 | bytes
//!                           <-------------------- header: 20 bytes ---------------->
//!
//! All integers little-endian. The checksum is the CRC-32 of the first 16 header bytes followed by
//! the entry's bytes, so a frame is valid only when all of it arrived: a torn write (a partial
//! frame, or a full-length frame holding stale or zeroed pages) fails the check. The position in
//! each frame lets recovery tell a frame from bytes that only look like one, and ties each entry to
//! its place in the log.

import { crc32 } from 'node:zlib';
import { AssertionError } from '../../util/assert.ts';

export const fileHeaderLength = 8;
export const frameHeaderLength = 20;
const fileMagic = 0x474f4c46; // "FLOG" read little-endian
const frameMagic = 0x544e4546; // "FENT" read little-endian
const formatVersion = 1;
const twoToThe32 = 2 ** 32;

export function encodeFileHeader(): Buffer {
  const header = Buffer.alloc(fileHeaderLength);
  header.writeUInt32LE(fileMagic, 0);
  header.writeUInt32LE(formatVersion, 4);
  return header;
}

/** Null when the file header is right; otherwise why it is not. */
export function fileHeaderProblem(header: Buffer): string | null {
  if (header.length < fileHeaderLength) return `the file is ${header.length} bytes, shorter than its header`;
  if (header.readUInt32LE(0) !== fileMagic) return 'the file does not start with the log file magic "FLOG"';
  const version = header.readUInt32LE(4);
  return version === formatVersion ? null : `the file has format ${version}, expected ${formatVersion}`;
}

export function encodeFrame(position: number, bytes: Uint8Array): Buffer {
  if (!Number.isSafeInteger(position) || position < 0) throw new AssertionError(`frame position ${position}`);
  if (bytes.length >= twoToThe32) throw new AssertionError(`log entry of ${bytes.length} bytes does not fit a frame`);
  const frame = Buffer.allocUnsafe(frameHeaderLength + bytes.length);
  frame.writeUInt32LE(frameMagic, 0);
  frame.writeUInt32LE(bytes.length, 4);
  frame.writeUInt32LE(position % twoToThe32, 8);
  frame.writeUInt32LE(Math.floor(position / twoToThe32), 12);
  frame.set(bytes, frameHeaderLength);
  frame.writeUInt32LE(crc32(frame.subarray(frameHeaderLength), crc32(frame.subarray(0, 16))), 16);
  return frame;
}

export interface FrameHeader {
  readonly length: number;
  readonly position: number;
  readonly checksum: number;
}

/** The header at `offset` of `buffer` (which holds at least 20 bytes there), or null without the magic. */
export function decodeFrameHeader(buffer: Buffer, offset: number): FrameHeader | null {
  if (buffer.readUInt32LE(offset) !== frameMagic) return null;
  return {
    length: buffer.readUInt32LE(offset + 4),
    position: buffer.readUInt32LE(offset + 8) + buffer.readUInt32LE(offset + 12) * twoToThe32,
    checksum: buffer.readUInt32LE(offset + 16),
  };
}

/** True when `bytes` are the entry the header (at `offset` of `headerBuffer`) describes. */
export function frameChecksumMatches(headerBuffer: Buffer, offset: number, header: FrameHeader, bytes: Buffer): boolean {
  return crc32(bytes, crc32(headerBuffer.subarray(offset, offset + 16))) === header.checksum;
}

/** True when the magic of a frame header sits at `offset` (a cheap first test when searching). */
export function hasFrameMagic(buffer: Buffer, offset: number): boolean {
  return buffer.readUInt32LE(offset) === frameMagic;
}
