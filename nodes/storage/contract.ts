//! The contract every storage backend keeps, as one vitest suite. A backend's test file calls
//! `describeStorageContract('local', make)`; the same tests then run against memory, the local
//! directory and AWS (Kysely runs every feature test against every real database the same way).
//!
//! The suite stays within what every backend can do: log entries up to 64 KiB (a DynamoDB item
//! holds 400 KB), a few hundred operations per test, no timing assumptions.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, Storage } from './protocol.ts';
import { seededRandom } from './fault.ts';

export interface StorageUnderTest {
  readonly storage: Storage;
  /** Closes the storage if still open and removes whatever it created. */
  readonly cleanup: () => Promise<void>;
}

const encoder = new TextEncoder();

export function bytesOf(text: string): Uint8Array {
  return encoder.encode(text);
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

/** Byte equality without vitest's element-by-element diff, which is slow for megabytes. */
export function sameBytes(left: Uint8Array | null, right: Uint8Array | null): boolean {
  return left !== null && right !== null && Buffer.compare(left, right) === 0;
}

function entries(...texts: string[]): LogEntry[] {
  return texts.map((text, position) => ({ position, bytes: bytesOf(text) }));
}

/** Defines the contract suite for one backend; `makeStorage` gives a fresh, empty storage each test. */
export function describeStorageContract(name: string, makeStorage: () => Promise<StorageUnderTest>): void {
  describe(`storage contract: ${name}`, () => {
    let subject: StorageUnderTest;
    let storage: Storage;
    beforeEach(async () => {
      subject = await makeStorage();
      storage = subject.storage;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    describeLog(() => storage);
    describeSegments(() => storage);
    describeRecords(() => storage);
    describeCopiesAndClose(() => storage);
    describeReferenceModel(() => storage);
  });
}

function describeLog(get: () => Storage): void {
  describe('log', () => {
    it('starts empty and appends at the next position', async () => {
      const storage = get();
      expect(await storage.logLength('log-a')).toBe(0);
      expect(await storage.appendLog('log-a', 0, bytesOf('zero'))).toBe(true);
      expect(await storage.appendLog('log-a', 1, bytesOf('one'))).toBe(true);
      expect(await storage.logLength('log-a')).toBe(2);
      expect(await collect(storage.readLog('log-a', 0))).toEqual(entries('zero', 'one'));
    });

    it('refuses a taken position, writing nothing', async () => {
      const storage = get();
      await storage.appendLog('log-a', 0, bytesOf('first'));
      await storage.appendLog('log-a', 1, bytesOf('second'));
      expect(await storage.appendLog('log-a', 0, bytesOf('other'))).toBe(false);
      expect(await storage.appendLog('log-a', 1, bytesOf('other'))).toBe(false);
      expect(await storage.logLength('log-a')).toBe(2);
      expect(await collect(storage.readLog('log-a', 0))).toEqual(entries('first', 'second'));
    });

    it('refuses a gap with storage/invalid-position', async () => {
      const storage = get();
      await expect(storage.appendLog('log-a', 1, bytesOf('gap'))).rejects.toMatchObject({
        code: 'storage/invalid-position',
      });
      await storage.appendLog('log-a', 0, bytesOf('zero'));
      await expect(storage.appendLog('log-a', 5, bytesOf('gap'))).rejects.toMatchObject({
        code: 'storage/invalid-position',
      });
      expect(await storage.logLength('log-a')).toBe(1);
    });

    it('refuses negative and fractional positions with storage/invalid-position', async () => {
      const storage = get();
      for (const position of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(storage.appendLog('log-a', position, bytesOf('x'))).rejects.toMatchObject({
          code: 'storage/invalid-position',
        });
      }
      await expect(collect(storage.readLog('log-a', -1))).rejects.toMatchObject({ code: 'storage/invalid-position' });
      await expect(collect(storage.readLog('log-a', 0, 1.5))).rejects.toMatchObject({
        code: 'storage/invalid-position',
      });
      expect(await storage.logLength('log-a')).toBe(0);
    });

    it('refuses an empty log name with storage/invalid-key', async () => {
      const storage = get();
      await expect(storage.appendLog('', 0, bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
      await expect(storage.logLength('')).rejects.toMatchObject({ code: 'storage/invalid-key' });
    });

    it('lets exactly one of concurrent appends at one position win', async () => {
      const storage = get();
      await storage.appendLog('log-a', 0, bytesOf('zero'));
      const contenders = Array.from({ length: 8 }, (_, index) => bytesOf(`contender ${index}`));
      const results = await Promise.all(contenders.map((bytes) => storage.appendLog('log-a', 1, bytes)));
      expect(results.filter((won) => won)).toHaveLength(1);
      const winner = contenders[results.indexOf(true)];
      expect(await storage.logLength('log-a')).toBe(2);
      expect(await collect(storage.readLog('log-a', 1))).toEqual([{ position: 1, bytes: winner }]);
    });

    it('lets exactly one writer win each position when writers race down the log', async () => {
      const storage = get();
      const writer = async (id: number): Promise<number[]> => {
        const won: number[] = [];
        for (let position = 0; position < 10; ) {
          if (await storage.appendLog('log-race', position, bytesOf(`${id}:${position}`))) won.push(position);
          position = await storage.logLength('log-race');
        }
        return won;
      };
      const wins = await Promise.all([0, 1, 2].map(writer));
      const all = wins.flat().sort((left, right) => left - right);
      expect(all.slice(0, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const read = await collect(storage.readLog('log-race', 0));
      for (const [id, won] of wins.entries()) {
        for (const position of won) expect(read[position].bytes).toEqual(bytesOf(`${id}:${position}`));
      }
    });

    it('reads ranges, clipping the end to the log length', async () => {
      const storage = get();
      const texts = ['a', 'b', 'c', 'd', 'e'];
      for (const [position, text] of texts.entries()) await storage.appendLog('log-a', position, bytesOf(text));
      const read = async (start: number, end?: number) =>
        (await collect(storage.readLog('log-a', start, end))).map((entry) => entry.position);
      expect(await read(0)).toEqual([0, 1, 2, 3, 4]);
      expect(await read(1, 3)).toEqual([1, 2]);
      expect(await read(3, 100)).toEqual([3, 4]);
      expect(await read(2, 2)).toEqual([]);
      expect(await read(4, 2)).toEqual([]);
      expect(await read(5)).toEqual([]);
      expect(await read(9)).toEqual([]);
      expect(await collect(storage.readLog('never-written', 0))).toEqual([]);
    });

    it('keeps entries of every size byte-exact, including empty ones', async () => {
      const storage = get();
      const random = seededRandom(11);
      const sizes = [0, 1, 200, 4095, 4096, 65_536];
      const written = sizes.map((size) => Uint8Array.from({ length: size }, () => Math.floor(random() * 256)));
      for (const [position, bytes] of written.entries()) {
        expect(await storage.appendLog('log-sizes', position, bytes)).toBe(true);
      }
      const read = await collect(storage.readLog('log-sizes', 0));
      expect(read.map((entry) => entry.position)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(read.every((entry, index) => sameBytes(entry.bytes, written[index]))).toBe(true);
    });

    it('keeps logs apart, including names holding slashes and odd characters', async () => {
      const storage = get();
      const names = ['db/one', 'db/one/two', 'db', 'DB', 'db%2Fone', 'ünï cödé', '..', 'a.b'];
      for (const [index, name] of names.entries()) {
        for (let position = 0; position <= index; position++) {
          await storage.appendLog(name, position, bytesOf(`${name}@${position}`));
        }
      }
      for (const [index, name] of names.entries()) {
        expect(await storage.logLength(name)).toBe(index + 1);
        const read = await collect(storage.readLog(name, index));
        expect(read).toEqual([{ position: index, bytes: bytesOf(`${name}@${index}`) }]);
      }
    });

    it('deletes a whole log, leaving others, after which it starts again at 0', async () => {
      const storage = get();
      await storage.appendLog('log-a', 0, bytesOf('a0'));
      await storage.appendLog('log-a', 1, bytesOf('a1'));
      await storage.appendLog('log-b', 0, bytesOf('b0'));
      await storage.deleteLog('log-a');
      expect(await storage.logLength('log-a')).toBe(0);
      expect(await collect(storage.readLog('log-a', 0))).toEqual([]);
      expect(await collect(storage.readLog('log-b', 0))).toEqual(entries('b0'));
      expect(await storage.appendLog('log-a', 0, bytesOf('again'))).toBe(true);
      expect(await collect(storage.readLog('log-a', 0))).toEqual(entries('again'));
      await storage.deleteLog('never-written');
    });
  });
}

function describeSegments(get: () => Storage): void {
  describe('segments', () => {
    it('puts and gets a segment; a missing one is null', async () => {
      const storage = get();
      await storage.putSegment('db/abc', bytesOf('node bytes'));
      expect(await storage.getSegment('db/abc')).toEqual(bytesOf('node bytes'));
      expect(await storage.getSegment('db/abd')).toBeNull();
      expect(await storage.getSegment('db')).toBeNull();
    });

    it('accepts putting the same key with the same bytes again', async () => {
      const storage = get();
      await storage.putSegment('db/abc', bytesOf('same'));
      await storage.putSegment('db/abc', bytesOf('same'));
      expect(await storage.getSegment('db/abc')).toEqual(bytesOf('same'));
    });

    it('stores empty and large segments byte-exact', async () => {
      const storage = get();
      const random = seededRandom(5);
      const large = Uint8Array.from({ length: 1 << 20 }, () => Math.floor(random() * 256));
      await storage.putSegment('empty', new Uint8Array(0));
      await storage.putSegment('large', large);
      expect(await storage.getSegment('empty')).toEqual(new Uint8Array(0));
      expect(sameBytes(await storage.getSegment('large'), large)).toBe(true);
    });

    it('lists keys by prefix, keys holding slashes and odd characters included', async () => {
      const storage = get();
      const keys = ['db1/aa', 'db1/ab', 'db1/b/c', 'db1', 'db10/aa', 'db2/aa', 'Db1/AA', 'x y/ü%2F', 'a..b/..'];
      for (const key of keys) await storage.putSegment(key, bytesOf(key));
      const list = async (prefix: string) => (await collect(storage.listSegments(prefix))).sort();
      expect(await list('')).toEqual([...keys].sort());
      expect(await list('db1/')).toEqual(['db1/aa', 'db1/ab', 'db1/b/c']);
      expect(await list('db1/a')).toEqual(['db1/aa', 'db1/ab']);
      expect(await list('db1')).toEqual(['db1', 'db1/aa', 'db1/ab', 'db1/b/c', 'db10/aa']);
      expect(await list('x y/')).toEqual(['x y/ü%2F']);
      expect(await list('zzz')).toEqual([]);
      for (const key of keys) expect(await storage.getSegment(key)).toEqual(bytesOf(key));
    });

    it('deletes segments, ignoring keys that do not exist', async () => {
      const storage = get();
      for (const key of ['s/1', 's/2', 's/3']) await storage.putSegment(key, bytesOf(key));
      await storage.deleteSegments(['s/1', 's/3', 's/missing']);
      expect(await storage.getSegment('s/1')).toBeNull();
      expect(await storage.getSegment('s/2')).toEqual(bytesOf('s/2'));
      expect((await collect(storage.listSegments('s/'))).sort()).toEqual(['s/2']);
      await storage.deleteSegments([]);
    });

    it('refuses an empty key with storage/invalid-key', async () => {
      const storage = get();
      await expect(storage.putSegment('', bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
      await expect(storage.getSegment('')).rejects.toMatchObject({ code: 'storage/invalid-key' });
    });
  });
}

function describeRecords(get: () => Storage): void {
  describe('records', () => {
    it('creates a record at version 1 and moves it forward by compare-and-swap', async () => {
      const storage = get();
      expect(await storage.getRecord('root/db')).toBeNull();
      expect(await storage.casRecord('root/db', null, bytesOf('v1'))).toBe(true);
      expect(await storage.getRecord('root/db')).toEqual({ version: 1, bytes: bytesOf('v1') });
      expect(await storage.casRecord('root/db', 1, bytesOf('v2'))).toBe(true);
      expect(await storage.getRecord('root/db')).toEqual({ version: 2, bytes: bytesOf('v2') });
    });

    it('refuses a stale or wrong version, writing nothing', async () => {
      const storage = get();
      await storage.casRecord('root/db', null, bytesOf('v1'));
      await storage.casRecord('root/db', 1, bytesOf('v2'));
      expect(await storage.casRecord('root/db', null, bytesOf('x'))).toBe(false);
      expect(await storage.casRecord('root/db', 1, bytesOf('x'))).toBe(false);
      expect(await storage.casRecord('root/db', 3, bytesOf('x'))).toBe(false);
      expect(await storage.casRecord('missing', 1, bytesOf('x'))).toBe(false);
      expect(await storage.getRecord('root/db')).toEqual({ version: 2, bytes: bytesOf('v2') });
      expect(await storage.getRecord('missing')).toBeNull();
    });

    it('lets exactly one of concurrent swaps from one version win', async () => {
      const storage = get();
      await storage.casRecord('lease/db', null, bytesOf('start'));
      const contenders = Array.from({ length: 8 }, (_, index) => bytesOf(`node ${index}`));
      const results = await Promise.all(contenders.map((bytes) => storage.casRecord('lease/db', 1, bytes)));
      expect(results.filter((won) => won)).toHaveLength(1);
      expect(await storage.getRecord('lease/db')).toEqual({ version: 2, bytes: contenders[results.indexOf(true)] });
    });

    it('counts every successful swap once when swappers race', async () => {
      const storage = get();
      const swapper = async (id: number): Promise<number> => {
        let wins = 0;
        for (let attempt = 0; attempt < 6; attempt++) {
          const current = await storage.getRecord('counter');
          if (await storage.casRecord('counter', current?.version ?? null, bytesOf(String(id)))) wins++;
        }
        return wins;
      };
      const wins = await Promise.all([0, 1, 2].map(swapper));
      const total = wins.reduce((sum, count) => sum + count, 0);
      expect(total).toBeGreaterThan(0);
      expect((await storage.getRecord('counter'))?.version).toBe(total);
    });

    it('deletes a record only at its version; it can be created again', async () => {
      const storage = get();
      await storage.casRecord('catalog', null, bytesOf('v1'));
      await storage.casRecord('catalog', 1, bytesOf('v2'));
      expect(await storage.deleteRecord('catalog', 1)).toBe(false);
      expect(await storage.getRecord('catalog')).toEqual({ version: 2, bytes: bytesOf('v2') });
      expect(await storage.deleteRecord('catalog', 2)).toBe(true);
      expect(await storage.getRecord('catalog')).toBeNull();
      expect(await storage.deleteRecord('catalog', 2)).toBe(false);
      expect(await storage.casRecord('catalog', null, bytesOf('new'))).toBe(true);
      expect(await storage.getRecord('catalog')).toEqual({ version: 1, bytes: bytesOf('new') });
    });

    it('keeps records with similar keys apart, and empty bytes', async () => {
      const storage = get();
      const keys = ['root/a', 'root/a/b', 'root', 'ROOT', 'root%2Fa'];
      for (const key of keys) expect(await storage.casRecord(key, null, bytesOf(key))).toBe(true);
      expect(await storage.casRecord('empty', null, new Uint8Array(0))).toBe(true);
      for (const key of keys) expect(await storage.getRecord(key)).toEqual({ version: 1, bytes: bytesOf(key) });
      expect(await storage.getRecord('empty')).toEqual({ version: 1, bytes: new Uint8Array(0) });
    });

    it('refuses an empty key with storage/invalid-key', async () => {
      const storage = get();
      await expect(storage.casRecord('', null, bytesOf('x'))).rejects.toMatchObject({ code: 'storage/invalid-key' });
      await expect(storage.getRecord('')).rejects.toMatchObject({ code: 'storage/invalid-key' });
      await expect(storage.deleteRecord('', 1)).rejects.toMatchObject({ code: 'storage/invalid-key' });
    });
  });
}

function describeCopiesAndClose(get: () => Storage): void {
  describe('byte copies and close', () => {
    it('copies bytes in: changing a buffer after a write does not change what is stored', async () => {
      const storage = get();
      const buffer = bytesOf('original');
      await storage.appendLog('log-a', 0, buffer);
      await storage.putSegment('seg', buffer);
      await storage.casRecord('rec', null, buffer);
      buffer.fill(0);
      expect((await collect(storage.readLog('log-a', 0)))[0].bytes).toEqual(bytesOf('original'));
      expect(await storage.getSegment('seg')).toEqual(bytesOf('original'));
      expect((await storage.getRecord('rec'))?.bytes).toEqual(bytesOf('original'));
    });

    it('copies bytes out: changing what a read returned does not change what is stored', async () => {
      const storage = get();
      await storage.appendLog('log-a', 0, bytesOf('original'));
      await storage.putSegment('seg', bytesOf('original'));
      await storage.casRecord('rec', null, bytesOf('original'));
      (await collect(storage.readLog('log-a', 0)))[0].bytes.fill(0);
      (await storage.getSegment('seg'))?.fill(0);
      (await storage.getRecord('rec'))?.bytes.fill(0);
      expect((await collect(storage.readLog('log-a', 0)))[0].bytes).toEqual(bytesOf('original'));
      expect(await storage.getSegment('seg')).toEqual(bytesOf('original'));
      expect((await storage.getRecord('rec'))?.bytes).toEqual(bytesOf('original'));
    });

    it('finishes writes that were called before close', async () => {
      const storage = get();
      const writes = [
        storage.appendLog('log-new', 0, bytesOf('x')),
        storage.putSegment('seg-new', bytesOf('x')),
        storage.casRecord('rec-new', null, bytesOf('x')),
      ];
      await storage.close();
      expect(await Promise.all(writes)).toEqual([true, undefined, true]);
    });

    it('fails every call after close with client/closed; closing twice is harmless', async () => {
      const storage = get();
      await storage.appendLog('log-a', 0, bytesOf('x'));
      await storage.close();
      await storage.close();
      const closed = { code: 'client/closed' };
      await expect(storage.appendLog('log-a', 1, bytesOf('y'))).rejects.toMatchObject(closed);
      await expect(collect(storage.readLog('log-a', 0))).rejects.toMatchObject(closed);
      await expect(storage.logLength('log-a')).rejects.toMatchObject(closed);
      await expect(storage.deleteLog('log-a')).rejects.toMatchObject(closed);
      await expect(storage.putSegment('s', bytesOf('x'))).rejects.toMatchObject(closed);
      await expect(storage.getSegment('s')).rejects.toMatchObject(closed);
      await expect(collect(storage.listSegments(''))).rejects.toMatchObject(closed);
      await expect(storage.deleteSegments(['s'])).rejects.toMatchObject(closed);
      await expect(storage.getRecord('r')).rejects.toMatchObject(closed);
      await expect(storage.casRecord('r', null, bytesOf('x'))).rejects.toMatchObject(closed);
      await expect(storage.deleteRecord('r', 1)).rejects.toMatchObject(closed);
    });
  });
}

/** A plain model of the protocol: what every backend must answer, operation by operation. */
class ReferenceModel {
  readonly logs = new Map<string, string[]>();
  readonly segments = new Map<string, string>();
  readonly records = new Map<string, { version: number; text: string }>();
}

function describeReferenceModel(get: () => Storage): void {
  describe('against a reference model', () => {
    it('answers like the model for 300 seeded random operations', async () => {
      const storage = get();
      const model = new ReferenceModel();
      const random = seededRandom(20240611);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
      const names = ['a', 'a/b', 'b'];
      for (let step = 0; step < 300; step++) {
        const name = pick(names);
        const text = `step ${step}`;
        const roll = random();
        if (roll < 0.35) {
          const entries = model.logs.get(name) ?? [];
          const position = Math.max(0, entries.length - Math.floor(random() * 2));
          const won = await storage.appendLog(name, position, bytesOf(text));
          expect(won, `append ${name}@${position}`).toBe(position === entries.length);
          if (won) model.logs.set(name, [...entries, text]);
        } else if (roll < 0.45) {
          const entries = model.logs.get(name) ?? [];
          const start = Math.floor(random() * (entries.length + 2));
          const read = await collect(storage.readLog(name, start));
          expect(read.map((entry) => new TextDecoder().decode(entry.bytes))).toEqual(entries.slice(start));
        } else if (roll < 0.5) {
          if (random() < 0.2) {
            await storage.deleteLog(name);
            model.logs.delete(name);
          }
        } else if (roll < 0.65) {
          const key = `${name}/${Math.floor(random() * 5)}`;
          const stored = model.segments.get(key);
          await storage.putSegment(key, bytesOf(stored ?? text));
          model.segments.set(key, stored ?? text);
        } else if (roll < 0.72) {
          const key = `${name}/${Math.floor(random() * 5)}`;
          const bytes = await storage.getSegment(key);
          const expected = model.segments.get(key);
          expect(bytes).toEqual(expected === undefined ? null : bytesOf(expected));
        } else if (roll < 0.76) {
          const key = `${name}/${Math.floor(random() * 5)}`;
          await storage.deleteSegments([key]);
          model.segments.delete(key);
        } else if (roll < 0.92) {
          const current = model.records.get(name);
          const expected = random() < 0.7 ? (current?.version ?? null) : Math.floor(random() * 4);
          const won = await storage.casRecord(name, expected, bytesOf(text));
          expect(won, `cas ${name} from ${expected}`).toBe(expected === (current?.version ?? null));
          if (won) model.records.set(name, { version: (current?.version ?? 0) + 1, text });
        } else if (roll < 0.97) {
          const record = await storage.getRecord(name);
          const current = model.records.get(name);
          expect(record).toEqual(current === undefined ? null : { version: current.version, bytes: bytesOf(current.text) });
        } else {
          const current = model.records.get(name);
          const version = current !== undefined && random() < 0.7 ? current.version : 9;
          const deleted = await storage.deleteRecord(name, version);
          expect(deleted).toBe(current?.version === version);
          if (deleted) model.records.delete(name);
        }
      }
      for (const name of names) expect(await storage.logLength(name)).toBe(model.logs.get(name)?.length ?? 0);
      expect((await collect(storage.listSegments(''))).sort()).toEqual([...model.segments.keys()].sort());
    });
  });
}
