import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bytesOf, collect } from '../contract.ts';
import { openLocalStorage } from './local-storage.ts';
import { removeDirectory, temporaryDirectory } from './local-test-support.ts';

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('directory lock', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await temporaryDirectory();
  });
  afterEach(async () => {
    await removeDirectory(directory);
  });

  it('refuses a second open in this process with storage/locked, naming the pid', async () => {
    const first = await openLocalStorage(directory);
    const refused = openLocalStorage(directory);
    await expect(refused).rejects.toMatchObject({ code: 'storage/locked', data: { pid: process.pid } });
    await expect(refused).rejects.toThrow(/this process/);
    await first.close();
    const second = await openLocalStorage(directory);
    await second.close();
  });

  it('refuses a lock held by another live process', async () => {
    await writeFile(
      path.join(directory, 'LOCK'),
      JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'other', since: 'earlier' }),
    );
    await expect(openLocalStorage(directory)).rejects.toMatchObject({ code: 'storage/locked', data: { pid: process.ppid } });
  });

  it('refuses a lock from another host, which it cannot check', async () => {
    await writeFile(path.join(directory, 'LOCK'), JSON.stringify({ pid: 1, host: 'elsewhere', token: 't', since: 'x' }));
    await expect(openLocalStorage(directory)).rejects.toThrow(/delete .*LOCK/);
  });

  it.each([
    ['a dead process', () => ({ pid: deadPid(), host: os.hostname(), token: 'dead', since: 'x' })],
    ['this pid with a token this process does not hold', () => ({ pid: process.pid, host: os.hostname(), token: 'old', since: 'x' })],
  ])('takes over a stale lock of %s', async (_name, holder) => {
    await writeFile(path.join(directory, 'LOCK'), JSON.stringify(holder()));
    const storage = await openLocalStorage(directory);
    const lock = JSON.parse(await readFile(path.join(directory, 'LOCK'), 'utf8')) as { pid: number };
    expect(lock.pid).toBe(process.pid);
    await storage.appendLog('log', 0, bytesOf('x'));
    await storage.close();
  });

  it('takes over a lock file that is not factum JSON', async () => {
    await writeFile(path.join(directory, 'LOCK'), 'garbage');
    const storage = await openLocalStorage(directory);
    await storage.close();
  });

  it('removes the lock on close, and keeps data across opens', async () => {
    const first = await openLocalStorage(directory);
    await first.appendLog('log', 0, bytesOf('kept'));
    await first.close();
    await expect(readFile(path.join(directory, 'LOCK'))).rejects.toMatchObject({ code: 'ENOENT' });
    const second = await openLocalStorage(directory);
    expect(await collect(second.readLog('log', 0))).toEqual([{ position: 0, bytes: bytesOf('kept') }]);
    await second.close();
  });
});
