//! The file operations the local storage makes, behind one seam so that tests can inject I/O
//! failures (a full disk, a failing fsync) without root or a special file system, and the helpers
//! that make a write durable: write a temporary file, fsync it, rename it over the target, fsync
//! the directory. Every failure of the operating system becomes a FactumError `storage/io` naming
//! the operation and the path.

import * as nodeFileSystem from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { FactumError, fail } from '../../util/errors.ts';

export type FileSystem = Pick<
  typeof nodeFileSystem,
  'open' | 'readFile' | 'rename' | 'unlink' | 'link' | 'mkdir' | 'opendir' | 'rm' | 'readdir'
>;

export const defaultFileSystem: FileSystem = nodeFileSystem;

/** The error code of a failed system call (`ENOENT`, `ENOSPC`, ...), or undefined. */
export function systemCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The `storage/io` error for a failed `operation` on `filePath`. FactumErrors pass through unchanged. */
export function ioError(operation: string, filePath: string, error: unknown): FactumError {
  if (error instanceof FactumError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new FactumError(
    'storage/io',
    `local storage could not ${operation} ${filePath}: ${reason}; expected the file system to accept it ` +
      `(check free space and permissions)`,
    { operation, path: filePath, systemCode: systemCode(error) },
    { cause: error },
  );
}

/** Runs `work`, turning any failure of the operating system into `storage/io`. */
export async function io<T>(operation: string, filePath: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw ioError(operation, filePath, error);
  }
}

/** Makes the entries of a directory (created, renamed, deleted files) durable. */
export async function syncDirectory(fileSystem: FileSystem, directory: string): Promise<void> {
  await io('fsync directory', directory, async () => {
    const handle = await fileSystem.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Creates `directory` and any missing parents, making each new entry durable by syncing the
 * directory that holds it.
 */
export async function makeDirectory(fileSystem: FileSystem, directory: string): Promise<void> {
  const first = await io('create directory', directory, () => fileSystem.mkdir(directory, { recursive: true }));
  if (first === undefined) return;
  for (let created = directory; ; created = path.dirname(created)) {
    await syncDirectory(fileSystem, path.dirname(created));
    if (created === first || created === path.dirname(created)) break;
  }
}

/** Writes `buffer` completely at `offset` (a single write call may write less). */
export async function writeFully(
  handle: nodeFileSystem.FileHandle,
  buffer: Uint8Array,
  offset: number,
): Promise<void> {
  for (let done = 0; done < buffer.length; ) {
    const { bytesWritten } = await handle.write(buffer, done, buffer.length - done, offset + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} bytes`);
    done += bytesWritten;
  }
}

/** A fresh name for a temporary file in `temporaryDirectory`. */
export function temporaryPath(temporaryDirectory: string): string {
  return path.join(temporaryDirectory, `${randomBytes(12).toString('hex')}.tmp`);
}

/**
 * Replaces (or creates) `target` with `bytes` atomically and durably: after a crash the target
 * holds either its old content or all of `bytes`, never a mix.
 */
export async function replaceFileDurably(
  fileSystem: FileSystem,
  temporaryDirectory: string,
  target: string,
  bytes: Uint8Array,
): Promise<void> {
  const temporary = temporaryPath(temporaryDirectory);
  try {
    await io('write', temporary, async () => {
      const handle = await fileSystem.open(temporary, 'wx');
      try {
        await writeFully(handle, bytes, 0);
        await handle.sync();
      } finally {
        await handle.close();
      }
    });
    await makeDirectory(fileSystem, path.dirname(target));
    await io('rename into place', target, () => fileSystem.rename(temporary, target));
  } catch (error) {
    // The temporary file was never renamed into place: removing it loses nothing.
    await io('remove temporary file', temporary, () => fileSystem.rm(temporary, { force: true }));
    throw error;
  }
  await syncDirectory(fileSystem, path.dirname(target));
}

/** The file's bytes, or null when it does not exist. */
export async function readFileIfExists(fileSystem: FileSystem, filePath: string): Promise<Buffer | null> {
  try {
    return await fileSystem.readFile(filePath);
  } catch (error) {
    if (systemCode(error) === 'ENOENT') return null;
    throw ioError('read', filePath, error);
  }
}

/**
 * A checked file's content: null when the file does not exist; `storage/corrupt` naming the file,
 * its key and the problem when `decode` finds one (it answers the content or why there is none).
 */
export async function readCheckedFile<T>(fileSystem: FileSystem, filePath: string, what: string, key: string, decode: (file: Buffer) => T | string): Promise<T | null> {
  const file = await readFileIfExists(fileSystem, filePath);
  if (file === null) return null;
  const content = decode(file);
  if (typeof content === 'string') {
    fail('storage/corrupt', `${what} file ${filePath} (key ${JSON.stringify(key)}) is damaged: ${content}; expected an intact ${what}`, {
      path: filePath,
      key,
      problem: content,
    });
  }
  return content;
}

/** Removes a file; true if it existed. */
export async function removeFileIfExists(fileSystem: FileSystem, filePath: string): Promise<boolean> {
  try {
    await fileSystem.unlink(filePath);
    return true;
  } catch (error) {
    if (systemCode(error) === 'ENOENT') return false;
    throw ioError('remove', filePath, error);
  }
}
