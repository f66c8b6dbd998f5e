// Two writers (two processes' worth of clients) racing for the same log positions: for every
// position exactly one append returns true, the other false, and the log holds the winner's bytes.
import { afterEach, describe, expect, it } from 'vitest';
import { bytesOf, collect } from '../../nodes/storage/contract.ts';
import { createAwsStorage, type AwsStorage } from '../../nodes/storage/aws/index.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';

const decoder = new TextDecoder();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function twoWriters(): [AwsStorage, AwsStorage] {
  const config = integrationConfig();
  const writers: [AwsStorage, AwsStorage] = [createAwsStorage(config), createAwsStorage(config)];
  cleanups.push(() => removePrefix(config));
  for (const writer of writers) cleanups.push(() => writer.close());
  return writers;
}

describe('two writers racing for one log position', () => {
  it('lets exactly one win each of 30 positions; the other learns it lost', async () => {
    const [left, right] = twoWriters();
    const winners: string[] = [];
    for (let position = 0; position < 30; position++) {
      const [leftWon, rightWon] = await Promise.all([
        left.appendLog('db', position, bytesOf(`left ${position}`)),
        right.appendLog('db', position, bytesOf(`right ${position}`)),
      ]);
      expect(leftWon !== rightWon, `position ${position}: left ${leftWon}, right ${rightWon}`).toBe(true);
      winners.push(leftWon ? `left ${position}` : `right ${position}`);
    }
    const log = await collect(left.readLog('db', 0));
    expect(log.map((entry) => decoder.decode(entry.bytes))).toEqual(winners);
    expect(await right.logLength('db')).toBe(30);
  });

  it('lets exactly one win a position of a large entry spilled to S3, and the loser reads the winner', async () => {
    const [left, right] = twoWriters();
    const size = 400 * 1024;
    const leftBytes = new Uint8Array(size).fill(1);
    const rightBytes = new Uint8Array(size).fill(2);
    const [leftWon, rightWon] = await Promise.all([left.appendLog('db', 0, leftBytes), right.appendLog('db', 0, rightBytes)]);
    expect(leftWon).not.toBe(rightWon);
    const [entry] = await collect(right.readLog('db', 0));
    expect(Buffer.compare(entry.bytes, leftWon ? leftBytes : rightBytes)).toBe(0);
  });

  it('tells a writer whose view of the log is stale that the position is taken', async () => {
    const [left, right] = twoWriters();
    expect(await left.appendLog('db', 0, bytesOf('a'))).toBe(true);
    expect(await right.logLength('db')).toBe(1);
    expect(await left.appendLog('db', 1, bytesOf('b'))).toBe(true);
    expect(await right.appendLog('db', 1, bytesOf('stale'))).toBe(false);
    await expect(right.appendLog('db', 3, bytesOf('gap'))).rejects.toMatchObject({ code: 'storage/invalid-position' });
  });

  it('still refuses a gap after reading past the end of the log (regression)', async () => {
    const [left] = twoWriters();
    expect(await left.appendLog('db', 0, bytesOf('a'))).toBe(true);
    expect(await collect(left.readLog('db', 9))).toEqual([]);
    await expect(left.appendLog('db', 5, bytesOf('gap'))).rejects.toMatchObject({ code: 'storage/invalid-position' });
    expect(await left.logLength('db')).toBe(1);
  });
});
