//! Records (roots, the catalog, leases) as one small file each, changed only by compare-and-swap.
//!
//!   record file:  magic u32 "FREC" | version u64 | length u32 | checksum u32 | bytes
//!
//! The checksum is the CRC-32 of the first 16 bytes and the record's bytes. A swap reads the
//! current version, compares, and replaces the file by write-temporary/fsync/rename/fsync-folder,
//! so a crash leaves either the old record or the new one. Swaps of one key are serialized in this
//! process; the directory lock keeps other processes out.

import { crc32 } from 'node:zlib';
import path from 'node:path';
import type { VersionedRecord } from '../protocol.ts';
import type { FileSystem } from './file-system.ts';
import { readCheckedFile, removeFileIfExists, replaceFileDurably, syncDirectory } from './file-system.ts';
import { keyToPath } from './key-path.ts';
import { KeyedSerialQueue } from './serial-queue.ts';

const recordMagic = 0x43455246; // "FREC" read little-endian
const headerLength = 20;
const twoToThe32 = 2 ** 32;

export function encodeRecord(version: number, bytes: Uint8Array): Buffer {
  const file = Buffer.allocUnsafe(headerLength + bytes.length);
  file.writeUInt32LE(recordMagic, 0);
  file.writeUInt32LE(version % twoToThe32, 4);
  file.writeUInt32LE(Math.floor(version / twoToThe32), 8);
  file.writeUInt32LE(bytes.length, 12);
  file.set(bytes, headerLength);
  file.writeUInt32LE(crc32(file.subarray(headerLength), crc32(file.subarray(0, 16))), 16);
  return file;
}

/** The record a file holds, or the reason it holds none. */
export function decodeRecord(file: Buffer): VersionedRecord | string {
  if (file.length < headerLength) return `the file is ${file.length} bytes, shorter than a record header`;
  if (file.readUInt32LE(0) !== recordMagic) return 'the file does not start with the record magic "FREC"';
  const length = file.readUInt32LE(12);
  if (file.length !== headerLength + length) return `the header says ${length} bytes but the file holds ${file.length - headerLength}`;
  const stored = file.subarray(headerLength);
  if (crc32(stored, crc32(file.subarray(0, 16))) !== file.readUInt32LE(16)) return 'the checksum does not match';
  const bytes = new Uint8Array(length);
  bytes.set(stored);
  return { version: file.readUInt32LE(4) + file.readUInt32LE(8) * twoToThe32, bytes };
}

export class RecordStore {
  private readonly queue = new KeyedSerialQueue();

  constructor(
    private readonly fileSystem: FileSystem,
    private readonly directory: string,
    private readonly temporaryDirectory: string,
  ) {}

  private pathOf(key: string): string {
    return path.join(this.directory, keyToPath(key, '.record'));
  }

  get(key: string): Promise<VersionedRecord | null> {
    return readCheckedFile(this.fileSystem, this.pathOf(key), 'record', key, decodeRecord);
  }

  cas(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    const record = Uint8Array.from(bytes);
    return this.queue.run(key, async () => {
      const current = await this.get(key);
      if ((current?.version ?? null) !== expectedVersion) return false;
      const version = (current?.version ?? 0) + 1;
      await replaceFileDurably(this.fileSystem, this.temporaryDirectory, this.pathOf(key), encodeRecord(version, record));
      return true;
    });
  }

  delete(key: string, expectedVersion: number): Promise<boolean> {
    return this.queue.run(key, async () => {
      const current = await this.get(key);
      if (current?.version !== expectedVersion) return false;
      const filePath = this.pathOf(key);
      await removeFileIfExists(this.fileSystem, filePath);
      await syncDirectory(this.fileSystem, path.dirname(filePath));
      return true;
    });
  }

  drained(): Promise<void> {
    return this.queue.drained();
  }
}
