//! The configuration of the AWS storage backend, read from the environment the infrastructure
//! sets on every node, with endpoint overrides for local emulation (`localstack/`).
//!
//!   variable                    meaning                                         required
//!   --------------------------  ----------------------------------------------  --------
//!   FACTUM_TABLE                the system's DynamoDB table (log and records)    yes
//!   FACTUM_BUCKET               the system's S3 bucket (segments, spilled log)   yes
//!   FACTUM_KMS_KEY              the system's KMS key (id, ARN or alias)          no
//!   AWS_REGION                  the region of all three                          yes
//!   FACTUM_DYNAMODB_ENDPOINT    DynamoDB endpoint override (emulator)            no
//!   FACTUM_S3_ENDPOINT          S3 endpoint override (emulator; path style)      no
//!   FACTUM_KMS_ENDPOINT         KMS endpoint override (emulator)                 no
//!   FACTUM_STORAGE_PREFIX       a name space inside the table and the bucket      no
//!                               (several systems or test runs sharing them)

import { fail } from '../../util/errors.ts';

/** How the backend retries throttled, failed and timed-out requests. */
export interface RetryPolicy {
  /** Attempts per operation, the first included; then `storage/busy` or `storage/unavailable`. @default 6 */
  readonly attemptsMax?: number;
  /** The backoff before retry n is a random time in [0, min(backoffMaxMs, backoffBaseMs * 2^n)). @default 25 */
  readonly backoffBaseMs?: number;
  /** @default 2000 */
  readonly backoffMaxMs?: number;
  /** One attempt that takes longer is abandoned and counted as an ambiguous failure. @default 10000 */
  readonly attemptTimeoutMs?: number;
  /** The random source of the jitter, in [0, 1); seeded in tests. @default Math.random */
  readonly random?: () => number;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface AwsStorageConfig {
  readonly table: string;
  readonly bucket: string;
  readonly region: string;
  /** The KMS key for envelope encryption. @default - no key: the envelope helpers need one passed */
  readonly kmsKey?: string;
  /** @default - the regional AWS endpoint */
  readonly dynamodbEndpoint?: string;
  /** @default - the regional AWS endpoint; when set, path-style addressing is used */
  readonly s3Endpoint?: string;
  /** @default - the regional AWS endpoint */
  readonly kmsEndpoint?: string;
  /** @default - the SDK's default provider chain (environment, profile, instance role) */
  readonly credentials?: AwsCredentials;
  /**
   * A name space inside the table and the bucket, so that several storages (tests, one system's
   * stages) share one table and bucket without seeing each other. Letters, digits, `-`, `_`, `/`.
   * @default - none: the whole table and bucket
   */
  readonly prefix?: string;
  /** Log entries larger than this are written to S3 and the item points at them. @default 358400 (350 KiB) */
  readonly spillBytesMin?: number;
  /** @default - see RetryPolicy */
  readonly retry?: RetryPolicy;
}

/** DynamoDB's item limit is 400 KB; the item also holds its key and attributes. */
export const spillBytesMinDefault = 350 * 1024;

const prefixPattern = /^[A-Za-z0-9_\-/]*$/;

function invalid(message: string, data: Record<string, unknown>): never {
  fail('client/invalid-config', message, data);
}

function checkEndpoint(name: string, endpoint: string | undefined): void {
  if (endpoint === undefined) return;
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    invalid(`${name} ${JSON.stringify(endpoint)} is not a URL; expected http(s)://host:port`, { name, endpoint });
  }
}

/** Checks a configuration given in code; every problem is a `client/invalid-config` error. */
export function checkAwsStorageConfig(config: AwsStorageConfig): AwsStorageConfig {
  for (const name of ['table', 'bucket', 'region'] as const) {
    const value = config[name];
    if (typeof value !== 'string' || value.length === 0) {
      invalid(`AWS storage ${name} ${JSON.stringify(value)} is missing; expected a non-empty string`, { [name]: value });
    }
  }
  checkEndpoint('dynamodbEndpoint', config.dynamodbEndpoint);
  checkEndpoint('s3Endpoint', config.s3Endpoint);
  checkEndpoint('kmsEndpoint', config.kmsEndpoint);
  if (config.prefix !== undefined && !prefixPattern.test(config.prefix)) {
    invalid(`AWS storage prefix ${JSON.stringify(config.prefix)} is invalid; expected letters, digits, -, _ and /`, {
      prefix: config.prefix,
    });
  }
  const spill = config.spillBytesMin;
  if (spill !== undefined && (!Number.isSafeInteger(spill) || spill < 0 || spill > spillBytesMinDefault)) {
    invalid(`AWS storage spillBytesMin ${String(spill)} is invalid; expected an integer in [0, ${spillBytesMinDefault}]`, {
      spillBytesMin: spill,
    });
  }
  const attempts = config.retry?.attemptsMax;
  if (attempts !== undefined && (!Number.isSafeInteger(attempts) || attempts < 1)) {
    invalid(`AWS storage retry.attemptsMax ${String(attempts)} is invalid; expected an integer >= 1`, { attemptsMax: attempts });
  }
  return config;
}

/**
 * The configuration the infrastructure sets in the environment.
 *
 * @example
 * const storage = createAwsStorage(awsStorageConfigFromEnvironment(process.env));
 */
export function awsStorageConfigFromEnvironment(environment: Readonly<Record<string, string | undefined>>): AwsStorageConfig {
  const read = (name: string): string | undefined => {
    const value = environment[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const required = (name: string): string =>
    read(name) ?? invalid(`environment variable ${name} is not set; expected it to name the system's resource`, { name });
  return checkAwsStorageConfig({
    table: required('FACTUM_TABLE'),
    bucket: required('FACTUM_BUCKET'),
    region: read('AWS_REGION') ?? read('AWS_DEFAULT_REGION') ?? required('AWS_REGION'),
    kmsKey: read('FACTUM_KMS_KEY'),
    dynamodbEndpoint: read('FACTUM_DYNAMODB_ENDPOINT'),
    s3Endpoint: read('FACTUM_S3_ENDPOINT'),
    kmsEndpoint: read('FACTUM_KMS_ENDPOINT'),
    ...(read('FACTUM_STORAGE_PREFIX') === undefined ? {} : { prefix: read('FACTUM_STORAGE_PREFIX') }),
  });
}
