//! Bounded retries with jittered exponential backoff around one AWS operation, and the
//! classification of AWS errors.
//!
//! Every failure is one of three kinds:
//!   throttled    the service refused the request (429, ThrottlingException, SlowDown...): nothing
//!                happened; retry, and after the last attempt fail with `storage/busy`.
//!   unavailable  a 5xx, a network error or an attempt that took too long. The request may have
//!                been carried out (an *ambiguous* write); retry, and after the last attempt fail
//!                with `storage/unavailable`, saying the write may have happened.
//!   rejected     any other error (validation, missing table, access denied): not retried, reported
//!                as `storage/io` with the service's error name and message.
//!
//! The attempt function is told whether an earlier attempt may have taken effect, so that a
//! conditional write whose retry fails its condition can read back and recognise its own write
//! (see dynamodb-log.ts). Backoff before retry n: uniform in [0, min(max, base * 2^n)).

import { FactumError } from '../../util/errors.ts';
import type { RetryPolicy } from './config.ts';

export type FailureKind = 'throttled' | 'unavailable' | 'rejected';

const throttleNames = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
]);

const transientNames = new Set([
  'InternalServerError',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
  'KMSInternalException',
  'DependencyTimeoutException',
]);

const networkCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH']);

interface AwsErrorShape {
  name?: string;
  code?: string;
  $fault?: string;
  $metadata?: { httpStatusCode?: number };
}

/** The kind of an error thrown by an AWS SDK call (see the header). */
export function classifyAwsError(error: unknown): FailureKind {
  if (!(error instanceof Error)) return 'rejected';
  const shape = error as AwsErrorShape;
  const status = shape.$metadata?.httpStatusCode;
  if (throttleNames.has(error.name) || status === 429) return 'throttled';
  if (transientNames.has(error.name) || (status !== undefined && status >= 500)) return 'unavailable';
  if (shape.$fault === 'server') return 'unavailable';
  if (shape.code !== undefined && networkCodes.has(shape.code)) return 'unavailable';
  // No HTTP status at all: the request never got an answer (socket closed, DNS, TLS).
  if (status === undefined && shape.$fault === undefined) return 'unavailable';
  return 'rejected';
}

/** What an attempt is told about the attempts before it. */
export interface AttemptContext {
  /** True when an earlier attempt of this operation may have been carried out by the service. */
  readonly ambiguous: boolean;
  /** Aborted when the attempt times out; pass it to `client.send`. */
  readonly abortSignal: AbortSignal;
}

export interface ResolvedRetryPolicy {
  readonly attemptsMax: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly attemptTimeoutMs: number;
  readonly random: () => number;
}

export function resolveRetryPolicy(policy: RetryPolicy = {}): ResolvedRetryPolicy {
  return {
    attemptsMax: policy.attemptsMax ?? 6,
    backoffBaseMs: policy.backoffBaseMs ?? 25,
    backoffMaxMs: policy.backoffMaxMs ?? 2000,
    attemptTimeoutMs: policy.attemptTimeoutMs ?? 10_000,
    random: policy.random ?? Math.random,
  };
}

/** The wait before retry number `retry` (1 for the first retry). */
export function backoffMs(policy: ResolvedRetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** retry);
  return policy.random() * ceiling;
}

const writeOperations = new Set(['appendLog', 'deleteLog', 'putSegment', 'deleteSegments', 'casRecord', 'deleteRecord']);

class AttemptTimeout extends Error {
  override name = 'TimeoutError';
}

/** Runs one attempt, abandoning it (and aborting its request) after `timeoutMs`. */
async function runAttempt<T>(attempt: (context: AttemptContext) => Promise<T>, ambiguous: boolean, timeoutMs: number): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new AttemptTimeout(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  const running = attempt({ ambiguous, abortSignal: controller.signal });
  // An abandoned attempt settles later; its outcome is already accounted as ambiguous, and the
  // write it may still make is conditional, so it can only fail its condition.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function exhausted(operation: string, target: string, attempts: number, error: Error, kind: FailureKind, ambiguous: boolean): FactumError {
  const code = kind === 'throttled' ? 'storage/busy' : 'storage/unavailable';
  const maybeWritten = ambiguous && writeOperations.has(operation);
  const outcome = maybeWritten ? '; the write may or may not have been made' : '';
  return new FactumError(
    code,
    `${operation} ${target}: ${attempts} attempts failed, the last with ${error.name}: ${error.message}${outcome}; ` +
      `expected the service to answer`,
    { operation, target, attempts, error: error.name, maybeWritten },
    { cause: error },
  );
}

function rejected(operation: string, target: string, error: unknown): FactumError {
  const name = error instanceof Error ? error.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return new FactumError(
    'storage/io',
    `${operation} ${target}: the service refused the request with ${name}: ${message}; ` +
      `expected the table, bucket and key to exist and be accessible`,
    { operation, target, error: name },
    { cause: error },
  );
}

/**
 * Runs `attempt` until it succeeds, retrying throttled and unavailable failures with backoff.
 * FactumErrors thrown by the attempt itself pass through unchanged.
 */
export async function withRetries<T>(
  policy: ResolvedRetryPolicy,
  operation: string,
  target: string,
  attempt: (context: AttemptContext) => Promise<T>,
): Promise<T> {
  let ambiguous = false;
  for (let number = 1; ; number++) {
    try {
      return await runAttempt(attempt, ambiguous, policy.attemptTimeoutMs);
    } catch (error) {
      if (error instanceof FactumError) throw error;
      const kind = classifyAwsError(error);
      if (kind === 'rejected') throw rejected(operation, target, error);
      ambiguous ||= kind === 'unavailable';
      if (number >= policy.attemptsMax) throw exhausted(operation, target, number, error as Error, kind, ambiguous);
      await new Promise((resolve) => setTimeout(resolve, backoffMs(policy, number)));
    }
  }
}
