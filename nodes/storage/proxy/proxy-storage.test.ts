// The proxy storage against the storage it forwards to, over a MessageChannel in this thread (the
// same messages a worker thread sends): every read answers what the storage answers, in pages for
// long logs, as copies; every write is refused before it reaches storage; errors keep their code;
// a closed proxy fails its waiting reads and later calls with client/closed.
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { AssertionError } from '../../util/assert.ts';
import { collect, sameBytes } from '../contract.ts';
import { openLocalStorage } from '../local/local-storage.ts';
import { removeDirectory, temporaryDirectory } from '../local/local-test-support.ts';
import { createMemoryStorage } from '../memory/memory-storage.ts';
import type { Storage } from '../protocol.ts';
import { LOG_PAGE_ENTRIES } from './proxy-protocol.ts';
import { ProxyStorage } from './proxy-storage.ts';
import { serveStorage } from './serve-storage.ts';

const bytesOf = (text: string): Uint8Array => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array | null | undefined): string | null => (bytes === null || bytes === undefined ? null : new TextDecoder().decode(bytes));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A proxy of `storage`, and the calls that reached `storage` by name. */
function proxyOf(storage: Storage, options: { directReads?: boolean } = {}): { proxy: ProxyStorage; calls: string[] } {
  const calls: string[] = [];
  const counted = new Proxy(storage, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(property));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const { port1, port2 } = new MessageChannel();
  serveStorage(port1, counted);
  const proxy = new ProxyStorage(port2, { kind: storage.kind, directReads: options.directReads === true ? (storage.directSegmentReads?.() ?? null) : null });
  cleanups.push(async () => {
    await proxy.close();
    port1.close();
  });
  return { proxy, calls };
}

describe('proxy storage', () => {
  it('answers every read as the storage does', async () => {
    const storage = createMemoryStorage();
    for (let position = 0; position < 3; position++) await storage.appendLog('db-1', position, bytesOf(`entry ${position}`));
    await storage.putSegment('segments/db-1/a', bytesOf('segment a'));
    await storage.putSegment('segments/db-1/b', bytesOf('segment b'));
    await storage.putSegment('segments/db-2/c', bytesOf('segment c'));
    await storage.casRecord('root/db-1', null, bytesOf('root 1'));
    await storage.casRecord('root/db-1', 1, bytesOf('root 2'));
    const { proxy } = proxyOf(storage);

    expect((await collect(proxy.readLog('db-1', 0))).map((entry) => [entry.position, textOf(entry.bytes)])).toEqual([
      [0, 'entry 0'],
      [1, 'entry 1'],
      [2, 'entry 2'],
    ]);
    expect((await collect(proxy.readLog('db-1', 1, 2))).map((entry) => entry.position)).toEqual([1]);
    expect(await collect(proxy.readLog('db-9', 0))).toEqual([]);
    expect(await proxy.logLength('db-1')).toBe(3);
    expect(await proxy.logLength('db-9')).toBe(0);
    const record = await proxy.getRecord('root/db-1');
    expect({ version: record?.version, text: textOf(record?.bytes) }).toEqual({ version: 2, text: 'root 2' });
    expect(await proxy.getRecord('root/db-9')).toBeNull();
    expect(textOf(await proxy.getSegment('segments/db-1/b'))).toBe('segment b');
    expect(await proxy.getSegment('segments/db-1/z')).toBeNull();
    expect((await collect(proxy.listSegments('segments/db-1/'))).sort()).toEqual(['segments/db-1/a', 'segments/db-1/b']);
    expect(proxy.kind).toBe('memory');
  });

  it('reads a long log in pages, in order, from any start', async () => {
    const storage = createMemoryStorage();
    const length = LOG_PAGE_ENTRIES * 2 + 7;
    for (let position = 0; position < length; position++) await storage.appendLog('db-1', position, bytesOf(String(position)));
    const { proxy, calls } = proxyOf(storage);
    const all = await collect(proxy.readLog('db-1', 0));
    expect(all.map((entry) => entry.position)).toEqual(Array.from({ length }, (_, i) => i));
    expect(all.every((entry) => textOf(entry.bytes) === String(entry.position))).toBe(true);
    expect(calls.filter((call) => call === 'readLog').length).toBe(3);
    const tail = await collect(proxy.readLog('db-1', 5, length - 1));
    expect(tail.map((entry) => entry.position)).toEqual(Array.from({ length: length - 6 }, (_, i) => i + 5));
  });

  it('hands out copies: changing them changes nothing stored', async () => {
    const storage = createMemoryStorage();
    await storage.putSegment('segments/db-1/a', bytesOf('segment a'));
    await storage.appendLog('db-1', 0, bytesOf('entry 0'));
    const { proxy } = proxyOf(storage);
    (await proxy.getSegment('segments/db-1/a'))!.fill(0);
    (await collect(proxy.readLog('db-1', 0)))[0]!.bytes.fill(0);
    expect(textOf(await storage.getSegment('segments/db-1/a'))).toBe('segment a');
    expect(textOf((await collect(storage.readLog('db-1', 0)))[0]!.bytes)).toBe('entry 0');
    expect(textOf(await proxy.getSegment('segments/db-1/a'))).toBe('segment a');
  });

  it('refuses every write as a bug, before it reaches storage', async () => {
    const storage = createMemoryStorage();
    const { proxy, calls } = proxyOf(storage);
    const writes: Array<() => Promise<unknown>> = [
      () => proxy.appendLog('db-1', 0, bytesOf('x')),
      () => proxy.deleteLog('db-1'),
      () => proxy.putSegment('segments/db-1/a', bytesOf('x')),
      () => proxy.deleteSegments(['segments/db-1/a']),
      () => proxy.casRecord('root/db-1', null, bytesOf('x')),
      () => proxy.deleteRecord('root/db-1', 1),
    ];
    for (const write of writes) await expect(write()).rejects.toBeInstanceOf(AssertionError);
    expect(calls).toEqual([]);
    expect(await storage.logLength('db-1')).toBe(0);
    expect(await storage.getSegment('segments/db-1/a')).toBeNull();
    expect(await storage.getRecord('root/db-1')).toBeNull();
  });

  it("passes the storage's errors with their code and data", async () => {
    const storage = createMemoryStorage();
    const { proxy } = proxyOf(storage);
    await expect(proxy.getSegment('')).rejects.toMatchObject({ code: 'storage/invalid-key', category: 'incorrect' });
    await expect(collect(proxy.readLog('db-1', -1))).rejects.toMatchObject({ code: 'storage/invalid-position' });
    await storage.close();
    await expect(proxy.logLength('db-1')).rejects.toMatchObject({ code: 'client/closed' });
  });

  it('once closed, fails the reads waiting and every later call with client/closed', async () => {
    const storage = createMemoryStorage();
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: Storage = Object.assign(Object.create(storage) as Storage, {
      async logLength(log: string): Promise<number> {
        await held;
        return storage.logLength(log);
      },
    });
    const { proxy } = proxyOf(slow);
    const waiting = proxy.logLength('db-1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    await proxy.close();
    await expect(waiting).rejects.toMatchObject({ code: 'client/closed' });
    await expect(proxy.getRecord('root/db-1')).rejects.toMatchObject({ code: 'client/closed' });
    await expect(proxy.getSegment('segments/db-1/a')).rejects.toMatchObject({ code: 'client/closed' });
    release();
  });

  it('reads local segment files itself when allowed, and asks the main thread for the rest', async () => {
    const directory = await temporaryDirectory();
    const storage = await openLocalStorage(directory);
    cleanups.push(async () => {
      await storage.close();
      await removeDirectory(directory);
    });
    await storage.putSegment('segments/db-1/a', bytesOf('segment a'));
    const { proxy, calls } = proxyOf(storage, { directReads: true });
    expect(proxy.directSegmentReads()).toEqual(storage.directSegmentReads!());
    expect(sameBytes(await proxy.getSegment('segments/db-1/a'), bytesOf('segment a'))).toBe(true);
    expect(calls).toEqual([]);
    expect(await proxy.getSegment('segments/db-1/missing')).toBeNull();
    expect(calls).toEqual(['getSegment']);
  });
});
