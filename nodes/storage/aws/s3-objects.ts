//! The S3 operations of the backend, each under bounded retries: put (with Content-MD5, so that S3
//! refuses bytes damaged on the way), get (null when missing), list by prefix, delete in batches.
//! Objects are never overwritten with different bytes (keys are content-addressed), so no
//! conditional put is needed; re-putting the same bytes after an ambiguous failure is harmless.

import { createHash } from 'node:crypto';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { fail } from '../../util/errors.ts';
import { withRetries, type ResolvedRetryPolicy } from './retry.ts';

/** S3 deletes at most 1000 keys per DeleteObjects request. */
const deleteBatchSize = 1000;

function isMissing(error: unknown): boolean {
  return error instanceof Error && (error.name === 'NoSuchKey' || error.name === 'NotFound');
}

export class S3Objects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly policy: ResolvedRetryPolicy,
  ) {}

  private target(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async put(operation: string, key: string, bytes: Uint8Array): Promise<void> {
    const md5 = createHash('md5').update(bytes).digest('base64');
    const body = Uint8Array.from(bytes);
    await withRetries(this.policy, operation, this.target(key), async ({ abortSignal }) => {
      await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentMD5: md5, ContentLength: body.length }),
        { abortSignal },
      );
    });
  }

  async get(operation: string, key: string): Promise<Uint8Array | null> {
    return withRetries(this.policy, operation, this.target(key), async ({ abortSignal }) => {
      try {
        const answer = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal });
        if (answer.Body === undefined) return new Uint8Array(0);
        const bytes = await answer.Body.transformToByteArray();
        if (answer.ContentLength !== undefined && answer.ContentLength !== bytes.length) {
          fail('storage/corrupt', `${this.target(key)}: read ${bytes.length} bytes; expected ${answer.ContentLength}`, {
            key,
            read: bytes.length,
            expected: answer.ContentLength,
          });
        }
        return bytes;
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    });
  }

  /** Every key starting with `prefix`, page by page. */
  async *list(operation: string, prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    do {
      const page = await withRetries(this.policy, operation, this.target(prefix), ({ abortSignal }) =>
        this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), {
          abortSignal,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  /** Deletes the keys (missing ones included) in batches of 1000. */
  async delete(operation: string, keys: readonly string[]): Promise<void> {
    for (let start = 0; start < keys.length; start += deleteBatchSize) {
      const batch = keys.slice(start, start + deleteBatchSize);
      await withRetries(this.policy, operation, this.target(batch[0]), async ({ abortSignal }) => {
        const answer = await this.s3.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: key })), Quiet: true },
          }),
          { abortSignal },
        );
        const failed = answer.Errors ?? [];
        if (failed.length > 0) {
          // Per-key failures classify by their code (SlowDown, InternalError are retried, as the
          // whole batch: deleting a key twice is harmless; AccessDenied is not).
          const first = failed[0];
          throw Object.assign(new Error(`${failed.length} keys not deleted, first ${first.Key}: ${first.Message}`), {
            name: first.Code ?? 'InternalError',
            $metadata: { httpStatusCode: 400 },
          });
        }
      });
    }
  }
}
