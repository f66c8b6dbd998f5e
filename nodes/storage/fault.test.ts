import { describe, expect, it } from 'vitest';
import { bytesOf, collect, describeStorageContract } from './contract.ts';
import { seededRandom, withFaults } from './fault.ts';
import type { FaultEvent } from './fault.ts';
import { createMemoryStorage } from './memory/memory-storage.ts';

// With every rate at zero the wrapper is transparent: it keeps the whole contract.
describeStorageContract('memory with faults switched off', async () => {
  const storage = withFaults(createMemoryStorage(), { seed: 1 });
  return { storage, cleanup: () => storage.close() };
});

async function runWorkload(seed: number): Promise<{ events: FaultEvent[]; outcomes: string[] }> {
  const storage = withFaults(createMemoryStorage(), { seed, failRate: 0.2, failAfterWriteRate: 0.2, corruptReadRate: 0.3 });
  const outcomes: string[] = [];
  for (let step = 0; step < 60; step++) {
    try {
      const length = await storage.logLength('db');
      outcomes.push(`append ${await storage.appendLog('db', length, bytesOf(`entry ${step}`))}`);
      outcomes.push(`read ${(await storage.getSegment('missing')) === null}`);
    } catch (error) {
      outcomes.push(`error ${(error as { code?: string }).code}`);
    }
  }
  return { events: storage.faults.events, outcomes };
}

describe('withFaults', () => {
  it('gives the same faults for the same seed, and different ones for another', async () => {
    const first = await runWorkload(7);
    expect(await runWorkload(7)).toEqual(first);
    expect((await runWorkload(8)).events).not.toEqual(first.events);
    expect(first.events.map((event) => event.fault)).toEqual(expect.arrayContaining(['fail', 'fail-after-write']));
  });

  it('fails before writing with storage/unavailable marked as injected', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 3, failRate: 1 });
    await expect(storage.appendLog('db', 0, bytesOf('x'))).rejects.toMatchObject({
      code: 'storage/unavailable',
      data: { operation: 'appendLog', fault: 'fail', injected: true },
    });
    storage.faults.enabled = false;
    expect(await storage.logLength('db')).toBe(0);
  });

  it('fails after a write was made (an ambiguous outcome)', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 3, failAfterWriteRate: 1 });
    await expect(storage.casRecord('root', null, bytesOf('v1'))).rejects.toMatchObject({
      data: { fault: 'fail-after-write' },
    });
    await expect(storage.getRecord('root')).resolves.toEqual({ version: 1, bytes: bytesOf('v1') });
  });

  it('flips one bit of what reads return, never of what is stored', async () => {
    const inner = createMemoryStorage();
    const storage = withFaults(inner, { seed: 9, corruptReadRate: 1 });
    const bytes = bytesOf('segment bytes');
    await storage.putSegment('seg', bytes);
    await storage.appendLog('db', 0, bytes);
    const differingBits = (read: Uint8Array | null | undefined) =>
      [...(read ?? [])].reduce((sum, byte, index) => sum + popCount(byte ^ bytes[index]), 0);
    expect(differingBits(await storage.getSegment('seg'))).toBe(1);
    expect(differingBits((await collect(storage.readLog('db', 0)))[0].bytes)).toBe(1);
    expect(await inner.getSegment('seg')).toEqual(bytes);
  });

  it('applies only to the operations named', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 4, failRate: 1, operations: ['putSegment'] });
    expect(await storage.appendLog('db', 0, bytesOf('x'))).toBe(true);
    await expect(storage.putSegment('seg', bytesOf('x'))).rejects.toMatchObject({ code: 'storage/unavailable' });
  });

  it('delays operations, which can reorder concurrent calls, without breaking the log conditions', async () => {
    const storage = withFaults(createMemoryStorage(), { seed: 12, delayMs: 3 });
    const results = await Promise.all(Array.from({ length: 6 }, (_, index) => storage.appendLog('db', 0, bytesOf(`${index}`))));
    expect(results.filter((won) => won)).toHaveLength(1);
  });

  it('makes the same sequence from the same seed', () => {
    const left = seededRandom(42);
    const right = seededRandom(42);
    const values = Array.from({ length: 5 }, () => left());
    expect(Array.from({ length: 5 }, () => right())).toEqual(values);
    expect(values.every((value) => value >= 0 && value < 1)).toBe(true);
  });
});

function popCount(value: number): number {
  let count = 0;
  for (let rest = value; rest !== 0; rest &= rest - 1) count++;
  return count;
}
