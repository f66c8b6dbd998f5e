import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describeStorageContract } from '../contract.ts';
import { openLocalStorage } from './local-storage.ts';

describeStorageContract('local', async () => {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'factum-local-'));
  const storage = await openLocalStorage(directory);
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
