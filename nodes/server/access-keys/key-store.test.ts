// The access key store contract on the local store, and what only the local store promises: file
// and folder modes, whole files only, and files that the client reads as key files.
import { copyFile, mkdtemp, readdir, rm, stat, writeFile, mkdir, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAccessKeyFile } from '../../../client/remote/access-key.ts';
import type { AccessKeyStore } from './key-store.ts';
import { describeKeyStoreContract } from './key-store-contract.ts';
import { openLocalKeyStore } from './local-key-store.ts';

async function makeLocalStore() {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'factum-keys-'));
  return {
    store: openLocalKeyStore(dataDir, 'test'),
    openAgain: () => openLocalKeyStore(dataDir, 'test'),
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
}

describeKeyStoreContract('local', makeLocalStore);

const modeOf = async (filePath: string) => (await stat(filePath)).mode & 0o777;

describe('local access key store', () => {
  let dataDir: string;
  let store: AccessKeyStore;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'factum-keys-'));
    store = openLocalKeyStore(dataDir, 'test');
  });
  afterEach(() => rm(dataDir, { recursive: true, force: true }));

  it('writes key files of mode 0600 in folders of mode 0700, whatever the umask', async () => {
    const previous = process.umask(0o000);
    try {
      const admin = await store.create('admin');
      const reader = await store.create('read-only', 'shop');
      const access = path.join(dataDir, 'access');
      expect(await modeOf(path.join(access, 'admin', `${admin.keyId}.json`))).toBe(0o600);
      expect(await modeOf(path.join(access, 'dbs', 'shop', 'read-only', `${reader.keyId}.json`))).toBe(0o600);
      for (const folder of ['', 'admin', 'dbs', 'dbs/shop', 'dbs/shop/read-only']) {
        expect(await modeOf(path.join(access, folder)), folder).toBe(0o700);
      }
    } finally {
      process.umask(previous);
    }
  });

  it('tightens an access folder that exists with a looser mode', async () => {
    await mkdir(path.join(dataDir, 'access', 'admin'), { recursive: true });
    await chmod(path.join(dataDir, 'access'), 0o755);
    await store.create('admin');
    expect(await modeOf(path.join(dataDir, 'access'))).toBe(0o700);
  });

  it('writes plain JSON that readAccessKeyFile reads back, and leaves no temporary file', async () => {
    const key = await store.create('read-write', 'shop');
    const folder = path.join(dataDir, 'access', 'dbs', 'shop', 'read-write');
    expect(await readdir(folder)).toEqual([`${key.keyId}.json`]);
    expect(await readAccessKeyFile(path.join(folder, `${key.keyId}.json`))).toEqual(key);
  });

  it('ignores temporary files a crash left, and refuses a key file copied to another key path', async () => {
    const key = await store.create('read-only', 'shop');
    const folder = path.join(dataDir, 'access', 'dbs', 'shop', 'read-only');
    await writeFile(path.join(folder, '.0123.tmp'), '{"keyId": "half');
    expect(await store.list()).toEqual([key]);
    // A read-only key placed among the admin keys would make it an admin key.
    await mkdir(path.join(dataDir, 'access', 'admin'), { recursive: true });
    await copyFile(path.join(folder, `${key.keyId}.json`), path.join(dataDir, 'access', 'admin', `${key.keyId}.json`));
    const error = await store.list().catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'auth/invalid-key' });
    expect(JSON.stringify({ message: (error as Error).message, data: (error as { data: unknown }).data })).not.toContain(key.secret);
  });
});
