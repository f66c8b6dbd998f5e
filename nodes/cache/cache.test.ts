// The cache stack: levels wrapping each other, loads deduplicated, the byte bound, directory
// repair, faults from storage, and I/O statistics per level and per context.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Datom } from '../datom/datom.ts';
import { txOfT } from '../datom/datom.ts';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { withFaults } from '../storage/fault.ts';
import type { Storage } from '../storage/protocol.ts';
import { datomNodeCodec } from '../segment/datom-codec.ts';
import { SegmentDatom } from '../segment/datom-columns.ts';
import type { TreeNode } from '../btree/durable-tree.ts';
import { isFactumError } from '../util/errors.ts';
import { DirectoryCache } from './directory-cache.ts';
import { IoContext } from './io-stats.ts';
import { NodeCache } from './node-cache.ts';
import { StorageSegments } from './segment-store.ts';

const codec = datomNodeCodec();

function leaf(seed: number, n = 50): TreeNode<Datom> {
  return { kind: 'leaf', keys: Array.from({ length: n }, (_, i) => new SegmentDatom(seed * 1000 + i, 10, `v${i}`, txOfT(seed), true)) };
}

/** Counts getSegment calls reaching storage. */
function counting(storage: Storage): Storage & { gets: number } {
  const wrapped = Object.create(storage) as Storage & { gets: number };
  wrapped.gets = 0;
  wrapped.getSegment = (key: string) => {
    wrapped.gets++;
    return storage.getSegment(key);
  };
  return wrapped;
}

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'factum-cache-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Stores a node and waits until its segment is written (store only starts the write). */
async function stored(cache: NodeCache<Datom>, node: TreeNode<Datom>): Promise<string> {
  const address = await cache.store(node);
  await cache.flushWrites();
  return address;
}

describe('cache stack', () => {
  it('reads through memory, directory and storage, and serves later reads from the nearest level', async () => {
    const storage = counting(createMemoryStorage());
    const writer = new NodeCache(codec, new DirectoryCache(new StorageSegments(storage, 'db1/'), directory));
    const address = await stored(writer, leaf(1));
    expect(await storage.getSegment('db1/' + address)).not.toBeNull();

    const coldDirectory = join(directory, 'other');
    const cold = new NodeCache(codec, new DirectoryCache(new StorageSegments(storage, 'db1/'), coldDirectory));
    const context = new IoContext();
    const node = await cold.load(address, context);
    expect(node).toEqual(leaf(1));
    let stats = context.snapshot();
    expect(stats.memory).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.directory).toMatchObject({ hits: 0, misses: 1 });
    expect(stats.storage!.hits).toBe(1);
    expect(stats.storage!.bytes).toBeGreaterThan(0);

    await cold.load(address, context);
    expect(context.snapshot().memory).toMatchObject({ hits: 1, misses: 1 });

    const fresh = new NodeCache(codec, new DirectoryCache(new StorageSegments(storage, 'db1/'), coldDirectory));
    const second = new IoContext();
    await fresh.load(address, second);
    stats = second.snapshot();
    expect(stats.directory!.hits).toBe(1);
    expect(stats.storage).toBeUndefined();
  });

  it('concurrent misses for one segment read it once', async () => {
    const storage = counting(createMemoryStorage());
    const address = await stored(new NodeCache(codec, new StorageSegments(storage, '')), leaf(2));
    const cache = new NodeCache(codec, new StorageSegments(withFaults(storage, { seed: 1, delayMs: 5 }), ''));
    storage.gets = 0;
    const nodes = await Promise.all(Array.from({ length: 20 }, () => cache.load(address)));
    expect(storage.gets).toBe(1);
    expect(new Set(nodes).size).toBe(1);
  });

  it('holds at most cacheBytesMax bytes of decoded nodes', async () => {
    const storage = createMemoryStorage();
    const writer = new NodeCache(codec, new StorageSegments(storage, ''));
    const addresses: string[] = [];
    for (let i = 0; i < 40; i++) addresses.push(await stored(writer, leaf(i, 100)));
    const nodeBytes = codec.sizeOf(leaf(0, 100));
    const cache = new NodeCache(codec, new StorageSegments(storage, ''), { cacheBytesMax: nodeBytes * 5 });
    for (const address of addresses) await cache.load(address);
    expect(cache.bytesHeld).toBeLessThanOrEqual(nodeBytes * 5);
    expect(cache.bytesHeld).toBeGreaterThanOrEqual(nodeBytes * 4);
  });

  it('repairs a corrupt or torn directory file from storage', async () => {
    const storage = createMemoryStorage();
    const level = new DirectoryCache(new StorageSegments(storage, ''), directory);
    const address = await stored(new NodeCache(codec, level), leaf(3));
    const path = level.pathOf(address);
    const good = await readFile(path);
    await writeFile(path, good.subarray(0, good.length - 7)); // torn write
    expect(await new NodeCache(codec, level).load(address)).toEqual(leaf(3));
    expect(level.repairs).toBe(1);
    expect(Buffer.compare(await readFile(path), good)).toBe(0);
  });

  it('keeps a directory level under its byte bound, removing the least recently used files', async () => {
    const storage = createMemoryStorage();
    const probe = datomNodeCodec().encode(leaf(0, 100)).bytes.length;
    const bytesMax = probe * 10;
    const level = new DirectoryCache(new StorageSegments(storage, ''), directory, { bytesMax });
    await level.ready();
    const writer = new NodeCache(codec, level);
    const addresses: string[] = [];
    for (let i = 0; i < 8; i++) addresses.push(await stored(writer, leaf(100 + i, 100)));
    // Read the first one again: it is now the most recently used, and survives what follows.
    expect(await level.get(addresses[0]!)).not.toBeNull();
    for (let i = 8; i < 12; i++) addresses.push(await stored(writer, leaf(100 + i, 100)));
    await level.settled();
    expect(level.evictions).toBeGreaterThan(0);
    expect(level.bytesHeld).toBeLessThanOrEqual(bytesMax);
    const onDisk = (await Promise.all(addresses.map((address) => readFile(level.pathOf(address)).then((b) => b.length, () => 0)))).reduce((x, y) => x + y, 0);
    expect(onDisk).toBe(level.bytesHeld);
    expect(await readFile(level.pathOf(addresses[0]!)).then(() => true, () => false)).toBe(true);
    expect(await readFile(level.pathOf(addresses[1]!)).then(() => true, () => false)).toBe(false); // the oldest untouched went first
    // An evicted segment is read from storage and kept again.
    const context = new IoContext();
    expect(await new NodeCache(codec, level).load(addresses[1]!, context)).toEqual(leaf(101, 100));
    expect(context.snapshot().directory!.misses).toBe(1);
    expect(await readFile(level.pathOf(addresses[1]!)).then(() => true, () => false)).toBe(true);
    // A new level over the same directory learns what it holds from a scan.
    const reopened = new DirectoryCache(new StorageSegments(storage, ''), directory, { bytesMax });
    await reopened.ready();
    await level.settled();
    expect(reopened.bytesHeld).toBe(level.bytesHeld);
    expect(() => new DirectoryCache(new StorageSegments(storage, ''), directory, { bytesMax: 0 })).toThrow(/bytesMax/);
  });

  it('counts files another process wrote by their modification time, and forgets files it removed', async () => {
    const storage = createMemoryStorage();
    const probe = datomNodeCodec().encode(leaf(0, 100)).bytes.length;
    const other = new DirectoryCache(new StorageSegments(storage, ''), directory, { bytesMax: probe * 100 });
    const addresses: string[] = [];
    for (let i = 0; i < 6; i++) addresses.push(await stored(new NodeCache(codec, other), leaf(200 + i, 100)));
    const hourAgo = new Date(Date.now() - 3600_000);
    for (const address of addresses.slice(0, 3)) await utimes(other.pathOf(address), hourAgo, hourAgo);
    await rm(other.pathOf(addresses[5]!)); // gone before this process scans
    const level = new DirectoryCache(new StorageSegments(storage, ''), directory, { bytesMax: Math.floor(probe * 6.5) });
    await level.ready();
    expect(level.bytesHeld).toBeGreaterThanOrEqual(probe * 4);
    expect(level.bytesHeld).toBeLessThanOrEqual(probe * 6);
    expect(await level.get(addresses[0]!)).not.toBeNull(); // used now: no longer among the oldest
    for (let i = 6; i < 9; i++) await stored(new NodeCache(codec, level), leaf(200 + i, 100));
    await level.settled();
    const present = async (address: string): Promise<boolean> => readFile(level.pathOf(address)).then(() => true, () => false);
    expect(await present(addresses[0]!)).toBe(true);
    expect(await present(addresses[1]!)).toBe(false); // an hour old and untouched: first out
    expect(level.bytesHeld).toBeLessThanOrEqual(Math.floor(probe * 6.5));
  });

  it('a directory that cannot be written costs only the cache entry', async () => {
    const storage = createMemoryStorage();
    const address = await stored(new NodeCache(codec, new StorageSegments(storage, '')), leaf(4));
    const blocked = join(directory, 'file');
    await writeFile(blocked, 'not a directory');
    const level = new DirectoryCache(new StorageSegments(storage, ''), blocked);
    expect(await new NodeCache(codec, level).load(address)).toEqual(leaf(4));
    expect(level.writeFailures).toBe(1);
  });

  it('a missing segment is storage/segment-not-found naming it', async () => {
    const cache = new NodeCache(codec, new StorageSegments(createMemoryStorage(), 'db/'));
    const address = 'ab'.repeat(32);
    const error = await cache.load(address).catch((e: unknown) => e);
    expect(isFactumError(error, 'storage/segment-not-found')).toBe(true);
    expect((error as Error).message).toContain(address);
  });

  it('a segment corrupted by storage is storage/corrupt, is not cached, and reads again once storage is sound', async () => {
    const memory = createMemoryStorage();
    const address = await stored(new NodeCache(codec, new StorageSegments(memory, '')), leaf(5));
    const faulty = withFaults(memory, { seed: 3, corruptReadRate: 1, operations: ['getSegment'] });
    for (const level of [new StorageSegments(faulty, ''), new DirectoryCache(new StorageSegments(faulty, ''), directory)]) {
      const cache = new NodeCache(codec, level);
      faulty.faults.enabled = true;
      const error = await cache.load(address).catch((e: unknown) => e);
      expect(isFactumError(error, 'storage/corrupt'), level.level).toBe(true);
      expect((error as Error).message).toContain(address);
      faulty.faults.enabled = false;
      expect(await cache.load(address)).toEqual(leaf(5));
    }
  });

  it('a failing storage read is reported, not cached', async () => {
    const memory = createMemoryStorage();
    const address = await stored(new NodeCache(codec, new StorageSegments(memory, '')), leaf(6));
    const faulty = withFaults(memory, { seed: 3, failRate: 1, operations: ['getSegment'] });
    const cache = new NodeCache(codec, new StorageSegments(faulty, ''));
    await expect(cache.load(address)).rejects.toMatchObject({ code: 'storage/unavailable' });
    faulty.faults.enabled = false;
    expect(await cache.load(address)).toEqual(leaf(6));
  });

  it('refuses bad options and addresses', () => {
    const level = new StorageSegments(createMemoryStorage(), '');
    for (const cacheBytesMax of [0, -1, 1.5, NaN]) {
      expect(() => new NodeCache(codec, level, { cacheBytesMax })).toThrow(expect.objectContaining({ code: 'cache/invalid-option' }));
    }
    expect(() => new DirectoryCache(level, directory).pathOf('../../etc/passwd')).toThrow(expect.objectContaining({ code: 'storage/invalid-key' }));
  });
});
