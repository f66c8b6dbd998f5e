// The client suite (client/client-suite.ts) against the remote client on a real node process whose
// storage is DynamoDB + S3 + KMS (the emulator, LocalStack or real AWS), with SSD and EFS cache
// directories; the client fetches its access key from S3 and unwraps it with KMS, as a client on
// AWS does (Datomic Cloud's model). Each system gets its own prefix in the table and the bucket.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { Client } from '../../client/index.ts';
import { collect, describeClientSuite, stoppingNodeOnClose, type ClientTarget } from '../../client/client-suite.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { bucketClient } from '../miniature/miniature.ts';
import { kw } from '../../nodes/values/values.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';
import type { AwsStorageConfig } from '../../nodes/storage/aws/index.ts';

const configs: AwsStorageConfig[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const config of configs) await removePrefix(config);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** The system each client talks to, for restarts. */
const systemOf = new WeakMap<Client, SystemUnderTest>();

interface SystemUnderTest {
  readonly dir: string;
  readonly config: AwsStorageConfig;
}

async function startNodeOn(system: SystemUnderTest): Promise<ChildNode> {
  const environment = inject('awsEnvironment');
  const { dir, config } = system;
  return startChildNode(dir, path.join(dir, 'node.log'), 0, {
    ...environment,
    FACTUM_STORAGE: 'aws',
    FACTUM_STORAGE_PREFIX: config.prefix!,
    FACTUM_SYSTEM: 'it',
    FACTUM_SSD_CACHE_DIR: path.join(dir, 'ssd'),
    FACTUM_EFS_CACHE_DIR: path.join(dir, 'efs'),
  });
}

/** A client that fetches its key from the system's bucket and unwraps it with KMS. */
function clientOf(node: ChildNode, config: AwsStorageConfig, permission: 'admin' | 'read-write' | 'read-only', database?: string): Client {
  return bucketClient(node.announcement.endpoint, node.announcement.system, config, permission, database);
}

async function remoteOn(system: SystemUnderTest): Promise<Client> {
  const node = await startNodeOn(system);
  expect(node.announcement.keyFile).toBe(null);
  const client = clientOf(node, system.config, 'admin');
  const wrapped = stoppingNodeOnClose(client, node);
  systemOf.set(wrapped, system);
  return wrapped;
}

async function freshSystem(): Promise<SystemUnderTest> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-remote-aws-'));
  dirs.push(dir);
  const config = integrationConfig({ prefix: `it-${randomUUID()}/` });
  configs.push(config);
  return { dir, config };
}

const target: ClientTarget = {
  fresh: async () => remoteOn(await freshSystem()),
  async restart(client) {
    await client.close();
    return remoteOn(systemOf.get(client)!);
  },
};

describeClientSuite('remote, node on DynamoDB + S3 + KMS', target);

describe('access keys on AWS storage', () => {
  it('a database key fetched from S3 and unwrapped with KMS reads its own database only, and read-only may not write', async () => {
    const system = await freshSystem();
    const node = await startNodeOn(system);
    const admin = clientOf(node, system.config, 'admin');
    try {
      await admin.createDatabase('shop');
      await admin.createDatabase('other');
      const conn = await admin.connect('shop');
      await conn.transact('[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]');
      const reader = clientOf(node, system.config, 'read-only', 'shop');
      const writer = clientOf(node, system.config, 'read-write', 'shop');
      try {
        const readConn = await reader.connect('shop');
        expect(await collect(readConn.db().datoms('avet', ['db/ident', kw('item/sku')]))).toHaveLength(1);
        await expect(readConn.transact('[{:item/sku "A"}]')).rejects.toMatchObject({ code: 'auth/not-permitted', category: 'forbidden' });
        await expect(reader.connect('other')).rejects.toMatchObject({ code: 'auth/not-permitted' });
        await expect(reader.createDatabase('third')).rejects.toMatchObject({ code: 'auth/not-permitted' });
        expect(await reader.listDatabases()).toEqual(['shop']);
        const written = await (await writer.connect('shop')).transact('[{:item/sku "B"}]');
        expect(written.dbAfter.basisT).toBe(2);
        expect((await readConn.sync(2)).basisT).toBe(2);
      } finally {
        await reader.close();
        await writer.close();
      }
    } finally {
      await admin.close();
      await node.stop();
    }
  });
});
