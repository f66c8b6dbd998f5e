// What only the local directory backend promises beyond the contract: data survives reopening,
// damaged files are refused, large logs stream in chunks, and crash leftovers are cleaned up.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../protocol.ts';
import { bytesOf, collect, sameBytes } from '../contract.ts';
import { seededRandom } from '../fault.ts';
import { openLocalStorage } from './local-storage.ts';
import { removeDirectory, temporaryDirectory } from './local-test-support.ts';

describe('local storage files', () => {
  let directory: string;
  let storage: Storage;
  beforeEach(async () => {
    directory = await temporaryDirectory();
    storage = await openLocalStorage(directory);
  });
  afterEach(async () => {
    await storage.close();
    await removeDirectory(directory);
  });

  async function reopen(): Promise<Storage> {
    await storage.close();
    storage = await openLocalStorage(directory);
    return storage;
  }

  it('keeps logs, segments and records across reopening', async () => {
    await storage.appendLog('db/log', 0, bytesOf('tx 1'));
    await storage.appendLog('db/log', 1, bytesOf('tx 2'));
    await storage.putSegment('db/abc', bytesOf('node'));
    await storage.casRecord('root/db', null, bytesOf('root 1'));
    await storage.casRecord('root/db', 1, bytesOf('root 2'));
    const fresh = await reopen();
    expect(await fresh.logLength('db/log')).toBe(2);
    expect((await collect(fresh.readLog('db/log', 1))).map((entry) => entry.bytes)).toEqual([bytesOf('tx 2')]);
    expect(await fresh.appendLog('db/log', 1, bytesOf('late'))).toBe(false);
    expect(await fresh.appendLog('db/log', 2, bytesOf('tx 3'))).toBe(true);
    expect(await fresh.getSegment('db/abc')).toEqual(bytesOf('node'));
    expect(await collect(fresh.listSegments('db/'))).toEqual(['db/abc']);
    expect(await fresh.getRecord('root/db')).toEqual({ version: 2, bytes: bytesOf('root 2') });
  });

  it('streams entries larger than its read buffer and many that cross buffer boundaries', async () => {
    const random = seededRandom(3);
    const sizes = [3 << 20, 10, (1 << 20) - 20, 1 << 20, 5, ...Array.from({ length: 40 }, () => Math.floor(random() * 200_000))];
    const written = sizes.map((size) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256)));
    for (const [position, bytes] of written.entries()) await storage.appendLog('big', position, bytes);
    for (const round of ['written', 'reopened']) {
      const from = round === 'written' ? storage : await reopen();
      const read = await collect(from.readLog('big', 0));
      expect(read.map((entry) => entry.position)).toEqual(sizes.map((_, position) => position));
      expect(read.every((entry, position) => sameBytes(entry.bytes, written[position]))).toBe(true);
      const middle = await collect(from.readLog('big', 4, 7));
      expect(middle.every((entry) => sameBytes(entry.bytes, written[entry.position]))).toBe(true);
      expect(middle.map((entry) => entry.position)).toEqual([4, 5, 6]);
    }
  });

  it('does not show entries appended after a read began, and a read survives deleteLog', async () => {
    for (let position = 0; position < 3; position++) await storage.appendLog('db', position, bytesOf(`e${position}`));
    const reader = storage.readLog('db', 0)[Symbol.asyncIterator]();
    expect((await reader.next()).value).toEqual({ position: 0, bytes: bytesOf('e0') });
    await storage.appendLog('db', 3, bytesOf('e3'));
    await storage.deleteLog('db');
    expect((await reader.next()).value).toEqual({ position: 1, bytes: bytesOf('e1') });
    expect((await reader.next()).value).toEqual({ position: 2, bytes: bytesOf('e2') });
    expect((await reader.next()).done).toBe(true);
    expect(await storage.logLength('db')).toBe(0);
  });

  it('refuses a segment put again with different bytes with storage/conflict', async () => {
    await storage.putSegment('db/seg', bytesOf('one'));
    await expect(storage.putSegment('db/seg', bytesOf('two'))).rejects.toMatchObject({ code: 'storage/conflict' });
    expect(await storage.getSegment('db/seg')).toEqual(bytesOf('one'));
  });

  it('refuses a damaged segment file with storage/corrupt naming the file', async () => {
    await storage.putSegment('db/seg', bytesOf('segment bytes'));
    const file = path.join(directory, 'segments', 'db', 'seg.segment');
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 0x20;
    await writeFile(file, bytes);
    const read = storage.getSegment('db/seg');
    await expect(read).rejects.toMatchObject({ code: 'storage/corrupt', data: { path: file } });
    await writeFile(file, bytes.subarray(0, 5));
    await expect(storage.getSegment('db/seg')).rejects.toMatchObject({ code: 'storage/corrupt' });
  });

  it('refuses a damaged record file with storage/corrupt, also for a swap', async () => {
    await storage.casRecord('root/db', null, bytesOf('root'));
    const file = path.join(directory, 'records', 'root', 'db.record');
    const bytes = await readFile(file);
    bytes[6] ^= 0x01;
    await writeFile(file, bytes);
    await expect(storage.getRecord('root/db')).rejects.toMatchObject({ code: 'storage/corrupt', data: { path: file } });
    await expect(storage.casRecord('root/db', 1, bytesOf('x'))).rejects.toMatchObject({ code: 'storage/corrupt' });
  });

  it('removes temporary files that a crash left behind, and never lists them', async () => {
    await storage.putSegment('db/seg', bytesOf('x'));
    await writeFile(path.join(directory, 'tmp', 'leftover.tmp'), 'half a segment');
    await writeFile(path.join(directory, 'segments', 'db', 'stray.tmp'), 'not a segment');
    const fresh = await reopen();
    expect(await readdir(path.join(directory, 'tmp'))).toEqual([]);
    expect(await collect(fresh.listSegments(''))).toEqual(['db/seg']);
  });

  it('keeps what was written just before close', async () => {
    const appends = [0, 1, 2].map((position) => storage.appendLog('fresh', position, bytesOf(`e${position}`)));
    const record = storage.casRecord('fresh', null, bytesOf('r'));
    await storage.close();
    expect(await Promise.all([...appends, record])).toEqual([true, true, true, true]);
    const fresh = await reopen();
    expect(await fresh.logLength('fresh')).toBe(3);
    expect(await fresh.getRecord('fresh')).toEqual({ version: 1, bytes: bytesOf('r') });
  });

  it('stops a read in progress with client/closed when the storage closes', async () => {
    for (let position = 0; position < 3; position++) await storage.appendLog('db', position, bytesOf(`e${position}`));
    const reader = storage.readLog('db', 0)[Symbol.asyncIterator]();
    await reader.next();
    await storage.close();
    await expect(reader.next()).rejects.toMatchObject({ code: 'client/closed' });
  });
});
