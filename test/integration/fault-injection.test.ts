// Faults injected through the AWS SDK (sdk-faults.ts): throttling, 500s, slow answers and answers
// dropped after the write happened. Whatever happens, no acknowledged log entry or swap is lost,
// none is made twice, and after the bounded retries the error says busy or unavailable.
import { afterEach, describe, expect, it } from 'vitest';
import { bytesOf, collect } from '../../nodes/storage/contract.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { createAwsClients, createAwsStorage, destroyAwsClients, type AwsStorage, type AwsStorageConfig } from '../../nodes/storage/aws/index.ts';
import { isFactumError } from '../../nodes/util/errors.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';
import { addSdkFaults, type SdkFaultControl, type SdkFaultOptions } from './sdk-faults.ts';

const decoder = new TextDecoder();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface FaultyAwsStorage {
  readonly storage: AwsStorage;
  readonly dynamodbFaults: SdkFaultControl;
  readonly s3Faults: SdkFaultControl;
}

function retryPolicy(seed: number) {
  return { attemptsMax: 8, backoffBaseMs: 2, backoffMaxMs: 20, attemptTimeoutMs: 250, random: seededRandom(seed) };
}

/** A storage whose clients carry fault middleware; `config.prefix` may be shared with another. */
function faultyStorage(
  config: AwsStorageConfig,
  dynamodb: SdkFaultOptions = { seed: 0, rates: {} },
  s3: SdkFaultOptions = { seed: 0, rates: {} },
): FaultyAwsStorage {
  const clients = createAwsClients(config);
  const dynamodbFaults = addSdkFaults(clients.dynamodb, 'dynamodb', dynamodb);
  const s3Faults = addSdkFaults(clients.s3, 's3', s3);
  const storage = createAwsStorage(config, { clients });
  cleanups.push(async () => {
    await storage.close();
    destroyAwsClients(clients);
  });
  return { storage, dynamodbFaults, s3Faults };
}

function newConfig(seed: number, overrides: Partial<AwsStorageConfig> = {}): AwsStorageConfig {
  const config = integrationConfig({ retry: retryPolicy(seed), ...overrides });
  cleanups.push(() => removePrefix(config));
  return config;
}

/** Appends each payload at the log's end until acknowledged, as a transactor does. */
async function writer(storage: AwsStorage, log: string, payloads: string[], acknowledged: Map<string, number>): Promise<void> {
  for (const payload of payloads) {
    for (;;) {
      const position = await storage.logLength(log).catch(() => null);
      if (position === null) continue;
      let won: boolean;
      try {
        won = await storage.appendLog(log, position, bytesOf(payload));
      } catch (error) {
        if (!isFactumError(error, 'storage/unavailable') && !isFactumError(error, 'storage/busy')) throw error;
        // The outcome is unknown: read the position, as a transactor must after such an error.
        const stored = await collect(storage.readLog(log, position, position + 1)).catch(() => []);
        won = stored.length === 1 && decoder.decode(stored[0].bytes) === payload;
        if (!won && stored.length === 0) continue;
      }
      if (won) {
        acknowledged.set(payload, position);
        break;
      }
    }
  }
}

describe('AWS storage under injected SDK faults', () => {
  it('loses and duplicates no acknowledged entry when three writers share a log through every fault', async () => {
    const config = newConfig(1);
    const rates = { throttle: 0.08, 'server-error': 0.08, 'slow-response': 0.05, 'drop-response': 0.1 };
    const commands = ['PutItemCommand', 'GetItemCommand', 'QueryCommand'];
    const writers = [11, 12, 13].map((seed) =>
      faultyStorage({ ...config, retry: retryPolicy(seed) }, { seed, rates, commands, delayMs: 400 }),
    );
    const acknowledged = new Map<string, number>();
    const payloads = (id: number) => Array.from({ length: 12 }, (_, index) => `writer ${id} payload ${index}`);
    await Promise.all(writers.map(({ storage }, id) => writer(storage, 'shared', payloads(id), acknowledged)));

    const events = writers.flatMap(({ dynamodbFaults }) => dynamodbFaults.events);
    for (const fault of ['throttle', 'server-error', 'slow-response', 'drop-response'] as const) {
      expect(events.some((event) => event.fault === fault && event.command === 'PutItemCommand'), fault).toBe(true);
    }
    const reader = createAwsStorage(config);
    cleanups.push(() => reader.close());
    const log = (await collect(reader.readLog('shared', 0))).map((entry) => decoder.decode(entry.bytes));
    expect(log).toHaveLength(36);
    expect(new Set(log).size).toBe(36);
    for (const [payload, position] of acknowledged) expect(log[position]).toBe(payload);
  });

  it('reports a put whose answer was dropped after the write as appended, written once', async () => {
    const config = newConfig(2);
    const { storage, dynamodbFaults } = faultyStorage(config, {
      seed: 2,
      rates: { 'drop-response': 1 },
      commands: ['PutItemCommand'],
      limit: 1,
    });
    expect(await storage.appendLog('log', 0, bytesOf('mine'))).toBe(true);
    expect(dynamodbFaults.events).toEqual([{ command: 'PutItemCommand', fault: 'drop-response' }]);
    expect(await storage.logLength('log')).toBe(1);
    expect(await storage.appendLog('log', 1, bytesOf('next'))).toBe(true);
    expect((await collect(storage.readLog('log', 0))).map((entry) => decoder.decode(entry.bytes))).toEqual(['mine', 'next']);
  });

  it('reports a put whose answer came after the attempt timed out as appended, written once', async () => {
    const config = newConfig(3);
    const { storage, dynamodbFaults } = faultyStorage(config, {
      seed: 3,
      rates: { 'slow-response': 1 },
      commands: ['PutItemCommand'],
      delayMs: 600,
      limit: 1,
    });
    expect(await storage.appendLog('log', 0, bytesOf('mine'))).toBe(true);
    expect(dynamodbFaults.events).toHaveLength(1);
    expect((await collect(storage.readLog('log', 0))).map((entry) => decoder.decode(entry.bytes))).toEqual(['mine']);
  });

  it('reports a lost race as false even when its first attempt was ambiguous', async () => {
    const config = newConfig(4);
    const winner = faultyStorage(config).storage;
    const { storage: loser } = faultyStorage(config, { seed: 4, rates: { 'server-error': 1 }, commands: ['PutItemCommand'], limit: 1 });
    expect(await winner.appendLog('log', 0, bytesOf('winner'))).toBe(true);
    expect(await loser.appendLog('log', 0, bytesOf('loser'))).toBe(false);
    expect((await collect(loser.readLog('log', 0))).map((entry) => decoder.decode(entry.bytes))).toEqual(['winner']);
  });

  it('reports a swap or delete whose answer was dropped as done, exactly once', async () => {
    const config = newConfig(5);
    const { storage, dynamodbFaults } = faultyStorage(config, {
      seed: 5,
      rates: { 'drop-response': 1 },
      commands: ['UpdateItemCommand', 'DeleteItemCommand'],
      passesAfterFault: 1,
    });
    expect(await storage.casRecord('root', null, bytesOf('v1'))).toBe(true);
    expect(await storage.casRecord('root', 1, bytesOf('v2'))).toBe(true);
    expect(await storage.getRecord('root')).toEqual({ version: 2, bytes: bytesOf('v2') });
    expect(await storage.casRecord('root', 1, bytesOf('stale'))).toBe(false);
    expect(await storage.deleteRecord('root', 2)).toBe(true);
    expect(await storage.getRecord('root')).toBeNull();
    expect(dynamodbFaults.events.map((event) => event.command)).toEqual([
      'UpdateItemCommand',
      'UpdateItemCommand',
      'UpdateItemCommand',
      'DeleteItemCommand',
    ]);
  });

  it('keeps a log entry spilled to S3 exactly once when both writes lose their answers', async () => {
    const config = newConfig(6, { spillBytesMin: 16 });
    const { storage, dynamodbFaults, s3Faults } = faultyStorage(
      config,
      { seed: 6, rates: { 'drop-response': 1 }, commands: ['PutItemCommand'], limit: 1 },
      { seed: 6, rates: { 'drop-response': 1 }, commands: ['PutObjectCommand'], limit: 1 },
    );
    const bytes = bytesOf('an entry longer than sixteen bytes');
    expect(await storage.appendLog('log', 0, bytes)).toBe(true);
    expect(dynamodbFaults.events).toHaveLength(1);
    expect(s3Faults.events).toHaveLength(1);
    expect(await collect(storage.readLog('log', 0))).toEqual([{ position: 0, bytes }]);
  });

  it('fails with storage/busy after the bounded retries when always throttled, writing nothing', async () => {
    const config = newConfig(7);
    const { storage, dynamodbFaults } = faultyStorage(config, { seed: 7, rates: { throttle: 1 }, commands: ['PutItemCommand'] });
    const error = await storage.appendLog('log', 0, bytesOf('x')).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'storage/busy', data: { attempts: 8, maybeWritten: false } });
    expect(dynamodbFaults.events).toHaveLength(8);
    expect(await storage.logLength('log')).toBe(0);
  });

  it('fails with storage/unavailable, saying the write may have happened, after repeated 500s', async () => {
    const config = newConfig(8);
    const { storage } = faultyStorage(config, { seed: 8, rates: { 'server-error': 1 }, commands: ['UpdateItemCommand'] });
    const error = await storage.casRecord('root', null, bytesOf('x')).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'storage/unavailable', data: { attempts: 8, maybeWritten: true } });
    expect((error as Error).message).toMatch(/may or may not have been made/);
  });

  it('fails reads with storage/unavailable when every answer is too slow', async () => {
    const config = newConfig(9);
    const { storage } = faultyStorage(config, { seed: 9, rates: { 'slow-response': 1 }, commands: ['GetItemCommand'], delayMs: 300 });
    await expect(storage.getRecord('root')).rejects.toMatchObject({ code: 'storage/unavailable', data: { attempts: 8 } });
  });

  it('fails S3 reads with storage/busy when S3 keeps answering SlowDown', async () => {
    const config = newConfig(10);
    const { storage } = faultyStorage(config, undefined, { seed: 10, rates: { throttle: 1 }, commands: ['GetObjectCommand'] });
    await expect(storage.getSegment('db/segment')).rejects.toMatchObject({ code: 'storage/busy', data: { attempts: 8 } });
  });

  it('refuses at once with storage/io when the table does not exist', async () => {
    const config = integrationConfig({ table: 'no-such-table' });
    const storage = createAwsStorage(config);
    cleanups.push(() => storage.close());
    await expect(storage.appendLog('log', 0, bytesOf('x'))).rejects.toMatchObject({
      code: 'storage/io',
      data: { error: 'ResourceNotFoundException' },
    });
  });
});
