// Full disks and failing fsyncs: every failure surfaces as storage/io naming the path, and the
// storage stays consistent, in this process and after reopening.
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Storage } from '../protocol.ts';
import { bytesOf, collect } from '../contract.ts';
import { openLocalStorage } from './local-storage.ts';
import type { InjectedFailures } from './local-test-support.ts';
import { failingFileSystem, removeDirectory, temporaryDirectory } from './local-test-support.ts';

describe('local storage under I/O failures', () => {
  let directory: string;
  let storage: Storage;
  let failures: InjectedFailures;
  beforeEach(async () => {
    directory = await temporaryDirectory();
    const injected = failingFileSystem();
    failures = injected.failures;
    storage = await openLocalStorage(directory, { fileSystem: injected.fileSystem });
  });
  afterEach(async () => {
    await storage.close();
    await removeDirectory(directory);
  });

  const texts = async (log: string, from: Storage = storage) =>
    (await collect(from.readLog(log, 0))).map((entry) => new TextDecoder().decode(entry.bytes));

  async function reopened<T>(check: (fresh: Storage) => Promise<T>): Promise<T> {
    await storage.close();
    const fresh = await openLocalStorage(directory);
    try {
      return await check(fresh);
    } finally {
      await fresh.close();
    }
  }

  it('reports a full disk during an append as storage/io with the path, and appends again once space returns', async () => {
    await storage.appendLog('db', 0, bytesOf('zero'));
    Object.assign(failures, { write: 'ENOSPC', partialWriteBytes: 7, pathIncludes: `${path.sep}logs${path.sep}` });
    const failed = storage.appendLog('db', 1, bytesOf('one, not written'));
    await expect(failed).rejects.toMatchObject({ code: 'storage/io', data: { systemCode: 'ENOSPC' } });
    await expect(failed).rejects.toThrow(/db\.log/);
    expect(await storage.logLength('db')).toBe(1);
    failures.write = null;
    expect(await storage.appendLog('db', 1, bytesOf('one'))).toBe(true);
    expect(await texts('db')).toEqual(['zero', 'one']);
    expect(await reopened((fresh) => texts('db', fresh))).toEqual(['zero', 'one']);
  });

  it('reports a failed fsync of an append as storage/io and leaves the log at its acknowledged end', async () => {
    await storage.appendLog('db', 0, bytesOf('zero'));
    Object.assign(failures, { sync: 'EIO', pathIncludes: 'db.log' });
    await expect(storage.appendLog('db', 1, bytesOf('one'))).rejects.toMatchObject({ code: 'storage/io' });
    // The truncate-back succeeded, but its own fsync failed too: the log refuses until reopened.
    await expect(storage.logLength('db')).rejects.toMatchObject({ code: 'storage/io' });
    failures.sync = null;
    expect(await reopened((fresh) => texts('db', fresh))).toEqual(['zero']);
  });

  it('makes a log unusable until reopened when it cannot be truncated back', async () => {
    await storage.appendLog('db', 0, bytesOf('zero'));
    Object.assign(failures, { write: 'ENOSPC', truncate: 'EIO', partialWriteBytes: 25, pathIncludes: 'db.log' });
    await expect(storage.appendLog('db', 1, bytesOf('one, torn'))).rejects.toMatchObject({ code: 'storage/io' });
    failures.write = null;
    failures.truncate = null;
    await expect(storage.appendLog('db', 1, bytesOf('one'))).rejects.toThrow(/open the storage again/);
    await expect(storage.appendLog('other', 0, bytesOf('fine'))).resolves.toBe(true);
    expect(await reopened((fresh) => texts('db', fresh))).toEqual(['zero']);
  });

  it('reports a full disk while writing a segment; no partial segment or temporary file remains', async () => {
    Object.assign(failures, { write: 'ENOSPC', partialWriteBytes: 3, pathIncludes: `${path.sep}tmp${path.sep}` });
    await expect(storage.putSegment('db/seg', bytesOf('segment bytes'))).rejects.toMatchObject({
      code: 'storage/io',
      data: { systemCode: 'ENOSPC' },
    });
    expect(await storage.getSegment('db/seg')).toBeNull();
    expect(await readdir(path.join(directory, 'tmp'))).toEqual([]);
    failures.write = null;
    await storage.putSegment('db/seg', bytesOf('segment bytes'));
    expect(await storage.getSegment('db/seg')).toEqual(bytesOf('segment bytes'));
  });

  it('reports a failed rename of a record as storage/io and keeps the old version', async () => {
    await storage.casRecord('root/db', null, bytesOf('v1'));
    Object.assign(failures, { rename: 'EIO', pathIncludes: 'records' });
    await expect(storage.casRecord('root/db', 1, bytesOf('v2'))).rejects.toMatchObject({ code: 'storage/io' });
    expect(await storage.getRecord('root/db')).toEqual({ version: 1, bytes: bytesOf('v1') });
    failures.rename = null;
    expect(await storage.casRecord('root/db', 1, bytesOf('v2'))).toBe(true);
    expect(await reopened((fresh) => fresh.getRecord('root/db'))).toEqual({ version: 2, bytes: bytesOf('v2') });
  });

  it('reports a failure to create the storage directory as storage/io', async () => {
    await writeFile(path.join(directory, 'a-file'), 'not a directory');
    await expect(openLocalStorage(path.join(directory, 'a-file', 'storage'))).rejects.toMatchObject({
      code: 'storage/io',
      data: { systemCode: 'ENOTDIR' },
    });
  });
});
