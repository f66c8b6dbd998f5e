//! The access keys of a local system: one plain JSON file per key (a local system has no KMS), only
//! its owner may read them.
//!
//!   <dataDir>/access/                                   0700, as is every folder below
//!     admin/<keyId>.json                                0600
//!     dbs/<database>/read-write/<keyId>.json
//!     dbs/<database>/read-only/<keyId>.json
//!
//! A file is written to a temporary name in its folder, synced, and renamed into place, so a crash
//! leaves either no key or a whole one; temporary names do not end in `.json` and are never read.
//! The file's content is what readAccessKeyFile (client/remote/access-key.ts) reads.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { accessKeyFolder, openedKey, type AccessKey, type Permission } from '../../../client/remote/access-key.ts';
import { io, ioError, syncDirectory, systemCode, writeFully } from '../../storage/local/file-system.ts';
import { checkedDatabaseName, checkKeyRequest, compareAccessKeys, ensureAdminKeyOf, newAccessKey, type AccessKeyStore } from './key-store.ts';

const folderMode = 0o700;
const fileMode = 0o600;
const keyFileSuffix = '.json';

/** The folder's names, or none when it does not exist. */
async function namesIn(folder: string): Promise<string[]> {
  try {
    return await fs.readdir(folder);
  } catch (error) {
    if (systemCode(error) === 'ENOENT') return [];
    throw ioError('list', folder, error);
  }
}

/** Creates `folder` and its parents up to `root` with mode 0700, tightening any that exist. */
async function makePrivateFolder(root: string, folder: string): Promise<void> {
  await io('create directory', folder, () => fs.mkdir(folder, { recursive: true, mode: folderMode }));
  // mkdir's mode passes through the umask, and folders made earlier keep theirs: set it outright.
  for (let current = folder; ; current = path.dirname(current)) {
    await io('restrict directory', current, () => fs.chmod(current, folderMode));
    if (current === root || path.dirname(current) === current) break;
  }
}

class LocalKeyStore implements AccessKeyStore {
  private readonly root: string;

  constructor(
    dataDir: string,
    readonly system: string,
  ) {
    this.root = path.resolve(dataDir, 'access');
  }

  private folderOf(permission: Permission, database: string | null): string {
    return path.join(this.root, accessKeyFolder(permission, database));
  }

  async list(): Promise<AccessKey[]> {
    const folders: { permission: Permission; database: string | null }[] = [{ permission: 'admin', database: null }];
    for (const database of await namesIn(path.join(this.root, 'dbs'))) {
      folders.push({ permission: 'read-write', database }, { permission: 'read-only', database });
    }
    const keys: AccessKey[] = [];
    for (const { permission, database } of folders) {
      const folder = this.folderOf(permission, database);
      for (const name of await namesIn(folder)) {
        if (!name.endsWith(keyFileSuffix)) continue;
        const filePath = path.join(folder, name);
        const bytes = await io('read', filePath, () => fs.readFile(filePath));
        keys.push(openedKey(bytes, filePath, { keyId: name.slice(0, -keyFileSuffix.length), permission, database }));
      }
    }
    return keys.sort(compareAccessKeys);
  }

  async create(permission: Permission, database?: string): Promise<AccessKey> {
    const request = checkKeyRequest(permission, database);
    const key = newAccessKey(request.permission, request.database);
    const folder = this.folderOf(key.permission, key.database);
    await makePrivateFolder(this.root, folder);
    const target = path.join(folder, `${key.keyId}${keyFileSuffix}`);
    const temporary = path.join(folder, `.${randomBytes(12).toString('hex')}.tmp`);
    const bytes = new TextEncoder().encode(`${JSON.stringify(key, null, 2)}\n`);
    try {
      await io('write', temporary, async () => {
        const handle = await fs.open(temporary, 'wx', fileMode);
        try {
          await handle.chmod(fileMode);
          await writeFully(handle, bytes, 0);
          await handle.sync();
        } finally {
          await handle.close();
        }
      });
      await io('rename into place', target, () => fs.rename(temporary, target));
    } catch (error) {
      await io('remove temporary file', temporary, () => fs.rm(temporary, { force: true }));
      throw error;
    }
    await syncDirectory(fs, folder);
    return key;
  }

  ensureAdminKey(): Promise<AccessKey> {
    return ensureAdminKeyOf(this);
  }

  async deleteDatabaseKeys(database: string): Promise<void> {
    const folder = path.join(this.root, 'dbs', checkedDatabaseName(database));
    await io('remove', folder, () => fs.rm(folder, { recursive: true, force: true }));
    const parent = path.dirname(folder);
    if ((await namesIn(path.dirname(parent))).includes('dbs')) await syncDirectory(fs, parent);
  }

  async close(): Promise<void> {}
}

/**
 * The access keys of the local system kept in `dataDir`.
 *
 * @example
 * const keys = openLocalKeyStore('./data', 'dev');
 * const admin = await keys.ensureAdminKey();
 */
export function openLocalKeyStore(dataDir: string, system: string): AccessKeyStore {
  return new LocalKeyStore(dataDir, system);
}
