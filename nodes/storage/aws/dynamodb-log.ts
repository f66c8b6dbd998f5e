//! The log on DynamoDB: one item per position (see table-layout.ts), appended by a conditional put
//! on the empty position. The condition is the fence: of any number of writers racing for one
//! position, exactly one put succeeds.
//!
//! Ambiguous writes. A put that timed out or got a 5xx may have been carried out. Its retry then
//! fails its condition, and the position is read back (strongly consistent): if the stored digest
//! and bytes are this append's, the append succeeded (true); otherwise another writer won (false).
//! So a committed entry is never reported as failed, and no entry is written twice: every retry is
//! the same conditional put. After the last attempt the error says whether the write may have been
//! made (`data.maybeWritten`); the caller must read the position to learn the outcome.
//!
//! Large entries. An entry over `spillBytesMin` is put in S3 first (content-addressed by log,
//! position and digest), then the item, pointing at it, is put with the same condition; an item
//! never points at a missing object. The object of a lost race stays until `deleteLog`, which
//! removes every object under the log's spill prefix.
//!
//! Every entry carries the SHA-256 of its bytes, checked on every read (`storage/corrupt`).
//!
//! Gaps. A conditional put can only test its own item, so the no-gap rule is checked by reading
//! position - 1 first, unless this process has already seen the log that long (it wrote or read
//! that far). A log deleted by another process meanwhile is not noticed; logs are deleted only
//! after their database left the catalog, when nobody appends to them.

import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { fail } from '../../util/errors.ts';
import type { LogEntry } from '../protocol.ts';
import { checkNoGap } from '../check-arguments.ts';
import { withRetries, type ResolvedRetryPolicy } from './retry.ts';
import type { S3Objects } from './s3-objects.ts';
import { attributes as names, sha256, type TableLayout } from './table-layout.ts';

type Item = Record<string, AttributeValue>;

/** DynamoDB writes at most 25 items per BatchWriteItem request. */
const batchWriteSize = 25;

export function isConditionFailed(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

function sameBytes(left: Uint8Array | undefined, right: Uint8Array | undefined): boolean {
  return left !== undefined && right !== undefined && Buffer.compare(left, right) === 0;
}

function positionOf(item: Item): number {
  return Number(item[names.position]?.N);
}

export interface DynamodbLogOptions {
  readonly dynamodb: DynamoDBClient;
  readonly table: string;
  readonly layout: TableLayout;
  readonly objects: S3Objects;
  readonly policy: ResolvedRetryPolicy;
  readonly spillBytesMin: number;
}

export class DynamodbLog {
  /** A lower bound of each log's length seen by this process: skips the gap check's read. */
  private readonly knownLength = new Map<string, number>();

  constructor(private readonly options: DynamodbLogOptions) {}

  private key(log: string, position: number): Item {
    return { [names.id]: { S: this.options.layout.logId(log) }, [names.position]: { N: String(position) } };
  }

  private target(log: string, position?: number): string {
    return `${this.options.table} log ${JSON.stringify(log)}${position === undefined ? '' : ` position ${position}`}`;
  }

  private noteLength(log: string, length: number): void {
    if ((this.knownLength.get(log) ?? 0) < length) this.knownLength.set(log, length);
  }

  private async getItem(log: string, position: number, projection?: string): Promise<Item | null> {
    const { dynamodb, table, policy } = this.options;
    const answer = await withRetries(policy, 'readLog', this.target(log, position), ({ abortSignal }) =>
      dynamodb.send(
        new GetItemCommand({
          TableName: table,
          Key: this.key(log, position),
          ConsistentRead: true,
          ...(projection === undefined ? {} : { ProjectionExpression: '#p', ExpressionAttributeNames: { '#p': projection } }),
        }),
        { abortSignal },
      ),
    );
    return answer.Item ?? null;
  }

  /** Positions have no gaps: `position - 1` must exist (known here, or read). */
  private async checkNoGap(log: string, position: number): Promise<void> {
    if (position === 0 || (this.knownLength.get(log) ?? 0) >= position) return;
    if ((await this.getItem(log, position - 1, names.position)) !== null) {
      this.noteLength(log, position);
      return;
    }
    checkNoGap(log, position, await this.length(log));
  }

  async append(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    await this.checkNoGap(log, position);
    const digest = sha256(bytes);
    const item: Item = { ...this.key(log, position), [names.digest]: { B: digest } };
    if (bytes.length > this.options.spillBytesMin) {
      const objectKey = this.options.layout.spillObjectKey(log, position, digest);
      await this.options.objects.put('appendLog', objectKey, bytes);
      item[names.spill] = { S: objectKey };
      item[names.size] = { N: String(bytes.length) };
    } else {
      item[names.bytes] = { B: Uint8Array.from(bytes) };
    }
    const won = await this.conditionalPut(log, position, item);
    this.noteLength(log, position + 1);
    return won;
  }

  private async conditionalPut(log: string, position: number, item: Item): Promise<boolean> {
    const { dynamodb, table, policy } = this.options;
    return withRetries(policy, 'appendLog', this.target(log, position), async ({ ambiguous, abortSignal }) => {
      try {
        await dynamodb.send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#id)',
            ExpressionAttributeNames: { '#id': names.id },
          }),
          { abortSignal },
        );
        return true;
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // The position is taken. Only after an attempt that may have landed can it be ours.
        return ambiguous && this.isStored(log, position, item);
      }
    });
  }

  /** True when the item at the position is `item` (same digest, same inline bytes or object). */
  private async isStored(log: string, position: number, item: Item): Promise<boolean> {
    const stored = await this.getItem(log, position);
    if (stored === null || !sameBytes(stored[names.digest]?.B, item[names.digest]?.B)) return false;
    const inline = item[names.bytes]?.B;
    return inline === undefined ? stored[names.spill]?.S === item[names.spill]?.S : sameBytes(stored[names.bytes]?.B, inline);
  }

  async length(log: string): Promise<number> {
    const { dynamodb, table, policy } = this.options;
    const answer = await withRetries(policy, 'logLength', this.target(log), ({ abortSignal }) =>
      dynamodb.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: '#id = :id',
          ExpressionAttributeNames: { '#id': names.id, '#position': names.position },
          ExpressionAttributeValues: { ':id': { S: this.options.layout.logId(log) } },
          ProjectionExpression: '#position',
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
        { abortSignal },
      ),
    );
    const last = answer.Items?.[0];
    const length = last === undefined ? 0 : positionOf(last) + 1;
    // A deleted log shrinks: forget what was known, then note what is.
    this.knownLength.delete(log);
    this.noteLength(log, length);
    return length;
  }

  /** The items with `start <= position < end` (or to the end), page by page, ascending. */
  private async *queryItems(log: string, start: number, end: number | undefined, descending = false): AsyncIterable<Item> {
    const { dynamodb, table, policy } = this.options;
    const range = end === undefined ? '#position >= :start' : '#position BETWEEN :start AND :last';
    const values: Item = { ':id': { S: this.options.layout.logId(log) }, ':start': { N: String(start) } };
    if (end !== undefined) values[':last'] = { N: String(end - 1) };
    let startKey: Item | undefined;
    do {
      const page = await withRetries(policy, 'readLog', this.target(log, start), ({ abortSignal }) =>
        dynamodb.send(
          new QueryCommand({
            TableName: table,
            KeyConditionExpression: `#id = :id AND ${range}`,
            ExpressionAttributeNames: { '#id': names.id, '#position': names.position },
            ExpressionAttributeValues: values,
            ConsistentRead: true,
            ScanIndexForward: !descending,
            ExclusiveStartKey: startKey,
          }),
          { abortSignal },
        ),
      );
      yield* page.Items ?? [];
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async *read(log: string, start: number, end: number | undefined): AsyncIterable<LogEntry> {
    if (end !== undefined && end <= start) return;
    let expected = start;
    for await (const item of this.queryItems(log, start, end)) {
      const position = positionOf(item);
      if (position !== expected) {
        fail('storage/corrupt', `${this.target(log)}: read position ${position}; expected ${expected} (positions have no gaps)`, {
          log,
          position,
          expected,
        });
      }
      const bytes = await this.entryBytes(log, item);
      this.noteLength(log, position + 1);
      yield { position, bytes };
      expected++;
    }
  }

  private async entryBytes(log: string, item: Item): Promise<Uint8Array> {
    const position = positionOf(item);
    const objectKey = item[names.spill]?.S;
    const bytes = objectKey === undefined ? item[names.bytes]?.B : await this.options.objects.get('readLog', objectKey);
    if (bytes === undefined || bytes === null) {
      fail('storage/corrupt', `${this.target(log, position)}: the entry's bytes are missing${objectKey ? ` (S3 ${objectKey})` : ''}`, {
        log,
        position,
        objectKey,
      });
    }
    if (!sameBytes(sha256(bytes), item[names.digest]?.B)) {
      fail('storage/corrupt', `${this.target(log, position)}: the entry's SHA-256 differs from the one written`, { log, position });
    }
    return Uint8Array.from(bytes);
  }

  /** Deletes the log from its last position down (it stays a prefix), then its spilled objects. */
  async delete(log: string): Promise<void> {
    let batch: Item[] = [];
    for await (const item of this.queryItems(log, 0, undefined, true)) {
      batch.push({ [names.id]: item[names.id], [names.position]: item[names.position] });
      if (batch.length === batchWriteSize) {
        await this.deleteItems(log, batch);
        batch = [];
      }
    }
    await this.deleteItems(log, batch);
    this.knownLength.delete(log);
    const objects: string[] = [];
    for await (const key of this.options.objects.list('deleteLog', this.options.layout.spillPrefix(log))) objects.push(key);
    await this.options.objects.delete('deleteLog', objects);
  }

  /** One BatchWriteItem of deletes; unprocessed items are sent again, counted as throttling. */
  private async deleteItems(log: string, keys: Item[]): Promise<void> {
    const { dynamodb, table, policy } = this.options;
    let pending = keys.map((key) => ({ DeleteRequest: { Key: key } }));
    await withRetries(policy, 'deleteLog', this.target(log), async ({ abortSignal }) => {
      if (pending.length === 0) return;
      const answer = await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }), { abortSignal });
      pending = (answer.UnprocessedItems?.[table] ?? []).flatMap((request) =>
        request.DeleteRequest?.Key === undefined ? [] : [{ DeleteRequest: { Key: request.DeleteRequest.Key } }],
      );
      if (pending.length > 0) {
        throw Object.assign(new Error(`${pending.length} deletes left unprocessed`), { name: 'ProvisionedThroughputExceededException' });
      }
    });
  }
}
