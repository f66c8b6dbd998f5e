//! The contract every access key store keeps, as one vitest suite: the local store's unit tests
//! (key-store.test.ts) and the S3 + KMS store's integration test (test/integration/access-keys.test.ts)
//! run the same tests.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessKey, AccessKeyStore } from './key-store.ts';

export interface KeyStoreUnderTest {
  readonly store: AccessKeyStore;
  /** Another store on the same keys, as a second node would open it. */
  readonly openAgain: () => AccessKeyStore;
  /** Closes the stores and removes whatever they created. */
  readonly cleanup: () => Promise<void>;
}

const ids = (keys: readonly AccessKey[]): string[] => keys.map((key) => key.keyId);

export function describeKeyStoreContract(name: string, makeStore: () => Promise<KeyStoreUnderTest>): void {
  describe(`access key store contract: ${name}`, () => {
    let subject: KeyStoreUnderTest;
    let store: AccessKeyStore;
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('starts empty', async () => {
      expect(await store.list()).toEqual([]);
    });

    it('creates keys of a 16 hex digit id and a 32 byte secret, and lists them', async () => {
      const admin = await store.create('admin');
      const writer = await store.create('read-write', 'shop');
      const reader = await store.create('read-only', 'shop');
      expect(admin).toMatchObject({ permission: 'admin', database: null });
      expect(writer).toMatchObject({ permission: 'read-write', database: 'shop' });
      expect(reader).toMatchObject({ permission: 'read-only', database: 'shop' });
      for (const key of [admin, writer, reader]) {
        expect(key.keyId).toMatch(/^[0-9a-f]{16}$/);
        expect(Buffer.from(key.secret, 'base64url')).toHaveLength(32);
      }
      expect(new Set([admin.secret, writer.secret, reader.secret]).size).toBe(3);
      expect(await store.list()).toEqual([admin, writer, reader]);
    });

    it('lists admin keys first, then by database, permission and key id', async () => {
      const created = [
        await store.create('read-only', 'b.db'),
        await store.create('read-write', 'b.db'),
        await store.create('read-only', 'a'),
        await store.create('admin'),
        await store.create('read-only', 'a'),
      ];
      const listed = await store.list();
      expect(new Set(ids(listed))).toEqual(new Set(ids(created)));
      expect(listed.map((key) => `${key.permission}:${key.database}`)).toEqual([
        'admin:null',
        'read-only:a',
        'read-only:a',
        'read-write:b.db',
        'read-only:b.db',
      ]);
      expect(listed[1].keyId < listed[2].keyId).toBe(true);
    });

    it('ensureAdminKey creates one admin key, then answers it every time', async () => {
      const first = await store.ensureAdminKey();
      expect(first.permission).toBe('admin');
      expect(await store.ensureAdminKey()).toEqual(first);
      expect(await subject.openAgain().ensureAdminKey()).toEqual(first);
      expect((await store.list()).filter((key) => key.permission === 'admin')).toEqual([first]);
    });

    it('keeps every admin key two nodes created, and ensureAdminKey creates no third', async () => {
      const other = subject.openAgain();
      const [mine, theirs] = await Promise.all([store.create('admin'), other.create('admin')]);
      const admins = [mine, theirs].sort((left, right) => (left.keyId < right.keyId ? -1 : 1));
      expect(await store.list()).toEqual(admins);
      expect(await other.list()).toEqual(admins);
      expect(await store.ensureAdminKey()).toEqual(admins[0]);
      expect(await store.list()).toHaveLength(2);
    });

    it('deleteDatabaseKeys deletes the keys of that database only', async () => {
      const admin = await store.create('admin');
      await store.create('read-write', 'shop');
      await store.create('read-only', 'shop');
      await store.create('read-only', 'shop');
      const longer = await store.create('read-only', 'shop2');
      const dotted = await store.create('read-write', 'shop.eu');
      await store.deleteDatabaseKeys('shop');
      // 'shop.eu' sorts before 'shop2' ('.' < '2').
      expect(ids(await store.list())).toEqual([admin.keyId, dotted.keyId, longer.keyId]);
      await store.deleteDatabaseKeys('shop');
      await store.deleteDatabaseKeys('never-had-keys');
      expect(await store.list()).toHaveLength(3);
      expect(await subject.openAgain().list()).toHaveLength(3);
    });

    it('refuses bad input with auth/invalid-key and stores nothing', async () => {
      const refusals: (() => Promise<unknown>)[] = [
        () => store.create('owner' as never),
        () => store.create('read-only'),
        () => store.create('read-write', ''),
        () => store.create('admin', 'shop'),
        () => store.create('read-write', '../admin'),
        () => store.create('read-only', '.hidden'),
        () => store.create('read-only', 'a/b'),
        () => store.create('read-only', 'x'.repeat(65)),
        () => store.deleteDatabaseKeys('../access'),
        () => store.deleteDatabaseKeys(''),
      ];
      for (const refuse of refusals) await expect(refuse()).rejects.toMatchObject({ code: 'auth/invalid-key', category: 'incorrect' });
      expect(await store.list()).toEqual([]);
    });
  });
}
