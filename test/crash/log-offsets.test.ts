// The offsets file beside a log (nodes/storage/local/offsets-file.ts) makes opening read only the
// log's last frame, and it is only ever a hint: missing, torn, lagging, ahead of the log, damaged
// or belonging to another log, the log opens to exactly its acknowledged entries, and a failure
// to write it never fails an append.
import type { FileHandle } from 'node:fs/promises';
import * as nodeFileSystem from 'node:fs/promises';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { collect } from '../../nodes/storage/contract.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import type { FileSystem } from '../../nodes/storage/local/file-system.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { failingFileSystem, removeDirectory, temporaryDirectory } from '../../nodes/storage/local/local-test-support.ts';
import { offsetsPath, offsetsHeaderLength } from '../../nodes/storage/local/offsets-file.ts';

const count = 40;
const entry = (position: number) => Uint8Array.from({ length: 2000 + ((position * 7919) % 3000) }, (_, index) => (index * 31 + position) & 0xff);

/** A file system that counts the bytes read through handles of files whose path ends with `suffix`. */
function countingFileSystem(suffix: string): { fileSystem: FileSystem; bytesRead: () => number } {
  let bytes = 0;
  const fileSystem: FileSystem = {
    ...nodeFileSystem,
    open: (async (filePath: string, flags?: string, mode?: number) => {
      const handle = await nodeFileSystem.open(filePath, flags, mode);
      if (!String(filePath).endsWith(suffix)) return handle;
      return new Proxy(handle, {
        get(target, property) {
          if (property === 'read') {
            return async (...args: Parameters<FileHandle['read']>) => {
              const result = await (target.read as (...a: unknown[]) => Promise<{ bytesRead: number }>)(...args);
              bytes += result.bytesRead;
              return result;
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    }) as FileSystem['open'],
  };
  return { fileSystem, bytesRead: () => bytes };
}

describe('the offsets file beside a log', () => {
  let directory: string;
  let logPath: string;
  let originalOffsets: Buffer;
  const opened: Storage[] = [];

  beforeEach(async () => {
    directory = await temporaryDirectory();
    logPath = path.join(directory, 'logs', 'db.log');
    const storage = await openLocalStorage(directory);
    for (let position = 0; position < count; position++) await storage.appendLog('db', position, entry(position));
    await storage.close();
    originalOffsets = await readFile(offsetsPath(logPath));
  });
  afterEach(async () => {
    for (const storage of opened.splice(0)) await storage.close();
    await removeDirectory(directory);
  });

  async function open(fileSystem?: FileSystem): Promise<Storage> {
    const storage = await openLocalStorage(directory, fileSystem === undefined ? {} : { fileSystem });
    opened.push(storage);
    return storage;
  }

  async function closeAll(): Promise<void> {
    for (const storage of opened.splice(0)) await storage.close();
  }

  /** Opens, checks the log holds exactly entries 0..length-1 (from the start and from the middle), appends the next, closes. */
  async function expectIntact(length: number, label: string): Promise<void> {
    const storage = await open();
    expect(await storage.logLength('db'), label).toBe(length);
    const read = await collect(storage.readLog('db', 0));
    expect(read, label).toEqual(Array.from({ length }, (_, position) => ({ position, bytes: entry(position) })));
    const middle = Math.floor(length / 2);
    expect((await collect(storage.readLog('db', middle, middle + 2))).map((e) => e.position), label).toEqual([middle, middle + 1]);
    expect(await storage.appendLog('db', length, entry(length)), label).toBe(true);
    await storage.deleteLog('db');
    await closeAll();
  }

  it('holds an entry for every frame and lets opening read only the last frame', async () => {
    expect(originalOffsets.length).toBe(offsetsHeaderLength + count * 12);
    const logBytes = (await readFile(logPath)).length;
    const counting = countingFileSystem('.log');
    const storage = await open(counting.fileSystem);
    expect(await storage.logLength('db')).toBe(count);
    expect(counting.bytesRead()).toBeLessThan(logBytes / 8);
    expect((await collect(storage.readLog('db', count - 1))).map((e) => e.position)).toEqual([count - 1]);
    await closeAll();
    // Without it, opening scans the whole log, and writes the file again for the next open.
    await rm(offsetsPath(logPath));
    const scanning = countingFileSystem('.log');
    expect(await (await open(scanning.fileSystem)).logLength('db')).toBe(count);
    expect(scanning.bytesRead()).toBeGreaterThanOrEqual(logBytes);
    await closeAll();
    expect(await readFile(offsetsPath(logPath))).toEqual(originalOffsets);
  });

  it('opens to the exact log whatever length the offsets file was cut to, and completes it', async () => {
    for (let cut = 0; cut < originalOffsets.length; cut += 5) {
      await writeFile(offsetsPath(logPath), originalOffsets.subarray(0, cut));
      const storage = await open();
      expect(await storage.logLength('db'), `cut at ${cut}`).toBe(count);
      await closeAll();
      expect(await readFile(offsetsPath(logPath)), `cut at ${cut}`).toEqual(originalOffsets);
    }
    await expectIntact(count, 'after cuts');
  });

  it('opens to the exact log with any byte of the offsets file damaged', async () => {
    const random = seededRandom(77);
    for (let trial = 0; trial < 40; trial++) {
      const damaged = Buffer.from(originalOffsets);
      const at = Math.floor(random() * damaged.length);
      damaged[at] ^= 1 + Math.floor(random() * 255);
      await writeFile(offsetsPath(logPath), damaged);
      const storage = await open();
      expect(await storage.logLength('db'), `byte ${at}`).toBe(count);
      const read = await collect(storage.readLog('db', 0));
      expect(read.map((e) => e.position), `byte ${at}`).toEqual(Array.from({ length: count }, (_, i) => i));
      await closeAll();
    }
    await expectIntact(count, 'after damage');
  });

  it('opens to the exact log when the offsets file lags it, names frames past its end, or belongs to another log', async () => {
    // Lagging: the file of a shorter log (a crash after a frame was durable, before its offset was written).
    const short = await temporaryDirectory();
    try {
      const other = await openLocalStorage(short);
      for (let position = 0; position < 10; position++) await other.appendLog('db', position, entry(position));
      await other.close();
      await writeFile(offsetsPath(logPath), await readFile(offsetsPath(path.join(short, 'logs', 'db.log'))));
      expect(await (await open()).logLength('db')).toBe(count);
      await closeAll();
      expect(await readFile(offsetsPath(logPath))).toEqual(originalOffsets);

      // Another log whose frames are laid out alike but whose frame 0 differs: its file is ignored.
      const alike = await temporaryDirectory();
      const third = await openLocalStorage(alike);
      for (let position = 0; position < count; position++) {
        const bytes = entry(position);
        if (position === 0) bytes[0] ^= 1;
        await third.appendLog('db', position, bytes);
      }
      await third.close();
      const alikeOffsets = await readFile(offsetsPath(path.join(alike, 'logs', 'db.log')));
      await removeDirectory(alike);
      expect(alikeOffsets.subarray(offsetsHeaderLength)).toEqual(originalOffsets.subarray(offsetsHeaderLength));
      expect(alikeOffsets).not.toEqual(originalOffsets);
      await writeFile(offsetsPath(logPath), alikeOffsets);
      expect(await (await open()).logLength('db')).toBe(count);
      await closeAll();
      expect(await readFile(offsetsPath(logPath))).toEqual(originalOffsets);

      // Ahead: the log restored to a shorter copy, its offsets file not.
      const log = await readFile(logPath);
      await writeFile(logPath, log.subarray(0, log.length - entry(count - 1).length - 20 - entry(count - 2).length - 20));
      await expectIntact(count - 2, 'log two frames shorter');
    } finally {
      await removeDirectory(short);
    }
  });

  it('falls back to scanning when the last offset it names is not a frame', async () => {
    // Entries that check out (the file's own checksums) but point inside a frame: rewrite the last
    // one with a valid checksum at a wrong offset by building the file of a log with other sizes.
    const skewed = await temporaryDirectory();
    try {
      const other = await openLocalStorage(skewed);
      await other.appendLog('db', 0, entry(0)); // the same frame 0: the header checks out
      for (let position = 1; position < count; position++) await other.appendLog('db', position, entry(position + 1));
      await other.close();
      await writeFile(offsetsPath(logPath), await readFile(offsetsPath(path.join(skewed, 'logs', 'db.log'))));
      const scanning = countingFileSystem('.log');
      expect(await (await open(scanning.fileSystem)).logLength('db')).toBe(count);
      expect(scanning.bytesRead()).toBeGreaterThanOrEqual((await readFile(logPath)).length); // the whole log
      await closeAll();
      expect(await readFile(offsetsPath(logPath))).toEqual(originalOffsets);
      await expectIntact(count, 'skewed offsets');
    } finally {
      await removeDirectory(skewed);
    }
  });

  it('never fails an append because the offsets file cannot be written, and is written again on the next open', async () => {
    await rm(path.join(directory, 'logs'), { recursive: true });
    const { fileSystem, failures } = failingFileSystem();
    Object.assign(failures, { write: 'ENOSPC', pathIncludes: '.offsets' });
    const storage = await open(fileSystem);
    for (let position = 0; position < count; position++) expect(await storage.appendLog('db', position, entry(position))).toBe(true);
    await closeAll();
    await expectIntact(count, 'offsets never written');
    // A log whose offsets file stopped part way.
    const healthy = await open();
    for (let position = 0; position < 5; position++) await healthy.appendLog('db', position, entry(position));
    await closeAll();
    const { fileSystem: later, failures: laterFailures } = failingFileSystem();
    const resumed = await open(later);
    Object.assign(laterFailures, { write: 'EIO', pathIncludes: '.offsets' });
    for (let position = 5; position < count; position++) expect(await resumed.appendLog('db', position, entry(position))).toBe(true);
    await closeAll();
    expect((await readFile(offsetsPath(logPath))).length).toBe(offsetsHeaderLength + 5 * 12);
    await expectIntact(count, 'offsets stopped part way');
  });

  it('is removed with its log, and a log made again writes its own', async () => {
    const storage = await open();
    await storage.deleteLog('db');
    await expect(readFile(offsetsPath(logPath))).rejects.toMatchObject({ code: 'ENOENT' });
    await storage.appendLog('db', 0, entry(5));
    await closeAll();
    expect((await readFile(offsetsPath(logPath))).length).toBe(offsetsHeaderLength + 12);
    await truncate(logPath, 8); // header only: the frame is gone, so is every offset
    const fresh = await open();
    expect(await fresh.logLength('db')).toBe(0);
    await closeAll();
  });
});
