// Test helpers for the local storage: temporary directories and a file system that fails on demand.
import * as nodeFileSystem from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FileSystem } from './file-system.ts';

export async function temporaryDirectory(): Promise<string> {
  return nodeFileSystem.mkdtemp(path.join(os.tmpdir(), 'factum-local-'));
}

export async function removeDirectory(directory: string): Promise<void> {
  await nodeFileSystem.rm(directory, { recursive: true, force: true });
}

/** Which calls fail next, with which system error code, on paths containing `pathIncludes`. */
export interface InjectedFailures {
  write: string | null;
  sync: string | null;
  truncate: string | null;
  rename: string | null;
  /** After a failing write, the number of bytes it still wrote (a partial write before ENOSPC). */
  partialWriteBytes: number;
  pathIncludes: string;
}

function systemError(code: string, operation: string, filePath: string): Error {
  return Object.assign(new Error(`${code}: injected failure, ${operation} '${filePath}'`), { code });
}

function wrapHandle(handle: FileHandle, filePath: string, failures: InjectedFailures): FileHandle {
  const applies = () => filePath.includes(failures.pathIncludes);
  return new Proxy(handle, {
    get(target, property) {
      if (property === 'write' && failures.write !== null && applies()) {
        const code = failures.write;
        return async (buffer: Uint8Array, offset: number, _length: number, position: number) => {
          if (failures.partialWriteBytes > 0) await target.write(buffer, offset, failures.partialWriteBytes, position);
          throw systemError(code, 'write', filePath);
        };
      }
      if ((property === 'sync' || property === 'datasync') && failures.sync !== null && applies()) {
        const code = failures.sync;
        return async () => {
          throw systemError(code, 'fsync', filePath);
        };
      }
      if (property === 'truncate' && failures.truncate !== null && applies()) {
        const code = failures.truncate;
        return async () => {
          throw systemError(code, 'ftruncate', filePath);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

export function failingFileSystem(): { fileSystem: FileSystem; failures: InjectedFailures } {
  const failures: InjectedFailures = {
    write: null,
    sync: null,
    truncate: null,
    rename: null,
    partialWriteBytes: 0,
    pathIncludes: '',
  };
  const fileSystem: FileSystem = {
    ...nodeFileSystem,
    open: (async (filePath: string, flags?: string, mode?: number) =>
      wrapHandle(await nodeFileSystem.open(filePath, flags, mode), String(filePath), failures)) as FileSystem['open'],
    rename: async (source, target) => {
      if (failures.rename !== null && String(target).includes(failures.pathIncludes)) {
        throw systemError(failures.rename, 'rename', String(target));
      }
      return nodeFileSystem.rename(source, target);
    },
  };
  return { fileSystem, failures };
}
