// What every integration test needs: the configuration of the system under test, a fresh prefix
// per storage (so tests share one table and bucket without seeing each other), and a cleanup that
// removes everything under that prefix.
import { randomUUID } from 'node:crypto';
import { BatchWriteItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import {
  awsStorageConfigFromEnvironment,
  createAwsClients,
  createAwsStorage,
  destroyAwsClients,
  type AwsClients,
  type AwsStorage,
  type AwsStorageConfig,
} from '../../nodes/storage/aws/index.ts';
import type { StorageUnderTest } from '../../nodes/storage/contract.ts';

export function isEmulator(): boolean {
  return inject('awsEnvironment').FACTUM_EMULATOR === 'true';
}

/** The system's configuration, under a new prefix. */
export function integrationConfig(overrides: Partial<AwsStorageConfig> = {}): AwsStorageConfig {
  const environment = inject('awsEnvironment');
  const base = awsStorageConfigFromEnvironment(environment);
  const credentials =
    environment.AWS_ACCESS_KEY_ID === undefined
      ? {}
      : { credentials: { accessKeyId: environment.AWS_ACCESS_KEY_ID, secretAccessKey: environment.AWS_SECRET_ACCESS_KEY ?? '' } };
  return { ...base, ...credentials, prefix: `it-${randomUUID()}/`, ...overrides };
}

/** Removes every item and object under the config's prefix (a scan: fine for tests only). */
export async function removePrefix(config: AwsStorageConfig): Promise<void> {
  const prefix = config.prefix ?? '';
  if (prefix === '') throw new Error('refusing to remove a whole table and bucket');
  const clients = createAwsClients(config);
  try {
    await removeItems(clients, config.table, prefix);
    await removeObjects(clients, config.bucket, prefix);
  } finally {
    destroyAwsClients(clients);
  }
}

async function removeItems(clients: AwsClients, table: string, prefix: string): Promise<void> {
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(#id, :prefix)',
        ExpressionAttributeNames: { '#id': 'id', '#position': 'position' },
        ExpressionAttributeValues: { ':prefix': { S: prefix } },
        ProjectionExpression: '#id, #position',
        ExclusiveStartKey: startKey,
      }),
    );
    const keys = page.Items ?? [];
    for (let start = 0; start < keys.length; start += 25) {
      const requests = keys.slice(start, start + 25).map((Key) => ({ DeleteRequest: { Key } }));
      await clients.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
}

async function removeObjects(clients: AwsClients, bucket: string, prefix: string): Promise<void> {
  for (;;) {
    const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    const keys = (page.Contents ?? []).flatMap((object) => (object.Key === undefined ? [] : [{ Key: object.Key }]));
    if (keys.length === 0) return;
    await clients.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** A fresh AWS storage and its cleanup, in the shape the contract suite takes. */
export async function makeAwsStorage(
  overrides: Partial<AwsStorageConfig> = {},
  clients?: AwsClients,
): Promise<StorageUnderTest & { storage: AwsStorage }> {
  const config = integrationConfig(overrides);
  const storage = createAwsStorage(config, clients === undefined ? {} : { clients });
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      await removePrefix(config);
    },
  };
}
