import { describe, expect, it } from 'vitest';
import { seededRandom } from '../fault.ts';
import { backoffMs, classifyAwsError, resolveRetryPolicy, withRetries, type AttemptContext } from './retry.ts';

function awsError(name: string, status?: number, fault?: 'client' | 'server'): Error {
  return Object.assign(new Error(`${name} happened`), {
    name,
    ...(fault === undefined ? {} : { $fault: fault }),
    $metadata: status === undefined ? {} : { httpStatusCode: status },
  });
}

const quick = resolveRetryPolicy({ attemptsMax: 4, backoffBaseMs: 1, backoffMaxMs: 2, attemptTimeoutMs: 100, random: seededRandom(1) });

describe('classifyAwsError', () => {
  it.each([
    [awsError('ProvisionedThroughputExceededException', 400, 'client'), 'throttled'],
    [awsError('ThrottlingException', 400, 'client'), 'throttled'],
    [awsError('SlowDown', 503, 'server'), 'throttled'],
    [awsError('Anything', 429, 'client'), 'throttled'],
    [awsError('InternalServerError', 500, 'server'), 'unavailable'],
    [awsError('ServiceUnavailable', 503, 'server'), 'unavailable'],
    [awsError('Whatever', 502), 'unavailable'],
    [Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'unavailable'],
    [new Error('no answer at all'), 'unavailable'],
    [awsError('TimeoutError'), 'unavailable'],
    [awsError('ValidationException', 400, 'client'), 'rejected'],
    [awsError('ResourceNotFoundException', 400, 'client'), 'rejected'],
    [awsError('AccessDenied', 403, 'client'), 'rejected'],
    ['not an error', 'rejected'],
  ])('classifies %o as %s', (error, kind) => {
    expect(classifyAwsError(error)).toBe(kind);
  });
});

describe('withRetries', () => {
  it('keeps the backoff within [0, min(max, base * 2^n))', () => {
    const policy = resolveRetryPolicy({ backoffBaseMs: 10, backoffMaxMs: 100, random: seededRandom(3) });
    for (let retry = 1; retry < 10; retry++) {
      const wait = backoffMs(policy, retry);
      expect(wait).toBeGreaterThanOrEqual(0);
      expect(wait).toBeLessThan(Math.min(100, 10 * 2 ** retry));
    }
  });

  it('retries until an attempt succeeds, telling later attempts that an earlier one may have landed', async () => {
    const seen: boolean[] = [];
    const failures = [awsError('ThrottlingException', 400, 'client'), awsError('InternalServerError', 500, 'server')];
    const result = await withRetries(quick, 'appendLog', 'log', async ({ ambiguous }: AttemptContext) => {
      seen.push(ambiguous);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return 'done';
    });
    expect(result).toBe('done');
    expect(seen).toEqual([false, false, true]);
  });

  it('gives up after attemptsMax with storage/busy when throttled', async () => {
    let attempts = 0;
    const run = withRetries(quick, 'appendLog', 'log', async () => {
      attempts++;
      throw awsError('ThrottlingException', 400, 'client');
    });
    await expect(run).rejects.toMatchObject({ code: 'storage/busy', data: { attempts: 4, maybeWritten: false } });
    expect(attempts).toBe(4);
  });

  it('gives up with storage/unavailable when the last failure was a 5xx, saying a write may have happened', async () => {
    const run = withRetries(quick, 'casRecord', 'root', async () => {
      throw awsError('InternalServerError', 500, 'server');
    });
    await expect(run).rejects.toMatchObject({ code: 'storage/unavailable', data: { maybeWritten: true } });
  });

  it('abandons an attempt that takes longer than attemptTimeoutMs and aborts its request', async () => {
    const signals: AbortSignal[] = [];
    const run = withRetries(quick, 'getRecord', 'root', ({ abortSignal }) => {
      signals.push(abortSignal);
      return new Promise<never>(() => undefined);
    });
    await expect(run).rejects.toMatchObject({ code: 'storage/unavailable', data: { attempts: 4, error: 'TimeoutError' } });
    expect(signals.every((signal) => signal.aborted)).toBe(true);
  });

  it('does not retry a rejected request: storage/io with the service error name', async () => {
    let attempts = 0;
    const run = withRetries(quick, 'getRecord', 'root', async () => {
      attempts++;
      throw awsError('ValidationException', 400, 'client');
    });
    await expect(run).rejects.toMatchObject({ code: 'storage/io', data: { error: 'ValidationException' } });
    expect(attempts).toBe(1);
  });
});
