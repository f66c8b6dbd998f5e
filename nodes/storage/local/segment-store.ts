//! Segments as one file each, written once: write-temporary/fsync/rename/fsync-folder, so a
//! segment file either holds all its bytes or does not exist. Keys map to paths by key-path.ts.
//!
//!   segment file:  magic u32 "FSEG" | length u32 | checksum u32 | bytes
//!
//! The checksum (CRC-32 of the bytes) is checked on every read: storage damage surfaces as
//! `storage/corrupt` instead of as a wrong index node. A segment put again must hold the same
//! bytes (segments are content-addressed); different bytes are refused with `storage/conflict`.

import { crc32 } from 'node:zlib';
import path from 'node:path';
import type { Dir } from 'node:fs';
import { fail } from '../../util/errors.ts';
import type { FileSystem } from './file-system.ts';
import { ioError, readCheckedFile, removeFileIfExists, replaceFileDurably, syncDirectory, systemCode } from './file-system.ts';
import { keyToPath, pathToKey, prefixFolder } from './key-path.ts';
import { KeyedSerialQueue } from './serial-queue.ts';

const segmentMagic = 0x47455346; // "FSEG" read little-endian
const headerLength = 12;
const suffix = '.segment';

export function encodeSegment(bytes: Uint8Array): Buffer {
  const file = Buffer.allocUnsafe(headerLength + bytes.length);
  file.writeUInt32LE(segmentMagic, 0);
  file.writeUInt32LE(bytes.length, 4);
  file.writeUInt32LE(crc32(bytes), 8);
  file.set(bytes, headerLength);
  return file;
}

/** The segment's bytes a file holds, or the reason it holds none. */
export function decodeSegment(file: Buffer): Uint8Array | string {
  if (file.length < headerLength) return `the file is ${file.length} bytes, shorter than a segment header`;
  if (file.readUInt32LE(0) !== segmentMagic) return 'the file does not start with the segment magic "FSEG"';
  const length = file.readUInt32LE(4);
  if (file.length !== headerLength + length) return `the header says ${length} bytes but the file holds ${file.length - headerLength}`;
  const stored = file.subarray(headerLength);
  if (crc32(stored) !== file.readUInt32LE(8)) return 'the checksum does not match';
  const bytes = new Uint8Array(length);
  bytes.set(stored);
  return bytes;
}

/** The file of segment `key` in the segments folder `directory`. */
function segmentPath(directory: string, key: string): string {
  return path.join(directory, keyToPath(key, suffix));
}

/**
 * The segment `key` of the segments folder `directory`, or null. A file is complete or absent
 * (written by rename), so any thread may read it while another writes others.
 */
export function readSegmentFile(fileSystem: FileSystem, directory: string, key: string): Promise<Uint8Array | null> {
  return readCheckedFile(fileSystem, segmentPath(directory, key), 'segment', key, decodeSegment);
}

export class SegmentStore {
  private readonly queue = new KeyedSerialQueue();

  constructor(
    private readonly fileSystem: FileSystem,
    private readonly directory: string,
    private readonly temporaryDirectory: string,
  ) {}

  private pathOf(key: string): string {
    return segmentPath(this.directory, key);
  }

  put(key: string, bytes: Uint8Array): Promise<void> {
    const file = encodeSegment(bytes);
    return this.queue.run(key, async () => {
      const existing = await this.get(key);
      if (existing === null) {
        await replaceFileDurably(this.fileSystem, this.temporaryDirectory, this.pathOf(key), file);
      } else if (Buffer.compare(existing, file.subarray(headerLength)) !== 0) {
        fail('storage/conflict', `segment ${JSON.stringify(key)} exists with different bytes; segments are immutable`, {
          key,
          storedLength: existing.length,
          givenLength: file.length - headerLength,
        });
      }
    });
  }

  get(key: string): Promise<Uint8Array | null> {
    return readSegmentFile(this.fileSystem, this.directory, key);
  }

  /** Walks the folder of the prefix's complete parts; yields keys as they are found. */
  async *list(prefix: string): AsyncGenerator<string> {
    const folder = prefixFolder(prefix);
    for await (const relative of this.walk(folder)) {
      const key = pathToKey(relative, suffix);
      if (key !== null && key.startsWith(prefix)) yield key;
    }
  }

  private async *walk(folder: string): AsyncGenerator<string> {
    const absolute = path.join(this.directory, folder);
    let entries: Dir;
    try {
      entries = await this.fileSystem.opendir(absolute);
    } catch (error) {
      if (systemCode(error) === 'ENOENT' || systemCode(error) === 'ENOTDIR') return;
      throw ioError('list', absolute, error);
    }
    const folders: string[] = [];
    try {
      for await (const entry of entries) {
        const relative = folder === '' ? entry.name : `${folder}/${entry.name}`;
        if (entry.isDirectory()) folders.push(relative);
        else if (entry.isFile()) yield relative;
      }
    } catch (error) {
      throw ioError('list', absolute, error);
    }
    for (const child of folders) yield* this.walk(child);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const folders = new Set<string>();
    for (const key of keys) {
      const filePath = this.pathOf(key);
      const removed = await this.queue.run(key, () => removeFileIfExists(this.fileSystem, filePath));
      if (removed) folders.add(path.dirname(filePath));
    }
    for (const folder of folders) await syncDirectory(this.fileSystem, folder);
  }

  drained(): Promise<void> {
    return this.queue.drained();
  }
}

