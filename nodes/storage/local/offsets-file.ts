//! The offset of every frame of a log file, kept beside it (`<key>.log.offsets`) so that opening
//! a log does not read the whole file: without it, finding where each entry starts (and where the
//! log ends) means scanning every frame, which grows with the log.
//!
//!   header (12 bytes):  "FOFF" | format u32 (1) | checksum u32 of the log's frame 0
//!   entry i (12 bytes): offset of frame i, u64 | check u32 of (i, offset) (entryCheck)
//!
//! All integers little-endian. The file is a hint, never the truth: it is written after each frame
//! is durable and without an fsync of its own, so it may lag the log, end in a torn entry, or be
//! missing; a failed write stops the writing and leaves the rest to the next open. Opening uses
//! the longest prefix of entries that check out (each entry's check, offsets strictly growing
//! and inside the file) only when the log's frame 0 carries the checksum the header names, and
//! then checks the frame the last entry points at before scanning on from it (log-file.ts). A
//! read started from any other entry checks its first frame (magic, position, checksum) as every
//! read does.

import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { FileSystem } from './file-system.ts';
import { readFileIfExists, writeFully } from './file-system.ts';
import { AssertionError } from '../../util/assert.ts';

const magic = 0x46464f46; // "FOFF" read little-endian
const formatVersion = 1;
export const offsetsHeaderLength = 12;
const entryLength = 12;
const twoToThe32 = 2 ** 32;
const littleEndian = endianness() === 'LE';

/** The file beside a log file. */
export function offsetsPath(logPath: string): string {
  return `${logPath}.offsets`;
}

/** What an offsets file says: the frame-0 checksum it belongs with and its valid entries. */
export interface StoredOffsets {
  readonly firstChecksum: number;
  readonly offsets: readonly number[];
}

/**
 * The check of entry `position` holding `offset`: a 32-bit mix of both (murmur3's finalizer), in
 * JavaScript so that reading thousands of entries costs microseconds, not a call into zlib each.
 * It tells an entry written whole from a torn, zeroed or shifted one; it is no defence against
 * deliberate tampering, which the frame checks on read still catch.
 */
function entryCheck(position: number, offset: number): number {
  let h = Math.imul(position ^ 0x6f464f46, 0x9e3779b1) ^ (offset % twoToThe32);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) ^ Math.floor(offset / twoToThe32) ^ Math.imul(Math.floor(position / twoToThe32), 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function encodeEntries(firstPosition: number, offsets: readonly number[]): Buffer {
  const bytes = Buffer.allocUnsafe(offsets.length * entryLength);
  offsets.forEach((offset, i) => {
    const at = i * entryLength;
    bytes.writeUInt32LE(offset % twoToThe32, at);
    bytes.writeUInt32LE(Math.floor(offset / twoToThe32), at + 4);
    bytes.writeUInt32LE(entryCheck(firstPosition + i, offset), at + 8);
  });
  return bytes;
}

/**
 * The entries of the offsets file that check out, in a log file of `logSize` bytes whose first
 * frame starts at `firstOffset`; null when there is no usable file (missing, unreadable, another
 * format). Never throws: the log can always be scanned instead.
 */
export async function readOffsets(fileSystem: FileSystem, filePath: string, firstOffset: number, logSize: number): Promise<StoredOffsets | null> {
  if (!littleEndian) return null; // the entries are read as host-order words: other hosts scan the log
  let bytes: Buffer | null;
  try {
    bytes = await readFileIfExists(fileSystem, filePath);
  } catch {
    return null;
  }
  if (bytes === null || bytes.length < offsetsHeaderLength) return null;
  if (bytes.readUInt32LE(0) !== magic || bytes.readUInt32LE(4) !== formatVersion) return null;
  const firstChecksum = bytes.readUInt32LE(8);
  // As 32-bit words (copied, so aligned): cheaper than a Buffer read call per field.
  const n = Math.floor((bytes.length - offsetsHeaderLength) / entryLength);
  const words = new Uint32Array(n * 3);
  new Uint8Array(words.buffer).set(bytes.subarray(offsetsHeaderLength, offsetsHeaderLength + n * entryLength));
  const offsets: number[] = [];
  for (let i = 0; i < n; i++) {
    const offset = words[3 * i]! + words[3 * i + 1]! * twoToThe32;
    const position = offsets.length;
    if (words[3 * i + 2] !== entryCheck(position, offset)) break;
    const previous = position === 0 ? firstOffset - 1 : offsets[position - 1]!;
    if (position === 0 ? offset !== firstOffset : offset <= previous) break;
    if (offset >= logSize) break;
    offsets.push(offset);
  }
  return { firstChecksum, offsets };
}

/** Writes the offsets of a log's frames as they become durable; a failed write ends the writing. */
export class OffsetsWriter {
  private broken = false;

  private constructor(
    private readonly handle: FileHandle,
    /** The number of entries in the file. */
    private length: number,
  ) {}

  /**
   * Opens the file for a log whose frame 0 has `firstChecksum`, keeping its first `keep` entries
   * (a valid prefix `readOffsets` found, or 0 for a new file) and writing `after` (the offsets of
   * the frames from position `keep` on) after them. Null when the file cannot be written: the
   * log goes on without it.
   */
  static async open(fileSystem: FileSystem, filePath: string, firstChecksum: number, keep: number, after: readonly number[]): Promise<OffsetsWriter | null> {
    let handle: FileHandle | null = null;
    try {
      handle = await fileSystem.open(filePath, keep > 0 ? 'r+' : 'w');
      if (keep === 0) {
        const header = Buffer.allocUnsafe(offsetsHeaderLength);
        header.writeUInt32LE(magic, 0);
        header.writeUInt32LE(formatVersion, 4);
        header.writeUInt32LE(firstChecksum, 8);
        await writeFully(handle, header, 0);
      }
      const end = offsetsHeaderLength + keep * entryLength;
      await handle.truncate(end);
      if (after.length > 0) await writeFully(handle, encodeEntries(keep, after), end);
      return new OffsetsWriter(handle, keep + after.length);
    } catch {
      await handle?.close().catch(() => undefined);
      return null;
    }
  }

  /** Records that frame `position` starts at `offset` (positions come in order, one after another). */
  async record(position: number, offset: number): Promise<void> {
    if (this.broken) return;
    if (position !== this.length) throw new AssertionError(`offset of position ${position} recorded after ${this.length} entries`);
    try {
      await writeFully(this.handle, encodeEntries(position, [offset]), offsetsHeaderLength + position * entryLength);
      this.length++;
    } catch {
      this.broken = true; // the entries written stay valid; the next open scans the rest
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
