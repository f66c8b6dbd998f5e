//! Where a system keeps its access keys: one interface, a local directory (local-key-store.ts) and
//! S3 + KMS (s3-key-store.ts) behind it, the same contract for both (key-store-contract.ts).
//!
//! A key is made by `create` from 8 random bytes of id (16 hex characters) and 32 random bytes of
//! secret (base64url) and never changes; keys are only added and deleted, never updated, so two
//! nodes writing at once cannot lose each other's keys. That is also why `ensureAdminKey` needs no
//! lock: two nodes that start together may both create an admin key, and both keys are valid.

import { randomBytes } from 'node:crypto';
import { checkKeyDatabase, checkPermission, type AccessKey, type Permission } from '../../../client/remote/access-key.ts';
import { checkDatabaseName } from '../../transactor/system.ts';
import { isFactumError, fail } from '../../util/errors.ts';

export type { AccessKey, Permission } from '../../../client/remote/access-key.ts';

export interface AccessKeyStore {
  /** Every stored key, admin keys first, then by database, permission and key id. */
  list(): Promise<AccessKey[]>;
  /** Creates and stores a new key; `database` for read-write and read-only keys only. */
  create(permission: Permission, database?: string): Promise<AccessKey>;
  /** An existing admin key (the first by key id), or a new one if there is none. */
  ensureAdminKey(): Promise<AccessKey>;
  /** Deletes every key of `database` (when the database is deleted). */
  deleteDatabaseKeys(database: string): Promise<void>;
  /** Releases the store's clients; the store is not used after. */
  close(): Promise<void>;
}

/**
 * Checks what `create` is given; `auth/invalid-key` for an unknown permission, a database given to
 * an admin key or missing from another, or a database name checkDatabaseName refuses.
 */
export function checkKeyRequest(permission: unknown, database: unknown): { permission: Permission; database: string | null } {
  const checked = checkPermission(permission);
  if (checked !== 'admin') checkedDatabaseName(database);
  return { permission: checked, database: checkKeyDatabase(checked, database) };
}

/** checkDatabaseName's verdict, as `auth/invalid-key`. */
export function checkedDatabaseName(database: unknown): string {
  try {
    return checkDatabaseName(database);
  } catch (error) {
    if (!isFactumError(error, 'catalog/invalid-name')) throw error;
    return fail('auth/invalid-key', `access keys belong to a valid database; ${error.message}`, { database });
  }
}

/** A fresh key. */
export function newAccessKey(permission: Permission, database: string | null): AccessKey {
  return {
    keyId: randomBytes(8).toString('hex'),
    secret: randomBytes(32).toString('base64url'),
    permission,
    database,
  };
}

const permissionOrder: Record<Permission, number> = { admin: 0, 'read-write': 1, 'read-only': 2, ions: 3 };

/** The order `list` answers in. */
export function compareAccessKeys(left: AccessKey, right: AccessKey): number {
  const byPermissionKind = Number(left.permission !== 'admin') - Number(right.permission !== 'admin');
  if (byPermissionKind !== 0) return byPermissionKind;
  const leftDatabase = left.database ?? '';
  const rightDatabase = right.database ?? '';
  if (leftDatabase !== rightDatabase) return leftDatabase < rightDatabase ? -1 : 1;
  if (left.permission !== right.permission) return permissionOrder[left.permission] - permissionOrder[right.permission];
  return left.keyId < right.keyId ? -1 : left.keyId > right.keyId ? 1 : 0;
}

/** ensureAdminKey on top of list and create. */
export async function ensureAdminKeyOf(store: Pick<AccessKeyStore, 'list' | 'create'>): Promise<AccessKey> {
  const existing = (await store.list()).find((key) => key.permission === 'admin');
  return existing ?? store.create('admin');
}
