// What the AWS backend stores where (table-layout.ts): spilled log entries, checksums checked on
// read, deleteLog removing spilled objects, size and key limits.
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { bytesOf, collect } from '../../nodes/storage/contract.ts';
import { type AwsStorage } from '../../nodes/storage/aws/index.ts';
import { makeAwsStorage } from './aws-environment.ts';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fresh(overrides = {}): Promise<AwsStorage> {
  const subject = await makeAwsStorage(overrides);
  cleanups.push(subject.cleanup);
  return subject.storage;
}

function itemKey(storage: AwsStorage, kind: 'log' | 'record', name: string, position = 0) {
  return {
    TableName: storage.config.table,
    Key: { id: { S: `${storage.config.prefix}${kind}:${name}` }, position: { N: String(position) } },
  };
}

async function spilledObjects(storage: AwsStorage): Promise<string[]> {
  const page = await storage.clients.s3.send(
    new ListObjectsV2Command({ Bucket: storage.config.bucket, Prefix: `${storage.config.prefix}log-spill/` }),
  );
  return (page.Contents ?? []).map((object) => object.Key ?? '');
}

describe('AWS storage layout', () => {
  it('spills a log entry over 350 KiB to S3 and reads it back byte-exact', async () => {
    const storage = await fresh();
    const large = Uint8Array.from({ length: 600 * 1024 }, (_, index) => (index * 7) & 0xff);
    expect(await storage.appendLog('db', 0, bytesOf('small'))).toBe(true);
    expect(await storage.appendLog('db', 1, large)).toBe(true);
    const item = (await storage.clients.dynamodb.send(new GetItemCommand({ ...itemKey(storage, 'log', 'db', 1), ConsistentRead: true }))).Item;
    expect(item?.spill?.S).toMatch(/log-spill\//);
    expect(item?.bytes).toBeUndefined();
    const read = await collect(storage.readLog('db', 0));
    expect(read.map((entry) => entry.bytes.length)).toEqual([5, large.length]);
    expect(Buffer.compare(read[1].bytes, large)).toBe(0);
  });

  it('removes spilled objects with the log', async () => {
    const storage = await fresh({ spillBytesMin: 4 });
    await storage.appendLog('db', 0, bytesOf('spilled entry zero'));
    await storage.appendLog('db', 1, bytesOf('spilled entry one'));
    await storage.appendLog('other', 0, bytesOf('spilled, other log'));
    expect(await spilledObjects(storage)).toHaveLength(3);
    await storage.deleteLog('db');
    expect(await spilledObjects(storage)).toHaveLength(1);
    expect(await storage.logLength('db')).toBe(0);
    expect((await collect(storage.readLog('other', 0)))[0].bytes).toEqual(bytesOf('spilled, other log'));
  });

  it('deletes a log of more than one batch (25 items)', async () => {
    const storage = await fresh();
    for (let position = 0; position < 60; position++) await storage.appendLog('db', position, bytesOf(String(position)));
    await storage.deleteLog('db');
    expect(await storage.logLength('db')).toBe(0);
    expect(await collect(storage.readLog('db', 0))).toEqual([]);
  });

  it('refuses an entry whose bytes changed in the table with storage/corrupt', async () => {
    const storage = await fresh();
    await storage.appendLog('db', 0, bytesOf('original'));
    await storage.clients.dynamodb.send(
      new UpdateItemCommand({
        ...itemKey(storage, 'log', 'db', 0),
        UpdateExpression: 'SET #bytes = :bytes',
        ExpressionAttributeNames: { '#bytes': 'bytes' },
        ExpressionAttributeValues: { ':bytes': { B: bytesOf('tampered') } },
      }),
    );
    await expect(collect(storage.readLog('db', 0))).rejects.toMatchObject({ code: 'storage/corrupt' });
  });

  it('refuses a record larger than an item holds with storage/record-too-large, writing nothing', async () => {
    const storage = await fresh();
    await expect(storage.casRecord('root', null, new Uint8Array(360 * 1024))).rejects.toMatchObject({
      code: 'storage/record-too-large',
    });
    expect(await storage.getRecord('root')).toBeNull();
  });

  it('refuses keys longer than DynamoDB and S3 allow with storage/invalid-key', async () => {
    const storage = await fresh();
    const long = 'k'.repeat(2000);
    await expect(storage.appendLog(long, 0, bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
    await expect(storage.casRecord(long, null, bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
    await expect(storage.putSegment('ü'.repeat(200), bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
  });

  it('lists more than one page (1000 keys) of segments', async () => {
    const storage = await fresh();
    const keys = Array.from({ length: 1010 }, (_, index) => `db/${String(index).padStart(4, '0')}`);
    for (let start = 0; start < keys.length; start += 50) {
      await Promise.all(keys.slice(start, start + 50).map((key) => storage.putSegment(key, bytesOf(key))));
    }
    expect((await collect(storage.listSegments('db/'))).sort()).toEqual(keys);
    await storage.deleteSegments(keys);
    expect(await collect(storage.listSegments('db/'))).toEqual([]);
  });
});
