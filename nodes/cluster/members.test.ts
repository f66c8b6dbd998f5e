import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError } from '../util/errors.ts';
import { Members } from './members.ts';
import { overriding } from './lease-test-support.ts';

const periodMs = 1000;
const key = 'members/primary';
const encoder = new TextEncoder();

async function seen(storage: Storage): Promise<Record<string, number> | null> {
  const stored = await storage.getRecord(key);
  return stored === null ? null : (JSON.parse(new TextDecoder().decode(stored.bytes)) as Record<string, number>);
}

async function write(storage: Storage, bytes: Uint8Array): Promise<void> {
  const stored = await storage.getRecord(key);
  expect(await storage.casRecord(key, stored?.version ?? null, bytes)).toBe(true);
}

/** A storage whose calls each wait a few turns of the event loop, so that concurrent heartbeats interleave. */
function slow(inner: Storage): { storage: Storage; refusedSwaps: () => number } {
  let refused = 0;
  const later = async <T>(call: () => Promise<T>, turns: number): Promise<T> => {
    for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
    return call();
  };
  let calls = 0;
  const storage = overriding(inner, {
    getRecord: (recordKey) => later(() => inner.getRecord(recordKey), 1 + (calls++ % 3)),
    casRecord: (recordKey, version, bytes) =>
      later(async () => {
        const swapped = await inner.casRecord(recordKey, version, bytes);
        if (!swapped) refused++;
        return swapped;
      }, 1 + (calls++ % 2)),
  });
  return { storage, refusedSwaps: () => refused };
}

describe('Members', () => {
  it('heartbeat adds this node, keeps the nodes seen within two periods and drops the older ones', async () => {
    const storage = createMemoryStorage();
    const nowMs = 1_000_000;
    await write(storage, encoder.encode(JSON.stringify({ fresh: nowMs - 1.5 * periodMs, stale: nowMs - 2.5 * periodMs, edge: nowMs - 2 * periodMs, self: nowMs - 10 * periodMs })));
    const members = new Members(storage, 'self', periodMs);
    expect(members.nodeIds).toEqual([]);
    expect(await members.heartbeat(nowMs)).toBe(true);
    expect(members.nodeIds).toEqual(['fresh', 'self']);
    expect(await seen(storage)).toEqual({ self: nowMs, fresh: nowMs - 1.5 * periodMs });
    // A node whose heartbeat is later than this node's clock (clocks apart) is kept.
    await write(storage, encoder.encode(JSON.stringify({ self: nowMs, ahead: nowMs + 5 * periodMs })));
    expect(await members.heartbeat(nowMs + periodMs)).toBe(true);
    expect(members.nodeIds).toEqual(['ahead', 'self']);
  });

  it('concurrent heartbeats of several nodes on one storage all land (their compare-and-swaps retry)', async () => {
    const { storage, refusedSwaps } = slow(createMemoryStorage());
    const nodeIds = ['n1', 'n2', 'n3', 'n4'];
    const members = nodeIds.map((nodeId) => new Members(storage, nodeId, periodMs));
    const nowMs = 5_000_000;
    expect(await Promise.all(members.map((member, index) => member.heartbeat(nowMs + index)))).toEqual([true, true, true, true]);
    expect(refusedSwaps()).toBeGreaterThan(0); // they did contend
    expect(Object.keys((await seen(storage)) ?? {}).sort()).toEqual(nodeIds);
    expect(members.some((member) => member.nodeIds.length === nodeIds.length)).toBe(true); // the last to land saw all
    expect(await Promise.all(members.map((member) => member.heartbeat(nowMs + periodMs)))).toEqual([true, true, true, true]);
    for (const member of members) expect(member.nodeIds).toEqual(nodeIds); // each read the record the first round left
  });

  it('leave removes only this node, and does nothing when it is not in the record', async () => {
    const storage = createMemoryStorage();
    const nowMs = 7_000_000;
    const a = new Members(storage, 'a', periodMs);
    const b = new Members(storage, 'b', periodMs);
    await a.heartbeat(nowMs);
    await b.heartbeat(nowMs);
    await a.leave();
    expect(await seen(storage)).toEqual({ b: nowMs });
    const version = (await storage.getRecord(key))?.version;
    await a.leave();
    expect((await storage.getRecord(key))?.version).toBe(version);
    await new Members(createMemoryStorage(), 'c', periodMs).leave(); // no record at all
  });

  it('counts a record that is not a members record as empty, keeping only well-formed entries', async () => {
    const nowMs = 9_000_000;
    const cases: [string, string[]][] = [
      ['not json', ['self']],
      ['[1, 2]', ['self']],
      ['null', ['self']],
      ['"text"', ['self']],
      [JSON.stringify({ good: nowMs - 1, text: 'x', nothing: null, nested: { at: nowMs } }), ['good', 'self']],
    ];
    for (const [text, expected] of cases) {
      const storage = createMemoryStorage();
      await write(storage, encoder.encode(text));
      const members = new Members(storage, 'self', periodMs);
      expect(await members.heartbeat(nowMs), text).toBe(true);
      expect(members.nodeIds, text).toEqual(expected);
      expect(Object.keys((await seen(storage)) ?? {}).sort(), text).toEqual(expected); // rewritten well-formed
    }
    const storage = createMemoryStorage();
    await write(storage, Uint8Array.of(0xff, 0xfe, 0x00));
    const members = new Members(storage, 'self', periodMs);
    expect(await members.heartbeat(nowMs)).toBe(true);
    expect(members.nodeIds).toEqual(['self']);
  });

  it('answers false and keeps its view when storage fails or every compare-and-swap is refused; a bug still throws', async () => {
    const inner = createMemoryStorage();
    let failing: 'read' | 'write' | 'refuse' | 'bug' | null = null;
    const storage = overriding(inner, {
      getRecord: async (recordKey) => {
        if (failing === 'read') throw new FactumError('storage/unavailable', 'injected: storage unreachable');
        if (failing === 'bug') throw new TypeError('injected: a bug');
        return inner.getRecord(recordKey);
      },
      casRecord: async (recordKey, version, bytes) => {
        if (failing === 'write') throw new FactumError('storage/unavailable', 'injected: storage unreachable');
        if (failing === 'refuse') return false;
        return inner.casRecord(recordKey, version, bytes);
      },
    });
    const nowMs = 11_000_000;
    await new Members(inner, 'other', periodMs).heartbeat(nowMs);
    const members = new Members(storage, 'self', periodMs);
    expect(await members.heartbeat(nowMs)).toBe(true);
    expect(members.nodeIds).toEqual(['other', 'self']);
    const recordBefore = await seen(inner);
    for (const failure of ['read', 'write', 'refuse'] as const) {
      failing = failure;
      // 5 periods later `other` would be dropped from a new view: the view stays as it was.
      expect(await members.heartbeat(nowMs + 5 * periodMs), failure).toBe(false);
      expect(members.nodeIds, failure).toEqual(['other', 'self']);
      expect(await seen(inner), failure).toEqual(recordBefore);
      await members.leave(); // a failing leave neither throws nor writes
      expect(await seen(inner), failure).toEqual(recordBefore);
    }
    failing = 'bug';
    await expect(members.heartbeat(nowMs)).rejects.toThrow(TypeError);
    await expect(members.leave()).rejects.toThrow(TypeError);
    failing = null;
    expect(await members.heartbeat(nowMs + 5 * periodMs)).toBe(true);
    expect(members.nodeIds).toEqual(['self']);
  });
});
