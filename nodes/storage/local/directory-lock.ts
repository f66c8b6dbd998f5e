//! One process per storage directory. The lock is a file `LOCK` holding the owner's pid, host and a
//! random token; it is created complete and atomically (written to a temporary file, then
//! hard-linked into place, which fails if `LOCK` exists).
//!
//! When `LOCK` exists, its owner is alive if it is this process holding that very token, or
//! another process with that pid on this host (`kill(pid, 0)`); then opening is refused with
//! `storage/locked`. A lock whose process is gone (killed, crashed) is stale and taken over. A lock
//! from another host cannot be checked and is treated as alive. Known gap: two processes taking
//! over the same stale lock at the same instant can both succeed; a kernel lock (flock) would close
//! it, and Node has none.

import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fail } from '../../util/errors.ts';
import type { FileSystem } from './file-system.ts';
import { io, ioError, readFileIfExists, removeFileIfExists, systemCode, temporaryPath, writeFully } from './file-system.ts';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: string;
}

/** Tokens of the locks this process holds: a lock naming our pid with another token is stale. */
const heldTokens = new Set<string>();

export interface DirectoryLock {
  readonly lockPath: string;
  release(): Promise<void>;
}

export async function acquireDirectoryLock(
  fileSystem: FileSystem,
  directory: string,
  temporaryDirectory: string,
): Promise<DirectoryLock> {
  const lockPath = path.join(directory, 'LOCK');
  const owner: LockOwner = { pid: process.pid, host: os.hostname(), token: randomBytes(16).toString('hex'), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryCreate(fileSystem, lockPath, temporaryDirectory, owner)) {
      heldTokens.add(owner.token);
      return { lockPath, release: () => release(fileSystem, lockPath, owner) };
    }
    const holder = await readOwner(fileSystem, lockPath);
    if (holder !== null && isAlive(holder)) failLocked(directory, lockPath, holder);
    // Stale (or unreadable, i.e. not written by factum's atomic create): take it over.
    await removeFileIfExists(fileSystem, lockPath);
  }
  return fail('storage/locked', `could not take the lock ${lockPath}: other processes keep taking it; expected one owner`, {
    path: lockPath,
  });
}

async function tryCreate(fileSystem: FileSystem, lockPath: string, temporaryDirectory: string, owner: LockOwner): Promise<boolean> {
  const temporary = temporaryPath(temporaryDirectory);
  await io('write', temporary, async () => {
    const handle = await fileSystem.open(temporary, 'wx');
    try {
      await writeFully(handle, Buffer.from(JSON.stringify(owner)), 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
  try {
    await fileSystem.link(temporary, lockPath);
    return true;
  } catch (error) {
    if (systemCode(error) === 'EEXIST') return false;
    throw ioError('create lock', lockPath, error);
  } finally {
    await removeFileIfExists(fileSystem, temporary);
  }
}

async function readOwner(fileSystem: FileSystem, lockPath: string): Promise<LockOwner | null> {
  const bytes = await readFileIfExists(fileSystem, lockPath);
  if (bytes === null) return null;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string' || typeof parsed.token !== 'string') return null;
    return { pid: parsed.pid, host: parsed.host, token: parsed.token, since: String(parsed.since) };
  } catch (error) {
    if (error instanceof SyntaxError) return null;
    throw error;
  }
}

function isAlive(holder: LockOwner): boolean {
  if (holder.host !== os.hostname()) return true;
  if (holder.pid === process.pid) return heldTokens.has(holder.token);
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return systemCode(error) !== 'ESRCH';
  }
}

function failLocked(directory: string, lockPath: string, holder: LockOwner): never {
  const who = holder.pid === process.pid ? `this process (pid ${holder.pid})` : `process ${holder.pid} on ${holder.host}`;
  fail(
    'storage/locked',
    `storage directory ${directory} is in use by ${who} since ${holder.since}; one process at a time may open it. ` +
      `Close that storage (or stop that process, or connect to it instead); if no such process runs, delete ${lockPath}`,
    { directory, path: lockPath, pid: holder.pid, host: holder.host },
  );
}

async function release(fileSystem: FileSystem, lockPath: string, owner: LockOwner): Promise<void> {
  heldTokens.delete(owner.token);
  const holder = await readOwner(fileSystem, lockPath);
  if (holder?.token === owner.token) await removeFileIfExists(fileSystem, lockPath);
}
