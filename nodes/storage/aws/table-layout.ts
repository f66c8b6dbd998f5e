//! Where the AWS backend keeps each kind of record: one DynamoDB table and one S3 bucket per system.
//!
//! Table (on-demand), key schema:
//!   attribute  type  key        holds
//!   ---------  ----  ---------  --------------------------------------------------------------
//!   id         S     partition  `<prefix>log:<log name>` or `<prefix>record:<record key>`
//!   position   N     sort       the log position (0, 1, 2, ...); always 0 for a record
//!
//! One log is one item collection, so `logLength` is a Query on its id, descending, limit 1, and
//! `readLog` a Query on a position range; both strongly consistent. Items:
//!   log entry  id, position, digest (B: SHA-256 of the entry's bytes), and either
//!              bytes (B: the entry) or spill (S: the S3 key holding it) and size (N)
//!   record     id, position = 0, version (N), bytes (B)
//!
//! Bucket:
//!   <prefix>segments/<escaped segment key>                          segments (content-addressed)
//!   <prefix>log-spill/<sha256 of log name>/<position>/<digest>      log entries too large for an item
//!
//! Segment keys are escaped (s3-key.ts) so that no key can name a path component `.`/`..` on an
//! emulator that keeps objects as files; the escaping keeps prefixes, so listing by prefix works.

import { createHash } from 'node:crypto';
import { escapeObjectKey } from './s3-key.ts';

export const attributes = {
  id: 'id',
  position: 'position',
  bytes: 'bytes',
  digest: 'digest',
  spill: 'spill',
  size: 'size',
  version: 'version',
} as const;

/** The table's key schema, for CreateTable (the emulator, LocalStack init) and the CDK stack. */
export const tableKeySchema = {
  attributeDefinitions: [
    { AttributeName: attributes.id, AttributeType: 'S' },
    { AttributeName: attributes.position, AttributeType: 'N' },
  ],
  keySchema: [
    { AttributeName: attributes.id, KeyType: 'HASH' },
    { AttributeName: attributes.position, KeyType: 'RANGE' },
  ],
} as const;

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

/** Names items and objects inside one table and bucket, under the storage's prefix. */
export class TableLayout {
  constructor(readonly prefix: string) {}

  logId(log: string): string {
    return `${this.prefix}log:${log}`;
  }

  recordId(key: string): string {
    return `${this.prefix}record:${key}`;
  }

  segmentsPrefix(): string {
    return `${this.prefix}segments/`;
  }

  segmentObjectKey(key: string): string {
    return this.segmentsPrefix() + escapeObjectKey(key);
  }

  /** Every spilled entry of one log is under this prefix. */
  spillPrefix(log: string): string {
    const logHash = Buffer.from(sha256(new TextEncoder().encode(log))).toString('hex');
    return `${this.prefix}log-spill/${logHash}/`;
  }

  spillObjectKey(log: string, position: number, digest: Uint8Array): string {
    return `${this.spillPrefix(log)}${position}/${Buffer.from(digest).toString('hex')}`;
  }
}
