//! The AWS parts of a system on loopback, for machines without Docker (this one and CI): DynamoDB
//! (`dynalite`, in memory), S3 (`s3rver`, files in a temporary directory) and KMS (kms-server.ts),
//! each on 127.0.0.1 on a port the system chooses. It then creates the system's table, bucket and
//! key, and returns the endpoints and the environment a node reads (FACTUM_TABLE, ...).
//!
//! s3rver encrypts its listing continuation tokens with DES, which Node 17+ only offers with
//! `--openssl-legacy-provider`; the npm scripts set it in NODE_OPTIONS, and startEmulator refuses
//! to start without it rather than fail later on the first listing of more than 1000 keys.
//!
//! s3rver's DeleteObjects deletes its keys concurrently, each then removing its emptied parent
//! directories; two keys under one directory race and one fails with a 500 (ENOENT). The emulator
//! replaces that directory clean-up with one that tolerates the race (see tolerateDeleteRaces).

import { createCipheriv } from 'node:crypto';
import { mkdtemp, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import FilesystemStore from 's3rver/lib/stores/filesystem.js';
import { fail } from '../nodes/util/errors.ts';
import { tableKeySchema } from '../nodes/storage/aws/table-layout.ts';
import { startKmsServer } from './kms-server.ts';

/** s3rver accepts only these credentials; DynamoDB and KMS here accept any. */
export const emulatorCredentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface EmulatorOptions {
  /** @default 'factum' */
  readonly table?: string;
  /** @default 'factum' */
  readonly bucket?: string;
  /** An alias created for the key. @default 'alias/factum' */
  readonly kmsAlias?: string;
  /** @default 'us-east-1' */
  readonly region?: string;
}

export interface Emulator {
  readonly endpoints: { readonly dynamodb: string; readonly s3: string; readonly kms: string };
  readonly resources: { readonly table: string; readonly bucket: string; readonly kmsKey: string; readonly region: string };
  /** The environment a node (or `awsStorageConfigFromEnvironment`) reads. */
  readonly env: Readonly<Record<string, string>>;
  /** Stops the three servers and removes the S3 directory. */
  stop(): Promise<void>;
}

function checkLegacyProvider(): void {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch {
    fail(
      'client/invalid-config',
      'the emulator needs the DES cipher for s3rver, which Node only provides with --openssl-legacy-provider; ' +
        'expected NODE_OPTIONS=--openssl-legacy-provider (the npm scripts localstack and test:integration set it)',
      { nodeOptions: process.env.NODE_OPTIONS ?? '' },
    );
  }
}

async function startDynalite(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT' && error.code !== 'ENOTEMPTY') throw error;
}

/** Replaces s3rver's deleteObject: removes the object's files, then the directories it emptied. */
function tolerateDeleteRaces(): void {
  FilesystemStore.prototype.deleteObject = async function deleteObject(this: FilesystemStore, bucket: string, key: string) {
    const files = ['object', 'object.md5', 'metadata.json'].map((resource) => this.getResourcePath(bucket, key, resource));
    await Promise.all(files.map((file) => unlink(file).catch(ignoreMissing)));
    const parts = key.split('/').slice(0, -1);
    for (; parts.length > 0; parts.pop()) {
      const directory = join(this.getBucketPath(bucket), ...parts);
      // A directory another delete already removed counts as not empty: stop there.
      const remaining = await readdir(directory).catch((error: NodeJS.ErrnoException) => {
        ignoreMissing(error);
        return ['removed'];
      });
      if (remaining.length > 0) return;
      await rmdir(directory).catch(ignoreMissing);
    }
  };
}

async function startS3(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'factum-s3-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, vhostBuckets: false });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function createResources(emulator: Omit<Emulator, 'env' | 'stop'>, alias: string): Promise<string> {
  const { region, table, bucket } = emulator.resources;
  const credentials = emulatorCredentials;
  const dynamodb = new DynamoDBClient({ region, credentials, endpoint: emulator.endpoints.dynamodb });
  const s3 = new S3Client({ region, credentials, endpoint: emulator.endpoints.s3, forcePathStyle: true });
  const kms = new KMSClient({ region, credentials, endpoint: emulator.endpoints.kms });
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [...tableKeySchema.attributeDefinitions],
        KeySchema: [...tableKeySchema.keySchema],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const key = await kms.send(new CreateKeyCommand({ Description: 'factum system key (emulator)' }));
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyMetadata?.KeyId }));
    return key.KeyMetadata?.Arn ?? fail('storage/io', 'the KMS emulator returned no key ARN', {});
  } finally {
    dynamodb.destroy();
    s3.destroy();
    kms.destroy();
  }
}

/**
 * Starts DynamoDB, S3 and KMS emulators on loopback and creates the system's resources.
 *
 * @example
 * const emulator = await startEmulator();
 * const storage = createAwsStorage(awsStorageConfigFromEnvironment(emulator.env));
 * // ...
 * await emulator.stop();
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  checkLegacyProvider();
  tolerateDeleteRaces();
  const region = options.region ?? 'us-east-1';
  const started: { stop: () => Promise<void> }[] = [];
  try {
    const dynamodb = await startDynalite();
    started.push(dynamodb);
    const s3 = await startS3();
    started.push(s3);
    const kms = await startKmsServer({ region });
    started.push(kms);
    const endpoints = { dynamodb: dynamodb.endpoint, s3: s3.endpoint, kms: kms.endpoint };
    const resources = { table: options.table ?? 'factum', bucket: options.bucket ?? 'factum', kmsKey: '', region };
    const kmsKey = await createResources({ endpoints, resources }, options.kmsAlias ?? 'alias/factum');
    const env = {
      FACTUM_TABLE: resources.table,
      FACTUM_BUCKET: resources.bucket,
      FACTUM_KMS_KEY: kmsKey,
      AWS_REGION: region,
      FACTUM_DYNAMODB_ENDPOINT: endpoints.dynamodb,
      FACTUM_S3_ENDPOINT: endpoints.s3,
      FACTUM_KMS_ENDPOINT: endpoints.kms,
      AWS_ACCESS_KEY_ID: emulatorCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: emulatorCredentials.secretAccessKey,
    };
    const stop = async () => {
      for (const server of started.reverse()) await server.stop();
    };
    return { endpoints, resources: { ...resources, kmsKey }, env, stop };
  } catch (error) {
    for (const server of started.reverse()) await server.stop();
    throw error;
  }
}
