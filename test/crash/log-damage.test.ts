// A log file damaged behind factum's back: a torn or corrupt tail (never acknowledged) is cut off
// on open; damage followed by valid entries (acknowledged data) is refused with storage/corrupt,
// naming the file and offset, and nothing is dropped.
import { appendFile, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { collect } from '../../nodes/storage/contract.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { decodeFrameHeader, fileHeaderLength, frameHeaderLength } from '../../nodes/storage/local/log-frame.ts';
import { removeDirectory, temporaryDirectory } from '../../nodes/storage/local/local-test-support.ts';
import { offsetsPath } from '../../nodes/storage/local/offsets-file.ts';

const sizes = [40, 0, 300, 5000, 17, 120];
const entry = (position: number) => Uint8Array.from({ length: sizes[position] }, (_, index) => (index * 31 + position) & 0xff);

/** Offsets of the frames of a log file, read with the frame layout. */
function frameOffsets(file: Buffer): number[] {
  const offsets: number[] = [];
  for (let offset = fileHeaderLength; offset < file.length; ) {
    offsets.push(offset);
    offset += frameHeaderLength + (decodeFrameHeader(file, offset)?.length ?? Number.NaN);
  }
  return offsets;
}

describe('damaged log files', () => {
  let directory: string;
  let logPath: string;
  let original: Buffer;
  let offsets: number[];
  const opened: Storage[] = [];

  beforeEach(async () => {
    directory = await temporaryDirectory();
    logPath = path.join(directory, 'logs', 'db.log');
    const storage = await openLocalStorage(directory);
    for (let position = 0; position < sizes.length; position++) await storage.appendLog('db', position, entry(position));
    await storage.close();
    original = await readFile(logPath);
    offsets = frameOffsets(original);
  });
  afterEach(async () => {
    for (const storage of opened.splice(0)) await storage.close();
    await removeDirectory(directory);
  });

  async function open(): Promise<Storage> {
    const storage = await openLocalStorage(directory);
    opened.push(storage);
    return storage;
  }

  async function closeAll(): Promise<void> {
    for (const storage of opened.splice(0)) await storage.close();
  }

  /** Opens, checks the log holds exactly entries 0..length-1, closes. */
  async function expectIntactPrefix(length: number): Promise<void> {
    const storage = await open();
    expect(await storage.logLength('db')).toBe(length);
    const read = await collect(storage.readLog('db', 0));
    expect(read).toEqual(Array.from({ length }, (_, position) => ({ position, bytes: entry(position) })));
    await closeAll();
  }

  it('has the frame layout the tests assume', () => {
    expect(offsets).toHaveLength(sizes.length);
    expect(original.length).toBe(offsets[5] + frameHeaderLength + sizes[5]);
  });

  it('cuts off a partial last frame, whatever its length, and appends after it', async () => {
    const last = offsets[sizes.length - 1];
    for (let cut = last + 1; cut < original.length; cut += 7) {
      await writeFile(logPath, original.subarray(0, cut));
      await expectIntactPrefix(sizes.length - 1);
      expect((await readFile(logPath)).length).toBe(last);
    }
    const storage = await open();
    expect(await storage.appendLog('db', 5, entry(5))).toBe(true);
    await closeAll();
    await expectIntactPrefix(sizes.length);
  });

  it('cuts off a last frame with any single bit flipped', async () => {
    const random = seededRandom(99);
    const last = offsets[sizes.length - 1];
    for (let trial = 0; trial < 25; trial++) {
      const damaged = Buffer.from(original);
      const bit = Math.floor(random() * (original.length - last) * 8);
      damaged[last + (bit >> 3)] ^= 1 << (bit & 7);
      await writeFile(logPath, damaged);
      await expectIntactPrefix(sizes.length - 1);
    }
  });

  it('cuts off a full-length last frame of zeros (a file extended but its pages never written)', async () => {
    await appendFile(logPath, Buffer.alloc(frameHeaderLength + 100));
    await expectIntactPrefix(sizes.length);
    expect((await readFile(logPath)).length).toBe(original.length);
    const zeroed = Buffer.from(original);
    zeroed.fill(0, offsets[5]);
    await writeFile(logPath, zeroed);
    await expectIntactPrefix(sizes.length - 1);
  });

  it('cuts off random garbage after the last frame', async () => {
    const random = seededRandom(5);
    await appendFile(logPath, Uint8Array.from({ length: 3000 }, () => Math.floor(random() * 256)));
    await expectIntactPrefix(sizes.length);
  });

  it('keeps a log cut exactly at a frame boundary (nothing there to tell)', async () => {
    await truncate(logPath, offsets[4]);
    await expectIntactPrefix(4);
  });

  it('refuses a log with any single bit flipped in an earlier frame, naming file and offset', async () => {
    const random = seededRandom(1234);
    const offsetsFile = await readFile(offsetsPath(logPath));
    for (let trial = 0; trial < 60; trial++) {
      const frame = Math.floor(random() * (sizes.length - 1));
      const damaged = Buffer.from(original);
      const bit = Math.floor(random() * (frameHeaderLength + sizes[frame]) * 8);
      damaged[offsets[frame] + (bit >> 3)] ^= 1 << (bit & 7);
      await writeFile(logPath, damaged);
      const corrupt = { code: 'storage/corrupt', data: { path: logPath, offset: offsets[frame] } };
      // With the offsets file, opening checks only the last frame: the damage is found by the
      // first read that reaches it. Without it, the scan on open finds it.
      const withOffsets = trial % 2 === 0;
      if (withOffsets) await writeFile(offsetsPath(logPath), offsetsFile);
      else await rm(offsetsPath(logPath), { force: true });
      const storage = await open();
      await expect(collect(storage.readLog('db', 0)), `frame ${frame} bit ${bit}`).rejects.toMatchObject(corrupt);
      if (!withOffsets) await expect(storage.logLength('db'), `frame ${frame} bit ${bit}`).rejects.toMatchObject(corrupt);
      await closeAll();
      expect(await readFile(logPath)).toEqual(damaged);
    }
  });

  it('refuses a log with bytes missing from the middle, on every operation, but lets it be deleted', async () => {
    await writeFile(logPath, Buffer.concat([original.subarray(0, offsets[2] + 10), original.subarray(offsets[2] + 30)]));
    const storage = await open();
    const corrupt = { code: 'storage/corrupt', data: { path: logPath, offset: offsets[2] } };
    await expect(storage.logLength('db')).rejects.toMatchObject(corrupt);
    await expect(storage.appendLog('db', 6, entry(0))).rejects.toMatchObject(corrupt);
    await expect(collect(storage.readLog('db', 0))).rejects.toMatchObject(corrupt);
    await expect(storage.logLength('db')).rejects.toThrow(/offset \d+.*restore the file from a backup/);
    expect(await storage.appendLog('other', 0, entry(0))).toBe(true);
    await storage.deleteLog('db');
    expect(await storage.logLength('db')).toBe(0);
  });

  it('refuses a log whose file header is damaged', async () => {
    const damaged = Buffer.from(original);
    damaged[1] ^= 0xff;
    await writeFile(logPath, damaged);
    const storage = await open();
    await expect(storage.logLength('db')).rejects.toMatchObject({ code: 'storage/corrupt', data: { offset: 0 } });
    await writeFile(logPath, original.subarray(0, 3));
    const fresh = (await closeAll(), await open());
    await expect(fresh.logLength('db')).rejects.toMatchObject({ code: 'storage/corrupt', data: { offset: 0 } });
  });

  it('refuses entries damaged after the log was scanned, when they are read', async () => {
    const storage = await open();
    expect(await storage.logLength('db')).toBe(sizes.length);
    const damaged = Buffer.from(original);
    damaged[offsets[3] + frameHeaderLength + 2] ^= 0x04;
    await writeFile(logPath, damaged);
    await expect(collect(storage.readLog('db', 2))).rejects.toMatchObject({
      code: 'storage/corrupt',
      data: { offset: offsets[3] },
    });
  });
});
