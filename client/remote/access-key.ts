//! Access keys, and the client's two ways of obtaining one.
//!
//! A system has admin keys, and per database read-write and read-only keys (Datomic Cloud's model:
//! "authorization is performed using AWS HMAC, with key transfer via S3, enabling access control
//! governed by IAM roles"). Every stored key is valid, so two nodes that both created an admin key
//! at first start leave two working admin keys.
//!
//! Where a key lives, relative to the access prefix (`access/` by default):
//!
//!   admin/<keyId>                          the system's admin keys
//!   dbs/<database>/read-write/<keyId>      read and write one database
//!   dbs/<database>/read-only/<keyId>       read one database
//!
//! On AWS each is one S3 object holding a KMS envelope of the key's JSON, bound to the encryption
//! context `accessKeyContext` gives, so that IAM policies on these prefixes decide who may fetch
//! which keys, and a blob copied to another path or system does not open. A local system keeps the
//! same paths plus `.json` as plain JSON files, readable only by their owner.
//!
//! This module is loaded by clients, also in AWS Lambda: the AWS SDK and the envelope code are
//! imported only inside `fetchAccessKey`, so that a client given a key file never loads them.

import { readFile } from 'node:fs/promises';
import { FactumError, fail, isFactumError } from '../../nodes/util/errors.ts';

/**
 * What a key may do. `ions` is the key a node gives the ions it runs (read and write every
 * database, nothing of an admin's): made by the node at start, held only in its memory, never
 * stored or fetched.
 */
export type Permission = 'admin' | 'read-write' | 'read-only' | 'ions';

/** The permissions of keys kept in storage (key files, the bucket). */
export const permissions: readonly Permission[] = ['admin', 'read-write', 'read-only'];

/** One access key. The secret signs requests (signing.ts); it never appears in errors or logs. */
export interface AccessKey {
  /** A short random id, 16 hex characters for keys factum makes; sent with every request. */
  readonly keyId: string;
  /** 32 random bytes as base64url. */
  readonly secret: string;
  readonly permission: Permission;
  /** The database of a read-write or read-only key; null for an admin key. */
  readonly database: string | null;
}

/** The access prefix inside the bucket (after the storage's own name-space prefix). */
export const accessPrefixDefault = 'access/';

/** Key ids are also path parts (files, S3 keys): no `/`, `.` or other characters to escape. */
const keyIdPattern = /^[A-Za-z0-9_-]{1,64}$/;
/** The same rule as checkDatabaseName (nodes/transactor/system.ts, which a client must not load). */
const databasePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** 32 bytes as base64url, unpadded. */
const secretPattern = /^[A-Za-z0-9_-]{43}$/;
const accessPrefixPattern = /^[A-Za-z0-9_\-/]*$/;

function invalidKey(message: string, data: Record<string, unknown>): never {
  fail('auth/invalid-key', message, data);
}

export function checkPermission(permission: unknown): Permission {
  if (!permissions.includes(permission as Permission)) {
    invalidKey(`access key permission ${JSON.stringify(permission)} is unknown; expected one of ${permissions.join(', ')}`, { permission });
  }
  return permission as Permission;
}

/**
 * The database a key of `permission` belongs to: null for admin, a valid database name otherwise.
 * Every refusal is `auth/invalid-key`.
 */
export function checkKeyDatabase(permission: Permission, database: unknown): string | null {
  if (permission === 'admin') {
    if (database !== null && database !== undefined) {
      invalidKey(`an admin key belongs to no database, got database ${JSON.stringify(database)}; expected none`, { permission, database });
    }
    return null;
  }
  if (typeof database !== 'string' || !databasePattern.test(database)) {
    invalidKey(
      `a ${permission} key needs a valid database name, got ${JSON.stringify(database)}; expected 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      { permission, database },
    );
  }
  return database;
}

/** The access prefix is a folder of its own: listing it must not meet the system's segments. */
export function checkAccessPrefix(accessPrefix: string): string {
  if (typeof accessPrefix !== 'string' || !accessPrefixPattern.test(accessPrefix) || !/^[^/].*\/$/.test(accessPrefix)) {
    fail('client/invalid-config', `access prefix ${JSON.stringify(accessPrefix)} is invalid; expected a folder: letters, digits, -, _ and /, ending in /`, {
      accessPrefix,
    });
  }
  return accessPrefix;
}

/**
 * Checks a key read from a file, an S3 object or given in code. `source` names where it came from
 * (a path, an S3 key) for the error; the secret is never part of an error.
 */
export function checkAccessKey(value: unknown, source: string): AccessKey {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    invalidKey(`the access key from ${source} is not an object; expected { keyId, secret, permission, database }`, { source });
  }
  const { keyId, secret, permission, database } = value as Record<string, unknown>;
  if (typeof keyId !== 'string' || !keyIdPattern.test(keyId)) {
    invalidKey(`the access key from ${source} has key id ${JSON.stringify(keyId)}; expected 1 to 64 letters, digits, '_' or '-'`, { source, keyId });
  }
  if (typeof secret !== 'string' || !secretPattern.test(secret)) {
    // The value is left out: a secret one character short is still nearly all of a secret.
    invalidKey(`the access key ${keyId} from ${source} has no valid secret; expected 32 bytes as base64url (43 characters)`, { source, keyId });
  }
  const checked = checkPermission(permission);
  return { keyId, secret, permission: checked, database: checkKeyDatabase(checked, database) };
}

/** The folder of the keys of one permission, relative to the access prefix: `admin/`, `dbs/<database>/read-only/`. */
export function accessKeyFolder(permission: Permission, database: string | null): string {
  return permission === 'admin' ? 'admin/' : `dbs/${database}/${permission}/`;
}

/**
 * The KMS encryption context of a stored key: a blob opens only at its own path (key id,
 * permission, database) of its own system. An admin key has no `database` entry.
 */
export function accessKeyContext(
  system: string,
  key: Pick<AccessKey, 'keyId' | 'permission' | 'database'>,
): Readonly<Record<string, string>> {
  return {
    system,
    purpose: 'access-key',
    keyId: key.keyId,
    permission: key.permission,
    ...(key.database === null ? {} : { database: key.database }),
  };
}

/**
 * Reads the key file a local system writes (`<dataDir>/access/...json`).
 *
 * @example
 * const key = await readAccessKeyFile('./data/access/admin/3f2a9c01d4e5b6a7.json');
 */
export async function readAccessKeyFile(filePath: string): Promise<AccessKey> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    const systemCode = (error as { code?: unknown }).code;
    throw new FactumError(
      'auth/key-not-found',
      `the access key file ${filePath} could not be read (${String(systemCode ?? error)}); expected a key file written by the system, readable by this user`,
      { path: filePath, systemCode },
      { cause: error },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the file's content, which holds the secret.
    invalidKey(`the access key file ${filePath} is not JSON; expected { keyId, secret, permission, database }`, { path: filePath });
  }
  return checkAccessKey(parsed, filePath);
}

/** Where the S3 objects of a system are, as much of AwsStorageConfig as a client needs. */
export interface AccessKeyBucket {
  readonly bucket: string;
  readonly region: string;
  /** The storage's name-space prefix, in front of the access prefix. @default - none */
  readonly prefix?: string;
  /** @default - the regional AWS endpoint; when set, path-style addressing is used */
  readonly s3Endpoint?: string;
  /** @default - the regional AWS endpoint */
  readonly kmsEndpoint?: string;
  /** @default - the SDK's default provider chain (environment, profile, instance role) */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

export interface FetchAccessKeyOptions {
  readonly aws: AccessKeyBucket;
  readonly system: string;
  /** @default 'access/' */
  readonly accessPrefix?: string;
  readonly permission: Permission;
  /** The database, for read-write and read-only keys. */
  readonly database?: string;
}

function isAccessDenied(error: unknown): boolean {
  if (isFactumError(error)) return isAccessDenied(error.cause) || /AccessDenied/.test(String(error.data.error ?? ''));
  const shape = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return shape?.$metadata?.httpStatusCode === 403 || (typeof shape?.name === 'string' && /AccessDenied|Forbidden/.test(shape.name));
}

function keyNotFound(where: string, permission: Permission, reason: string, cause?: unknown): FactumError {
  return new FactumError(
    'auth/key-not-found',
    `no ${permission} access key could be fetched from ${where} (${reason}); expected an access key there, and credentials allowed ` +
      `s3:ListBucket on that prefix, s3:GetObject on the objects under it and kms:Decrypt on the system's KMS key`,
    { where, permission, reason },
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Fetches a key from the system's bucket with the caller's AWS credentials: lists the key folder,
 * opens the first key's envelope with KMS and returns the key. What IAM allows the caller to list,
 * read and decrypt decides which keys it can fetch.
 *
 * @example
 * const key = await fetchAccessKey({ aws: { bucket: 'factum-prod', region: 'eu-west-1' }, system: 'prod', permission: 'read-only', database: 'shop' });
 */
export async function fetchAccessKey(options: FetchAccessKeyOptions): Promise<AccessKey> {
  const permission = checkPermission(options.permission);
  const database = checkKeyDatabase(permission, options.database);
  const folder = `${options.aws.prefix ?? ''}${checkAccessPrefix(options.accessPrefix ?? accessPrefixDefault)}${accessKeyFolder(permission, database)}`;
  const where = `s3://${options.aws.bucket}/${folder}`;
  // Loaded here, never at the top: a client given a key file does without the AWS SDK.
  const [s3Module, kmsModule, envelope] = await Promise.all([
    import('@aws-sdk/client-s3'),
    import('@aws-sdk/client-kms'),
    import('../../nodes/storage/aws/envelope.ts'),
  ]);
  const common = {
    region: options.aws.region,
    ...(options.aws.credentials === undefined ? {} : { credentials: options.aws.credentials }),
  };
  const s3 = new s3Module.S3Client({ ...common, endpoint: options.aws.s3Endpoint, forcePathStyle: options.aws.s3Endpoint !== undefined });
  const kms = new kmsModule.KMSClient({ ...common, endpoint: options.aws.kmsEndpoint });
  try {
    let objectKey: string | undefined;
    let sealed: Uint8Array;
    try {
      const listing = await s3.send(new s3Module.ListObjectsV2Command({ Bucket: options.aws.bucket, Prefix: folder, MaxKeys: 1 }));
      objectKey = listing.Contents?.find((object) => object.Key !== undefined)?.Key;
      if (objectKey === undefined) throw keyNotFound(where, permission, 'no key under the prefix');
      const answer = await s3.send(new s3Module.GetObjectCommand({ Bucket: options.aws.bucket, Key: objectKey }));
      sealed = answer.Body === undefined ? new Uint8Array(0) : await answer.Body.transformToByteArray();
    } catch (error) {
      if (isFactumError(error)) throw error;
      if (isAccessDenied(error)) throw keyNotFound(where, permission, `S3 refused: ${(error as Error).name}`, error);
      throw new FactumError('storage/io', `fetching an access key from ${where} failed with ${(error as Error).name}; expected S3 to answer`, {
        where,
        error: (error as Error).name,
      }, { cause: error });
    }
    const keyId = objectKey.slice(folder.length);
    const context = accessKeyContext(options.system, { keyId, permission, database });
    let opened: Uint8Array;
    try {
      opened = await envelope.openSecret(kms, sealed, context);
    } catch (error) {
      if (isAccessDenied(error)) throw keyNotFound(where, permission, 'KMS refused to decrypt', error);
      throw error;
    }
    return openedKey(opened, `s3://${options.aws.bucket}/${objectKey}`, { keyId, permission, database });
  } finally {
    s3.destroy();
    kms.destroy();
  }
}

/**
 * The key in an opened envelope, checked against the path it was stored at (the encryption context
 * already binds them; this catches a store that sealed the wrong key).
 */
export function openedKey(opened: Uint8Array, source: string, expected: Pick<AccessKey, 'keyId' | 'permission' | 'database'>): AccessKey {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened));
  } catch {
    invalidKey(`the access key at ${source} is not JSON; expected { keyId, secret, permission, database }`, { source });
  }
  const key = checkAccessKey(parsed, source);
  if (key.keyId !== expected.keyId || key.permission !== expected.permission || key.database !== expected.database) {
    invalidKey(
      `the access key at ${source} is ${key.permission} key ${key.keyId} of ${JSON.stringify(key.database)}; expected ${expected.permission} key ${expected.keyId} of ${JSON.stringify(expected.database)}, as its path says`,
      // Only the three fields: a caller may pass a whole key as `expected`.
      { source, keyId: key.keyId, permission: key.permission, database: key.database, expected: { keyId: expected.keyId, permission: expected.permission, database: expected.database } },
    );
  }
  return key;
}
