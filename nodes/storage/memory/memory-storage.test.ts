import { describe, expect, it } from 'vitest';
import { bytesOf, describeStorageContract } from '../contract.ts';
import { createMemoryStorage } from './memory-storage.ts';

describeStorageContract('memory', async () => {
  const storage = createMemoryStorage();
  return { storage, cleanup: () => storage.close() };
});

describe('memory storage', () => {
  it('refuses a segment put again with different bytes with storage/conflict', async () => {
    const storage = createMemoryStorage();
    await storage.putSegment('key', bytesOf('one'));
    await expect(storage.putSegment('key', bytesOf('two'))).rejects.toMatchObject({ code: 'storage/conflict' });
    expect(await storage.getSegment('key')).toEqual(bytesOf('one'));
  });

  it('has the kind memory', () => {
    expect(createMemoryStorage().kind).toBe('memory');
  });
});
