//! Records (roots, the catalog, leases) on DynamoDB: one item each, changed only by a conditional
//! update on its `version` attribute, read strongly consistently.
//!
//! Ambiguous writes, as for the log: when a retry after a timeout or 5xx fails its condition, the
//! item is read back. A swap succeeded if the item now holds version `expected + 1` with this
//! swap's bytes; a delete succeeded if the item is gone. (Of two deletes racing at one version,
//! both asked for the same thing: the record at that version gone.)

import {
  DeleteItemCommand,
  GetItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { fail } from '../../util/errors.ts';
import type { VersionedRecord } from '../protocol.ts';
import { spillBytesMinDefault } from './config.ts';
import { isConditionFailed } from './dynamodb-log.ts';
import { withRetries, type ResolvedRetryPolicy } from './retry.ts';
import { attributes as names, type TableLayout } from './table-layout.ts';

type Item = Record<string, AttributeValue>;

/** A record is one item; the rest of the 400 KB item limit is left to its key and attributes. */
export const recordBytesMax = spillBytesMinDefault;

export interface DynamodbRecordsOptions {
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly layout: TableLayout;
  readonly policy: ResolvedRetryPolicy;
}

function versionOf(item: Item): number {
  return Number(item[names.version]?.N);
}

export class DynamodbRecords {
  constructor(private readonly options: DynamodbRecordsOptions) {}

  private key(key: string): Item {
    return { [names.id]: { S: this.options.layout.recordId(key) }, [names.position]: { N: '0' } };
  }

  private target(key: string): string {
    return `${this.options.table} record ${JSON.stringify(key)}`;
  }

  async get(key: string): Promise<VersionedRecord | null> {
    const { dynamodb, table, policy } = this.options;
    const answer = await withRetries(policy, 'getRecord', this.target(key), ({ abortSignal }) =>
      dynamodb.send(new GetItemCommand({ TableName: table, Key: this.key(key), ConsistentRead: true }), { abortSignal }),
    );
    const item = answer.Item;
    if (item === undefined) return null;
    const version = versionOf(item);
    const bytes = item[names.bytes]?.B;
    if (!Number.isSafeInteger(version) || version < 1 || bytes === undefined) {
      fail('storage/corrupt', `${this.target(key)}: the item has no valid version and bytes`, { key, version });
    }
    return { version, bytes: Uint8Array.from(bytes) };
  }

  async compareAndSwap(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    if (bytes.length > recordBytesMax) {
      fail('storage/record-too-large', `record ${JSON.stringify(key)} is ${bytes.length} bytes; expected at most ${recordBytesMax}`, {
        key,
        size: bytes.length,
        sizeMax: recordBytesMax,
      });
    }
    if (expectedVersion !== null && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1)) return false;
    const { dynamodb, table, policy } = this.options;
    const next = (expectedVersion ?? 0) + 1;
    const stored = Uint8Array.from(bytes);
    const condition =
      expectedVersion === null
        ? { ConditionExpression: 'attribute_not_exists(#id)', ExpressionAttributeNames: { '#id': names.id } }
        : { ConditionExpression: '#version = :expected', ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } } };
    return withRetries(policy, 'casRecord', this.target(key), async ({ ambiguous, abortSignal }) => {
      try {
        await dynamodb.send(
          new UpdateItemCommand({
            TableName: table,
            Key: this.key(key),
            UpdateExpression: 'SET #bytes = :bytes, #version = :next',
            ...condition,
            ExpressionAttributeNames: { ...condition.ExpressionAttributeNames, '#bytes': names.bytes, '#version': names.version },
            ExpressionAttributeValues: {
              ...condition.ExpressionAttributeValues,
              ':bytes': { B: stored },
              ':next': { N: String(next) },
            },
          }),
          { abortSignal },
        );
        return true;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        if (!ambiguous) return false;
        const current = await this.get(key);
        return current !== null && current.version === next && Buffer.compare(current.bytes, stored) === 0;
      }
    });
  }

  async delete(key: string, expectedVersion: number): Promise<boolean> {
    const { dynamodb, table, policy } = this.options;
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 1) return false;
    return withRetries(policy, 'deleteRecord', this.target(key), async ({ ambiguous, abortSignal }) => {
      try {
        await dynamodb.send(
          new DeleteItemCommand({
            TableName: table,
            Key: this.key(key),
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': names.version },
            ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
          }),
          { abortSignal },
        );
        return true;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        return ambiguous && (await this.get(key)) === null;
      }
    });
  }
}
