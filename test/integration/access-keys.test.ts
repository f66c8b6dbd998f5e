// Access keys on AWS: the key store contract on the S3 + KMS store, the object layout under the
// storage's prefix, envelopes that open only at their own path and system, and the client's
// fetchAccessKey with the caller's credentials.
import { CopyObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchAccessKey } from '../../client/remote/access-key.ts';
import { describeKeyStoreContract } from '../../nodes/server/access-keys/key-store-contract.ts';
import { openS3KeyStore, type AccessKeyStore } from '../../nodes/server/access-keys/index.ts';
import { createAwsClients, destroyAwsClients, type AwsClients, type AwsStorageConfig } from '../../nodes/storage/aws/index.ts';
import { integrationConfig, isEmulator, removePrefix } from './aws-environment.ts';

/** A store under a fresh prefix; every store opened on it is closed by cleanup. */
async function makeS3Store(system = 'test') {
  const config = integrationConfig();
  const opened: AccessKeyStore[] = [];
  const open = () => {
    const store = openS3KeyStore(config, { system });
    opened.push(store);
    return store;
  };
  return {
    config,
    store: open(),
    openAgain: open,
    cleanup: async () => {
      for (const store of opened) await store.close();
      await removePrefix(config);
    },
  };
}

describeKeyStoreContract('s3+kms', () => makeS3Store());

async function objectKeys(clients: AwsClients, config: AwsStorageConfig): Promise<string[]> {
  const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix }));
  return (page.Contents ?? []).map((object) => object.Key ?? '').sort();
}

describe('S3 + KMS access key store', () => {
  let subject: Awaited<ReturnType<typeof makeS3Store>>;
  let clients: AwsClients;
  let config: AwsStorageConfig;
  beforeEach(async () => {
    subject = await makeS3Store();
    config = subject.config;
    clients = createAwsClients(config);
  });
  afterEach(async () => {
    destroyAwsClients(clients);
    await subject.cleanup();
  });

  const copy = (source: string, target: string) =>
    clients.s3.send(new CopyObjectCommand({ Bucket: config.bucket, CopySource: `${config.bucket}/${source}`, Key: target }));

  it('keeps one sealed object per key under <prefix>access/, named by permission, database and key id', async () => {
    const admin = await subject.store.create('admin');
    const writer = await subject.store.create('read-write', 'shop');
    const reader = await subject.store.create('read-only', 'shop');
    expect(await objectKeys(clients, config)).toEqual(
      [
        `${config.prefix}access/admin/${admin.keyId}`,
        `${config.prefix}access/dbs/shop/read-only/${reader.keyId}`,
        `${config.prefix}access/dbs/shop/read-write/${writer.keyId}`,
      ].sort(),
    );
    const answer = await clients.s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: `${config.prefix}access/admin/${admin.keyId}` }));
    const stored = Buffer.from(await answer.Body!.transformToByteArray());
    expect(stored[0]).toBe(1); // the envelope format
    expect(stored.includes(Buffer.from(admin.secret))).toBe(false);
    expect(stored.includes(Buffer.from(admin.keyId))).toBe(false);
  });

  it('honours another access prefix', async () => {
    const store = openS3KeyStore(config, { system: 'test', accessPrefix: 'keys/v2/' });
    try {
      const admin = await store.create('admin');
      expect(await objectKeys(clients, config)).toEqual([`${config.prefix}keys/v2/admin/${admin.keyId}`]);
      expect(await store.list()).toEqual([admin]);
      expect(await subject.store.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('does not open an envelope copied to another key path: list fails with secret/decrypt-failed', async () => {
    const reader = await subject.store.create('read-only', 'shop');
    // A read-only key copied among the admin keys must not become an admin key.
    await copy(`${config.prefix}access/dbs/shop/read-only/${reader.keyId}`, `${config.prefix}access/admin/${reader.keyId}`);
    await expect(subject.store.list()).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
    await expect(fetchAccessKey({ aws: config, system: 'test', permission: 'admin' })).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
  });

  it('does not open an envelope copied under another key id or database', async () => {
    const writer = await subject.store.create('read-write', 'shop');
    await copy(`${config.prefix}access/dbs/shop/read-write/${writer.keyId}`, `${config.prefix}access/dbs/shop/read-write/0000000000000000`);
    await expect(subject.store.list()).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
    await subject.store.deleteDatabaseKeys('shop');
    const other = await subject.store.create('read-write', 'other');
    await copy(`${config.prefix}access/dbs/other/read-write/${other.keyId}`, `${config.prefix}access/dbs/shop/read-write/${other.keyId}`);
    await expect(fetchAccessKey({ aws: config, system: 'test', permission: 'read-write', database: 'shop' })).rejects.toMatchObject({
      code: 'secret/decrypt-failed',
    });
  });

  it("does not open another system's keys", async () => {
    await subject.store.create('admin');
    const elsewhere = openS3KeyStore(config, { system: 'other-system' });
    try {
      await expect(elsewhere.list()).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
    } finally {
      await elsewhere.close();
    }
    await expect(fetchAccessKey({ aws: config, system: 'other-system', permission: 'admin' })).rejects.toMatchObject({ code: 'secret/decrypt-failed' });
  });

  it('refuses to open without a KMS key, with node/invalid-config', () => {
    expect(() => openS3KeyStore({ ...config, kmsKey: undefined }, { system: 'test' })).toThrow(expect.objectContaining({ code: 'node/invalid-config' }));
  });
});

describe('fetchAccessKey', () => {
  let subject: Awaited<ReturnType<typeof makeS3Store>>;
  beforeEach(async () => {
    subject = await makeS3Store();
  });
  afterEach(() => subject.cleanup());

  it('fetches the key of each permission that the store created', async () => {
    const admin = await subject.store.create('admin');
    const writer = await subject.store.create('read-write', 'shop');
    const reader = await subject.store.create('read-only', 'shop');
    const aws = subject.config;
    expect(await fetchAccessKey({ aws, system: 'test', permission: 'admin' })).toEqual(admin);
    expect(await fetchAccessKey({ aws, system: 'test', permission: 'read-write', database: 'shop' })).toEqual(writer);
    expect(await fetchAccessKey({ aws, system: 'test', permission: 'read-only', database: 'shop' })).toEqual(reader);
  });

  it('answers auth/key-not-found naming the prefix and the IAM permissions needed when there is no key', async () => {
    await subject.store.create('read-only', 'shop');
    const error = await fetchAccessKey({ aws: subject.config, system: 'test', permission: 'read-write', database: 'shop' }).then(
      () => expect.unreachable(),
      (caught: unknown) => caught as Error & { data: Record<string, unknown> },
    );
    expect(error).toMatchObject({ code: 'auth/key-not-found', data: { where: `s3://${subject.config.bucket}/${subject.config.prefix}access/dbs/shop/read-write/` } });
    expect(error.message).toContain('s3:ListBucket');
    expect(error.message).toContain('s3:GetObject');
    expect(error.message).toContain('kms:Decrypt');
  });

  // The emulator's S3 refuses credentials other than its own, as S3 refuses a role IAM denies.
  it.skipIf(!isEmulator())('answers auth/key-not-found when S3 refuses the credentials', async () => {
    const admin = await subject.store.create('admin');
    const aws = { ...subject.config, credentials: { accessKeyId: 'SOMEONE', secretAccessKey: 'ELSE' } };
    const error = await fetchAccessKey({ aws, system: 'test', permission: 'admin' }).then(
      () => expect.unreachable(),
      (caught: unknown) => caught as Error,
    );
    expect(error).toMatchObject({ code: 'auth/key-not-found' });
    expect(JSON.stringify({ message: error.message, data: (error as { data?: unknown }).data })).not.toContain('ELSE');
    expect(JSON.stringify({ message: error.message })).not.toContain(admin.secret);
  });
});
