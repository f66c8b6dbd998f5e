//! The three AWS SDK clients of one storage. The SDK's own retries are turned off (one attempt per
//! `send`): the backend retries itself (retry.ts), because only it knows when a retried conditional
//! write that fails its condition may be its own earlier attempt (an ambiguous write).

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import type { AwsStorageConfig } from './config.ts';

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly s3: S3Client;
  readonly kms: KMSClient;
}

/** Creates the clients for `config`; each has its own middleware stack (tests add faults there). */
export function createAwsClients(config: AwsStorageConfig): AwsClients {
  const common = {
    region: config.region,
    maxAttempts: 1,
    ...(config.credentials === undefined ? {} : { credentials: config.credentials }),
  };
  return {
    dynamodb: new DynamoDBClient({ ...common, endpoint: config.dynamodbEndpoint }),
    s3: new S3Client({
      ...common,
      endpoint: config.s3Endpoint,
      // Emulators (s3rver, LocalStack) need path-style bucket addressing.
      forcePathStyle: config.s3Endpoint !== undefined,
      // With the default (WHEN_SUPPORTED), s3rver stores uploads with their aws-chunked framing.
      // Integrity is kept by Content-MD5, which S3 checks on every put.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    }),
    kms: new KMSClient({ ...common, endpoint: config.kmsEndpoint }),
  };
}

export function destroyAwsClients(clients: AwsClients): void {
  clients.dynamodb.destroy();
  clients.s3.destroy();
  clients.kms.destroy();
}
