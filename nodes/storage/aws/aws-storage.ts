//! The storage protocol on AWS: the log and records in one DynamoDB table, segments in one S3
//! bucket (layout in table-layout.ts; log in dynamodb-log.ts; records in dynamodb-records.ts).
//! This file checks arguments, closes, and routes each operation to its part.

import type { LogEntry, Storage, VersionedRecord } from '../protocol.ts';
import { checkKey, checkPosition, checkRange, failClosed } from '../check-arguments.ts';
import { fail } from '../../util/errors.ts';
import { createAwsClients, destroyAwsClients, type AwsClients } from './clients.ts';
import { checkAwsStorageConfig, spillBytesMinDefault, type AwsStorageConfig } from './config.ts';
import { DynamodbLog } from './dynamodb-log.ts';
import { DynamodbRecords } from './dynamodb-records.ts';
import { resolveRetryPolicy } from './retry.ts';
import { S3Objects } from './s3-objects.ts';
import { unescapeObjectKey } from './s3-key.ts';
import { TableLayout } from './table-layout.ts';

/** DynamoDB partition keys hold at most 2048 bytes; the id adds the prefix and `record:`. */
const itemKeyBytesMax = 1536;
/** S3 object keys hold at most 1024 bytes; escaping may triple a key's length. */
const objectKeyBytesMax = 1024;

export interface AwsStorage extends Storage {
  readonly clients: AwsClients;
  readonly config: AwsStorageConfig;
}

export interface AwsStorageOptions {
  /** Clients to use instead of new ones (tests add fault middleware to them); not destroyed on close. */
  readonly clients?: AwsClients;
}

function checkLength(kind: 'log' | 'record' | 'segment', key: string, length: number, lengthMax: number): void {
  if (length > lengthMax) {
    fail('storage/invalid-key', `${kind} key ${JSON.stringify(key.slice(0, 64))}... is too long for AWS storage (${length} bytes stored); expected at most ${lengthMax}`, {
      kind,
      length,
      lengthMax,
    });
  }
}

class AwsStorageImpl implements AwsStorage {
  readonly kind = 'aws';
  private readonly layout: TableLayout;
  private readonly objects: S3Objects;
  private readonly log: DynamodbLog;
  private readonly records: DynamodbRecords;
  private closed = false;
  /** Operations under way: close waits for them before it destroys the clients. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    readonly config: AwsStorageConfig,
    readonly clients: AwsClients,
    private readonly ownsClients: boolean,
  ) {
    const policy = resolveRetryPolicy(config.retry);
    this.layout = new TableLayout(config.prefix ?? '');
    this.objects = new S3Objects(clients.s3, config.bucket, policy);
    const table = config.table;
    const spillBytesMin = config.spillBytesMin ?? spillBytesMinDefault;
    this.log = new DynamodbLog({ dynamodb: clients.dynamodb, table, layout: this.layout, objects: this.objects, policy, spillBytesMin });
    this.records = new DynamodbRecords({ dynamodb: clients.dynamodb, table, layout: this.layout, policy });
  }

  private track<T>(operation: Promise<T>): Promise<T> {
    this.pending.add(operation);
    const untrack = () => this.pending.delete(operation);
    operation.then(untrack, untrack);
    return operation;
  }

  private checkOpen(operation: string): void {
    if (this.closed) failClosed(this.kind, operation);
  }

  private checkLog(operation: string, log: string): void {
    this.checkOpen(operation);
    checkKey('log', log);
    checkLength('log', log, Buffer.byteLength(log), itemKeyBytesMax);
  }

  private checkRecord(operation: string, key: string): void {
    this.checkOpen(operation);
    checkKey('record', key);
    checkLength('record', key, Buffer.byteLength(key), itemKeyBytesMax);
  }

  private objectKey(operation: string, key: string): string {
    this.checkOpen(operation);
    checkKey('segment', key);
    const objectKey = this.layout.segmentObjectKey(key);
    checkLength('segment', key, Buffer.byteLength(objectKey), objectKeyBytesMax);
    return objectKey;
  }

  async appendLog(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    this.checkLog('appendLog', log);
    checkPosition(log, position);
    return this.track(this.log.append(log, position, bytes));
  }

  async *readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry> {
    this.checkLog('readLog', log);
    checkRange(log, start, end);
    for await (const entry of this.log.read(log, start, end)) {
      this.checkOpen('readLog');
      yield entry;
    }
  }

  async logLength(log: string): Promise<number> {
    this.checkLog('logLength', log);
    return this.track(this.log.length(log));
  }

  async deleteLog(log: string): Promise<void> {
    this.checkLog('deleteLog', log);
    await this.track(this.log.delete(log));
  }

  async putSegment(key: string, bytes: Uint8Array): Promise<void> {
    await this.track(this.objects.put('putSegment', this.objectKey('putSegment', key), bytes));
  }

  async getSegment(key: string): Promise<Uint8Array | null> {
    return this.track(this.objects.get('getSegment', this.objectKey('getSegment', key)));
  }

  async *listSegments(prefix: string): AsyncIterable<string> {
    this.checkOpen('listSegments');
    const root = this.layout.segmentsPrefix();
    for await (const objectKey of this.objects.list('listSegments', this.layout.segmentObjectKey(prefix))) {
      this.checkOpen('listSegments');
      yield unescapeObjectKey(objectKey.slice(root.length));
    }
  }

  async deleteSegments(keys: readonly string[]): Promise<void> {
    this.checkOpen('deleteSegments');
    const objectKeys = keys.map((key) => this.objectKey('deleteSegments', key));
    await this.track(this.objects.delete('deleteSegments', objectKeys));
  }

  async getRecord(key: string): Promise<VersionedRecord | null> {
    this.checkRecord('getRecord', key);
    return this.track(this.records.get(key));
  }

  async casRecord(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    this.checkRecord('casRecord', key);
    return this.track(this.records.compareAndSwap(key, expectedVersion, bytes));
  }

  async deleteRecord(key: string, expectedVersion: number): Promise<boolean> {
    this.checkRecord('deleteRecord', key);
    return this.track(this.records.delete(key, expectedVersion));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled(this.pending);
    if (this.ownsClients) destroyAwsClients(this.clients);
  }
}

/**
 * The storage of one system on AWS (or an emulator of it).
 *
 * @example
 * const storage = createAwsStorage(awsStorageConfigFromEnvironment(process.env));
 * await storage.appendLog('db-1', 0, bytes);
 */
export function createAwsStorage(config: AwsStorageConfig, options: AwsStorageOptions = {}): AwsStorage {
  checkAwsStorageConfig(config);
  const clients = options.clients ?? createAwsClients(config);
  return new AwsStorageImpl(config, clients, options.clients === undefined);
}
