//! The access keys of a system on AWS: one S3 object per key, each a KMS envelope (envelope.ts) of
//! the key's JSON, so IAM policies on the key folders decide who may fetch which keys.
//!
//!   <storage prefix><access prefix>admin/<keyId>
//!   <storage prefix><access prefix>dbs/<database>/read-write/<keyId>
//!   <storage prefix><access prefix>dbs/<database>/read-only/<keyId>
//!
//! The envelope's encryption context names the system, the purpose `access-key`, the key id, the
//! permission and the database (accessKeyContext), so an envelope copied to another path or into
//! another system's bucket does not open: `list` then fails with `secret/decrypt-failed` naming the
//! object, rather than skip it, so the stray object is noticed and removed.
//!
//! Key ids and database names need no escaping in object keys: both are letters, digits, `_`, `-`
//! (and `.` inside a database name, never first), which no S3 emulator maps to a special path.

import {
  accessKeyContext,
  accessKeyFolder,
  accessPrefixDefault,
  checkAccessPrefix,
  openedKey,
  type AccessKey,
  type Permission,
} from '../../../client/remote/access-key.ts';
import { createAwsClients, destroyAwsClients, type AwsClients } from '../../storage/aws/clients.ts';
import type { AwsStorageConfig } from '../../storage/aws/config.ts';
import { openSecret, sealSecret } from '../../storage/aws/envelope.ts';
import { resolveRetryPolicy } from '../../storage/aws/retry.ts';
import { S3Objects } from '../../storage/aws/s3-objects.ts';
import { fail } from '../../util/errors.ts';
import { checkedDatabaseName, checkKeyRequest, compareAccessKeys, ensureAdminKeyOf, newAccessKey, type AccessKeyStore } from './key-store.ts';

export interface S3KeyStoreOptions {
  /** The system's name, bound into every envelope. */
  readonly system: string;
  /** @default 'access/' */
  readonly accessPrefix?: string;
  /** Clients to use (shared with the node's storage); not destroyed on close. @default - new clients */
  readonly clients?: AwsClients;
}

/** KMS Decrypt calls in flight while listing. */
const openConcurrency = 8;

const adminPath = /^admin\/([A-Za-z0-9_-]{1,64})$/;
const databasePath = /^dbs\/([^/]+)\/(read-write|read-only)\/([A-Za-z0-9_-]{1,64})$/;

/** The key an object holds, by its path relative to the access prefix. */
function placeOf(relative: string, objectKey: string): Pick<AccessKey, 'keyId' | 'permission' | 'database'> {
  const admin = adminPath.exec(relative);
  if (admin !== null) return { keyId: admin[1], permission: 'admin', database: null };
  const database = databasePath.exec(relative);
  if (database !== null) return { keyId: database[3], permission: database[2] as Permission, database: database[1] };
  return fail('storage/corrupt', `S3 object ${objectKey} is under the access prefix but is not an access key; expected admin/<keyId> or dbs/<database>/<read-write|read-only>/<keyId>`, {
    objectKey,
  });
}

class S3KeyStore implements AccessKeyStore {
  private readonly base: string;
  private readonly objects: S3Objects;
  private readonly kmsKey: string;

  constructor(
    private readonly config: AwsStorageConfig,
    private readonly options: S3KeyStoreOptions,
    private readonly clients: AwsClients,
    private readonly ownsClients: boolean,
  ) {
    this.base = `${config.prefix ?? ''}${checkAccessPrefix(options.accessPrefix ?? accessPrefixDefault)}`;
    this.objects = new S3Objects(clients.s3, config.bucket, resolveRetryPolicy(config.retry));
    this.kmsKey = config.kmsKey ?? '';
  }

  private async open(objectKey: string): Promise<AccessKey | null> {
    const place = placeOf(objectKey.slice(this.base.length), objectKey);
    const sealed = await this.objects.get('listAccessKeys', objectKey);
    // Deleted between the listing and now (its database was deleted): no longer a key.
    if (sealed === null) return null;
    const opened = await openSecret(this.clients.kms, sealed, accessKeyContext(this.options.system, place), { retry: this.config.retry });
    return openedKey(opened, `s3://${this.config.bucket}/${objectKey}`, place);
  }

  async list(): Promise<AccessKey[]> {
    const objectKeys: string[] = [];
    for await (const objectKey of this.objects.list('listAccessKeys', this.base)) objectKeys.push(objectKey);
    const keys: AccessKey[] = [];
    for (let start = 0; start < objectKeys.length; start += openConcurrency) {
      const opened = await Promise.all(objectKeys.slice(start, start + openConcurrency).map((objectKey) => this.open(objectKey)));
      for (const key of opened) if (key !== null) keys.push(key);
    }
    return keys.sort(compareAccessKeys);
  }

  async create(permission: Permission, database?: string): Promise<AccessKey> {
    const request = checkKeyRequest(permission, database);
    const key = newAccessKey(request.permission, request.database);
    const sealed = await sealSecret(
      this.clients.kms,
      this.kmsKey,
      new TextEncoder().encode(JSON.stringify(key)),
      accessKeyContext(this.options.system, key),
      { retry: this.config.retry },
    );
    await this.objects.put('createAccessKey', `${this.base}${accessKeyFolder(key.permission, key.database)}${key.keyId}`, sealed);
    return key;
  }

  ensureAdminKey(): Promise<AccessKey> {
    return ensureAdminKeyOf(this);
  }

  async deleteDatabaseKeys(database: string): Promise<void> {
    const folder = `${this.base}dbs/${checkedDatabaseName(database)}/`;
    const objectKeys: string[] = [];
    for await (const objectKey of this.objects.list('deleteDatabaseKeys', folder)) objectKeys.push(objectKey);
    if (objectKeys.length > 0) await this.objects.delete('deleteDatabaseKeys', objectKeys);
  }

  async close(): Promise<void> {
    if (this.ownsClients) destroyAwsClients(this.clients);
  }
}

/**
 * The access keys of the system whose storage `config` describes, sealed with its `kmsKey`.
 *
 * @example
 * const keys = openS3KeyStore(awsStorageConfigFromEnvironment(process.env), { system: 'prod' });
 * const admin = await keys.ensureAdminKey();
 */
export function openS3KeyStore(config: AwsStorageConfig, options: S3KeyStoreOptions): AccessKeyStore {
  if (config.kmsKey === undefined || config.kmsKey === '') {
    fail('node/invalid-config', `access keys on AWS are sealed with KMS, but the storage of system ${options.system} names no KMS key; expected kmsKey (FACTUM_KMS_KEY)`, {
      system: options.system,
    });
  }
  if (typeof options.system !== 'string' || options.system === '') {
    fail('node/invalid-config', `access keys need the system's name, got ${JSON.stringify(options.system)}; expected a non-empty string`, {
      system: options.system,
    });
  }
  const clients = options.clients ?? createAwsClients(config);
  return new S3KeyStore(config, options, clients, options.clients === undefined);
}
