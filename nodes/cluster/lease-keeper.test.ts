import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import { openLocalStorage } from '../storage/local/local-storage.ts';
import { removeDirectory, temporaryDirectory } from '../storage/local/local-test-support.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError } from '../util/errors.ts';
import { seededRandom } from '../util/random.ts';
import { LeaseKeeper, type LeaseEvents, type LeaseHolder, type LeaseSettings } from './lease-keeper.ts';
import { decodeLeaseRecord, encodeLeaseRecord, leaseKey } from './lease-record.ts';
import { overriding, VirtualProcess, VirtualTime } from './lease-test-support.ts';

const periodMs = 1000;
const log = 'db-1';
const key = leaseKey(log);

interface Told {
  readonly atMs: number;
  readonly event: string;
  readonly error?: FactumError;
}

interface Node {
  readonly keeper: LeaseKeeper;
  readonly process: VirtualProcess;
  readonly told: Told[];
  /** Events as short strings: acquired, lost:<reason>, holder:<nodeId|null>. */
  events(): string[];
  acquiredAtMs(): number | undefined;
}

function start(storage: Storage, time: VirtualTime, nodeId: string, settings: Partial<LeaseSettings> = {}): Node {
  const process = new VirtualProcess(time);
  const told: Told[] = [];
  const tell = (event: string, error?: FactumError) => told.push({ atMs: time.nowMs, event, error });
  const events: LeaseEvents = {
    acquired: () => tell('acquired'),
    lost: (_log, reason) => tell(`lost:${String(reason.data.reason)}`, reason),
    holderChanged: (_log, holder) => tell(`holder:${holder?.nodeId ?? 'null'}`),
    storageFailed: (_log, error) => tell(`failed:${error.code}`, error),
  };
  const keeper = new LeaseKeeper(
    storage,
    { nodeId, address: `http://${nodeId}:8182`, periodMs, contend: true, clock: process.clock, timers: process.timers, random: seededRandom(nodeId.length), ...settings },
    events,
  );
  return {
    keeper,
    process,
    told,
    events: () => told.map((entry) => entry.event),
    acquiredAtMs: () => told.find((entry) => entry.event === 'acquired')?.atMs,
  };
}

async function stored(storage: Storage, name = log) {
  const record = await storage.getRecord(leaseKey(name));
  return record === null ? null : { version: record.version, ...decodeLeaseRecord(leaseKey(name), record.bytes) };
}

/** A storage that logs the time of each successful CAS of the lease record. */
function casTimes(inner: Storage, time: VirtualTime): { storage: Storage; swaps: { atMs: number; nodeId: string }[] } {
  const swaps: { atMs: number; nodeId: string }[] = [];
  const storage = overriding(inner, {
    casRecord: async (recordKey, version, bytes) => {
      const swapped = await inner.casRecord(recordKey, version, bytes);
      if (swapped) swaps.push({ atMs: time.nowMs, nodeId: decodeLeaseRecord(recordKey, bytes).nodeId });
      return swapped;
    },
  });
  return { storage, swaps };
}

describe('LeaseKeeper', () => {
  it('takes an absent lease at once and keeps it by renewing every period/3', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    expect(a.events()).toEqual(['acquired', 'holder:a']);
    expect(a.keeper.isLeader(log)).toBe(true);
    expect(a.keeper.guard(log)).toBeNull();
    expect(a.keeper.holder(log)).toEqual({ nodeId: 'a', address: 'http://a:8182' });
    expect(await stored(storage)).toMatchObject({ version: 1, nodeId: 'a', address: 'http://a:8182', periodMs, released: false });
    let leaderThroughout = true;
    await time.advance(10 * periodMs, () => (leaderThroughout &&= a.keeper.isLeader(log)));
    expect(leaderThroughout).toBe(true);
    expect(a.events()).toEqual(['acquired', 'holder:a']);
    expect((await stored(storage))?.version).toBeGreaterThanOrEqual(30);
  });

  it('tells apart two processes given the same node id: neither takes the other\'s lease at once', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const first = start(storage, time, 'a');
    first.keeper.watch(log);
    await time.advance(periodMs / 10);
    const second = start(storage, time, 'a');
    second.keeper.watch(log);
    let overlap = false;
    await time.advance(5 * periodMs, () => (overlap ||= first.keeper.isLeader(log) && second.keeper.isLeader(log)));
    expect(overlap).toBe(false);
    expect(first.keeper.isLeader(log)).toBe(true);
    expect(second.events()).toEqual(['holder:a']);
    first.process.kill();
    await time.advance(3 * periodMs, () => (overlap ||= first.keeper.isLeader(log) && second.keeper.isLeader(log)));
    expect(overlap).toBe(false);
    expect(second.keeper.isLeader(log)).toBe(true);
  });

  it('waits a full period after the last renewal it saw before taking over a lease nobody renews', async () => {
    const time = new VirtualTime();
    const { storage, swaps } = casTimes(createMemoryStorage(), time);
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs);
    const b = start(storage, time, 'b');
    b.keeper.watch(log);
    await time.advance(periodMs);
    expect(b.events()).toEqual(['holder:a']);
    const killedAtMs = time.nowMs;
    a.process.kill(); // kill -9: no release
    let overlap = false;
    await time.advance(3 * periodMs, () => (overlap ||= a.keeper.isLeader(log) && b.keeper.isLeader(log)));
    expect(overlap).toBe(false);
    const lastRenewalMs = Math.max(...swaps.filter((swap) => swap.nodeId === 'a').map((swap) => swap.atMs));
    const acquiredAtMs = b.acquiredAtMs() as number;
    expect(acquiredAtMs - lastRenewalMs).toBeGreaterThanOrEqual(periodMs);
    expect(acquiredAtMs - killedAtMs).toBeLessThanOrEqual(2 * periodMs + 1000);
    expect(b.events()).toEqual(['holder:a', 'holder:null', 'acquired', 'holder:b']);
  });

  it('tells lost at once when a renewal is refused, and reports the node that took the lease', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    const version = (await stored(storage))?.version ?? null;
    await storage.casRecord(key, version, encodeLeaseRecord({ nodeId: 'x', incarnation: 'x1', address: 'http://x:8182', periodMs, released: false }));
    await time.advance(periodMs / 2);
    expect(a.events()).toEqual(['acquired', 'holder:a', 'lost:taken', 'holder:x']);
    const lost = a.told[2].error as FactumError;
    expect(lost.code).toBe('cluster/lease-lost');
    expect(lost.message).toMatch(/took it over \(node x \(http:\/\/x:8182\) holds it now\)/);
    expect(a.keeper.isLeader(log)).toBe(false);
    expect(a.keeper.holder(log)?.nodeId).toBe('x');
    expect(a.keeper.guard(log)?.data).toMatchObject({ reason: 'not-holder', holder: 'x' });
  });

  it('takes a released lease without waiting a period (unwatch and stop release)', async () => {
    for (const leave of ['unwatch', 'stop'] as const) {
      const time = new VirtualTime();
      const storage = createMemoryStorage();
      const a = start(storage, time, 'a');
      a.keeper.watch(log);
      await time.advance(periodMs / 10);
      const b = start(storage, time, 'b');
      b.keeper.watch(log);
      await time.advance(periodMs);
      const releasedAtMs = time.nowMs;
      await (leave === 'unwatch' ? a.keeper.unwatch(log) : a.keeper.stop());
      expect(a.events()).toEqual(['acquired', 'holder:a', 'lost:released', 'holder:null']);
      expect(await stored(storage)).toMatchObject({ nodeId: 'a', released: true });
      await time.advance(periodMs);
      expect(b.keeper.isLeader(log)).toBe(true);
      expect((b.acquiredAtMs() as number) - releasedAtMs).toBeLessThanOrEqual(periodMs / 4 + periodMs / 16);
    }
  });

  it('refuses in guard once the belief has run out, even when no timer ran (a paused process)', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    expect(a.keeper.guard(log)).toBeNull();
    time.jump(periodMs); // nothing ran: the process was stopped
    expect(a.keeper.isLeader(log)).toBe(false);
    expect(a.keeper.heldCount()).toBe(0);
    const refusal = a.keeper.guard(log);
    expect(refusal).toBeInstanceOf(FactumError);
    expect(refusal?.code).toBe('cluster/lease-lost');
    expect(refusal?.data.reason).toBe('expired');
    expect(a.events()).toEqual(['acquired', 'holder:a']); // lost is told when it runs again
    await time.advance(periodMs / 10);
    // Nobody took it meanwhile and the record names a: it claims again at once, with a new belief.
    expect(a.events()).toEqual(['acquired', 'holder:a', 'lost:expired', 'holder:null', 'acquired', 'holder:a']);
  });

  it('retries failed renewals until the belief runs out, then tells lost', async () => {
    const time = new VirtualTime();
    let failing = false;
    let startedMs = 0;
    const inner = createMemoryStorage();
    const storage = overriding(inner, {
      casRecord: async (recordKey, version, bytes) => {
        startedMs = time.nowMs;
        if (failing) throw new FactumError('storage/unavailable', 'injected: storage unreachable');
        return inner.casRecord(recordKey, version, bytes);
      },
    });
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs);
    failing = true;
    const lastStartMs = startedMs;
    await time.advance(periodMs - periodMs / 3 - 1);
    expect(a.keeper.isLeader(log)).toBe(true);
    await time.advance(periodMs);
    const lost = a.told.find((entry) => entry.event === 'lost:expired');
    expect(lost?.atMs).toBe(lastStartMs + periodMs);
    expect(lost?.error?.message).toMatch(/renewals failed: injected: storage unreachable/);
    expect(a.events().filter((event) => event === 'failed:storage/unavailable').length).toBeGreaterThan(3);
    failing = false;
    await time.advance(periodMs);
    expect(a.keeper.isLeader(log)).toBe(true);
  });

  it('keeps the lease when a renewal landed but its answer was lost (an ambiguous write)', async () => {
    const time = new VirtualTime();
    let ambiguous = 0;
    const inner = createMemoryStorage();
    const storage = overriding(inner, {
      casRecord: async (recordKey, version, bytes) => {
        const swapped = await inner.casRecord(recordKey, version, bytes);
        if (ambiguous > 0 && ambiguous--) throw new FactumError('storage/unavailable', 'injected: written, answer lost');
        return swapped;
      },
    });
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    ambiguous = 2;
    let leaderThroughout = true;
    await time.advance(3 * periodMs, () => (leaderThroughout &&= a.keeper.isLeader(log)));
    expect(leaderThroughout).toBe(true);
    expect(a.events()).toEqual(['acquired', 'holder:a', 'failed:storage/unavailable', 'failed:storage/unavailable']);
  });

  it('on a query-group node (contend: false) never takes a lease but reports who holds it', async () => {
    const time = new VirtualTime();
    const { storage, swaps } = casTimes(createMemoryStorage(), time);
    const q = start(storage, time, 'q', { contend: false });
    q.keeper.watch(log);
    await time.advance(5 * periodMs);
    expect(await storage.getRecord(key)).toBeNull();
    expect(q.keeper.holder(log)).toBeNull();
    const waited = q.keeper.waitForHolder(log);
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs);
    await expect(waited).resolves.toEqual({ nodeId: 'a', address: 'http://a:8182' });
    expect(q.keeper.holder(log)?.nodeId).toBe('a');
    a.process.kill();
    await time.advance(3 * periodMs);
    expect(q.events()).toEqual(['holder:a', 'holder:null']);
    expect(q.keeper.heldCount()).toBe(0);
    expect(swaps.every((swap) => swap.nodeId === 'a')).toBe(true);
  });

  it('reports a corrupt record as storage/corrupt naming its key, and takes it over after a period', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    await storage.casRecord(key, null, new TextEncoder().encode('{"format":1,"nodeId":'));
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 2);
    const failure = a.told.find((entry) => entry.event === 'failed:storage/corrupt')?.error;
    expect(failure?.message).toContain('"lease/db-1"');
    expect(failure?.data.key).toBe(key);
    expect(a.keeper.holder(log)).toBeNull();
    expect(a.keeper.isLeader(log)).toBe(false);
    await time.advance(2 * periodMs);
    expect(a.keeper.isLeader(log)).toBe(true);
    expect((a.acquiredAtMs() as number) >= periodMs).toBe(true);
  });

  it('spreads four databases over two nodes, two each, whatever the jitter', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const time = new VirtualTime();
      const storage = createMemoryStorage();
      const nodes = ['a', 'b'].map((nodeId, index) => start(storage, time, nodeId, { random: seededRandom(seed * 2 + index) }));
      for (const node of nodes) for (let index = 1; index <= 4; index++) node.keeper.watch(`db-${index}`);
      await time.advance(3 * periodMs);
      expect(nodes.map((node) => node.keeper.heldCount()), `seed ${seed}`).toEqual([2, 2]);
    }
  });

  it('stops: releases every lease, tells nothing once it resolved even with a storage call in flight, leaves no timer', async () => {
    const time = new VirtualTime();
    const inner = createMemoryStorage();
    let gate: { opened: Promise<void>; open: () => void } | null = null;
    let callsAfterStop = 0;
    let stopping = false;
    const gated = async <T>(call: () => Promise<T>): Promise<T> => {
      if (stopping) callsAfterStop++;
      const result = await call();
      if (gate !== null) await gate.opened;
      return result;
    };
    const storage = overriding(inner, {
      getRecord: (recordKey) => gated(() => inner.getRecord(recordKey)),
      casRecord: (recordKey, version, bytes) => gated(() => inner.casRecord(recordKey, version, bytes)),
    });
    const a = start(storage, time, 'a');
    a.keeper.watch('db-1');
    a.keeper.watch('db-2');
    await time.advance(periodMs / 2);
    expect(a.keeper.heldCount()).toBe(2);
    let open = () => {};
    gate = { opened: new Promise<void>((resolve) => (open = resolve)), open };
    await time.advance(periodMs / 3); // renewals sent, their answers held at the gate
    const toldBeforeStop = a.told.length;
    stopping = true;
    let stopped = false;
    const stopping$ = a.keeper.stop().then(() => (stopped = true));
    expect(a.keeper.heldCount()).toBe(0);
    expect(a.keeper.guard('db-1')?.data.reason).toBe('not-holder');
    await time.advance(periodMs);
    expect(stopped).toBe(false);
    gate = null;
    open();
    await stopping$;
    const toldAtStop = a.told.length;
    expect(a.told.slice(toldBeforeStop).map((entry) => entry.event).sort()).toEqual(['holder:null', 'holder:null', 'lost:released', 'lost:released']);
    expect(await stored(inner, 'db-1')).toMatchObject({ nodeId: 'a', released: true });
    expect(await stored(inner, 'db-2')).toMatchObject({ nodeId: 'a', released: true });
    expect(a.process.live.size).toBe(0);
    const callsAtStop = callsAfterStop;
    await time.advance(10 * periodMs);
    expect(a.told.length).toBe(toldAtStop);
    expect(callsAfterStop).toBe(callsAtStop);
    expect(() => a.keeper.watch('db-3')).toThrow(/after stop/);
  });

  it('watching a log again while its unwatch still releases never lets the release free the new claim', async () => {
    for (let seed = 1; seed <= 100; seed++) {
      const time = new VirtualTime();
      const inner = createMemoryStorage();
      const random = seededRandom(seed);
      const offsetMs = random() * (periodMs / 3);
      const later = <T>(call: () => Promise<T>) =>
        new Promise<T>((resolve, reject) =>
          time.schedule(1 + random() * 20, () => call().then((value) => time.schedule(1 + random() * 20, () => resolve(value)), reject)),
        );
      const storage = overriding(inner, {
        getRecord: (recordKey) => later(() => inner.getRecord(recordKey)),
        casRecord: (recordKey, version, bytes) => later(() => inner.casRecord(recordKey, version, bytes)),
      });
      const a = start(storage, time, 'a');
      a.keeper.watch(log);
      await time.advance(periodMs / 2);
      const b = start(storage, time, 'b');
      b.keeper.watch(log);
      await time.advance(periodMs + offsetMs);
      const leaving = a.keeper.unwatch(log);
      a.keeper.watch(log);
      let overlap = false;
      await time.advance(3 * periodMs, () => (overlap ||= a.keeper.isLeader(log) && b.keeper.isLeader(log)));
      await leaving;
      expect(overlap, `seed ${seed}`).toBe(false);
      expect(a.keeper.heldCount() + b.keeper.heldCount()).toBe(1);
    }
  });

  it('stop waits for the release of an unwatch called before it', async () => {
    const time = new VirtualTime();
    const inner = createMemoryStorage();
    const storage = overriding(inner, {
      casRecord: (recordKey, version, bytes) => new Promise((resolve) => time.schedule(50, () => resolve(inner.casRecord(recordKey, version, bytes)))),
    });
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 2);
    void a.keeper.unwatch(log);
    let stopped = false;
    const stopping = a.keeper.stop().then(() => (stopped = true));
    await time.advance(10);
    expect(stopped).toBe(false);
    await time.advance(100);
    await stopping;
    expect(await stored(inner)).toMatchObject({ nodeId: 'a', released: true });
  });

  it('waitForHolder resolves with a holder, and rejects with cluster/no-leader when aborted or unwatched', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const q = start(storage, time, 'q', { contend: false });
    await expect(q.keeper.waitForHolder(log)).rejects.toMatchObject({ code: 'cluster/no-leader' });
    q.keeper.watch(log);
    const controller = new AbortController();
    const aborted = q.keeper.waitForHolder(log, controller.signal);
    controller.abort(new Error('timed out after 5 s'));
    await expect(aborted).rejects.toMatchObject({ code: 'cluster/no-leader', message: expect.stringMatching(/aborted \(timed out after 5 s\)/) });
    const unwatched = q.keeper.waitForHolder(log);
    await q.keeper.unwatch(log);
    await expect(unwatched).rejects.toMatchObject({ code: 'cluster/no-leader' });
    q.keeper.watch(log);
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    await expect(a.keeper.waitForHolder(log)).resolves.toEqual({ nodeId: 'a', address: 'http://a:8182' } satisfies LeaseHolder);
  });

  it('stepAside: tells lost, writes a released record, and another keeper takes the lease at once', async () => {
    const time = new VirtualTime();
    const { storage, swaps } = casTimes(createMemoryStorage(), time);
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    const b = start(storage, time, 'b');
    b.keeper.watch(log);
    await time.advance(periodMs);
    expect(a.keeper.isLeader(log)).toBe(true);
    const steppedMs = time.nowMs;
    await a.keeper.stepAside(log, 5 * periodMs);
    expect(a.keeper.isLeader(log)).toBe(false);
    expect(a.keeper.guard(log)?.code).toBe('cluster/lease-lost');
    expect(a.events()).toEqual(['acquired', 'holder:a', 'lost:released', 'holder:null']);
    expect(await stored(storage)).toMatchObject({ nodeId: 'a', released: true });
    let overlap = false;
    await time.advance(periodMs, () => (overlap ||= a.keeper.isLeader(log) && b.keeper.isLeader(log)));
    expect(overlap).toBe(false);
    expect(b.keeper.isLeader(log)).toBe(true);
    // Released: b waited for no period, only for its next read and its jitter.
    expect((b.acquiredAtMs() as number) - steppedMs).toBeLessThanOrEqual(periodMs / 4 + periodMs / 16);
    expect(a.keeper.holder(log)?.nodeId).toBe('b');
    expect(a.events().slice(4)).toEqual(['holder:b']);
    expect(swaps.filter((swap) => swap.atMs > steppedMs && swap.nodeId === 'a')).toEqual([]); // a never claimed it back
  });

  it('stepAside: claims the lease again only after the cooldown, when nobody else took it', async () => {
    const time = new VirtualTime();
    const storage = createMemoryStorage();
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    const cooldownMs = 3 * periodMs;
    const steppedMs = time.nowMs;
    await a.keeper.stepAside(log, cooldownMs);
    let leaderDuringCooldown = false;
    await time.advance(cooldownMs - 1, () => (leaderDuringCooldown ||= a.keeper.isLeader(log)));
    expect(leaderDuringCooldown).toBe(false);
    expect(await stored(storage)).toMatchObject({ nodeId: 'a', released: true });
    await time.advance(periodMs / 2);
    expect(a.keeper.isLeader(log)).toBe(true);
    const reacquiredMs = a.told.filter((entry) => entry.event === 'acquired')[1]?.atMs as number;
    expect(reacquiredMs - steppedMs).toBeGreaterThanOrEqual(cooldownMs);
    expect(reacquiredMs - steppedMs).toBeLessThanOrEqual(cooldownMs + periodMs / 16);
    expect(a.events()).toEqual(['acquired', 'holder:a', 'lost:released', 'holder:null', 'acquired', 'holder:a']);
    expect(await stored(storage)).toMatchObject({ nodeId: 'a', released: false });
  });

  it('stepAside of a lease this keeper does not hold (or does not watch) does nothing, and sets no cooldown', async () => {
    const time = new VirtualTime();
    const { storage, swaps } = casTimes(createMemoryStorage(), time);
    const a = start(storage, time, 'a');
    a.keeper.watch(log);
    await time.advance(periodMs / 10);
    const b = start(storage, time, 'b');
    b.keeper.watch(log);
    await time.advance(periodMs);
    const swapsBefore = swaps.length;
    const toldBefore = b.events();
    await b.keeper.stepAside(log, 100 * periodMs);
    await b.keeper.stepAside('db-unwatched', 100 * periodMs);
    expect(b.events()).toEqual(toldBefore);
    expect(swaps.length).toBe(swapsBefore);
    expect(await stored(storage)).toMatchObject({ nodeId: 'a', released: false });
    await time.advance(periodMs);
    expect(a.keeper.isLeader(log)).toBe(true);
    expect(swaps.slice(swapsBefore).every((swap) => swap.nodeId === 'a')).toBe(true); // a's renewals only
    // No cooldown was set on b: it takes over a dead holder's lease within the usual bound.
    const killedMs = time.nowMs;
    a.process.kill();
    await time.advance(2 * periodMs + 1000);
    expect(b.keeper.isLeader(log)).toBe(true);
    expect((b.acquiredAtMs() as number) - killedMs).toBeLessThanOrEqual(2 * periodMs + 1000);
  });

  it('refuses bad settings with node/invalid-config', () => {
    const storage = createMemoryStorage();
    const events: LeaseEvents = { acquired: () => {}, lost: () => {}, holderChanged: () => {} };
    for (const bad of [{ periodMs: 0 }, { periodMs: Number.NaN }, { nodeId: '' }]) {
      expect(() => new LeaseKeeper(storage, { nodeId: 'a', address: 'http://a', periodMs, contend: true, ...bad }, events)).toThrow(
        expect.objectContaining({ code: 'node/invalid-config' }),
      );
    }
  });

  it('works on the local backend with real time (the key lease/db-<uuid> is a valid record key there)', async () => {
    const directory = await temporaryDirectory();
    const storage = await openLocalStorage(directory);
    try {
      const database = `db-${randomUUID()}`;
      let acquired = () => {};
      const wasAcquired = new Promise<void>((resolve) => (acquired = resolve));
      const keeper = new LeaseKeeper(storage, { nodeId: 'local', address: 'http://127.0.0.1:8182', periodMs: 2000, contend: true }, {
        acquired: () => acquired(),
        lost: () => {},
        holderChanged: () => {},
      });
      keeper.watch(database);
      await wasAcquired;
      expect(keeper.isLeader(database)).toBe(true);
      await keeper.stop();
      expect(await stored(storage, database)).toMatchObject({ nodeId: 'local', released: true });
    } finally {
      await storage.close();
      await removeDirectory(directory);
    }
  });
});

describe('lease record', () => {
  it('round-trips, and refuses what is not a lease record with storage/corrupt naming the key', () => {
    const record = { nodeId: 'n', incarnation: 'i', address: 'http://n:1', periodMs: 5000, released: true };
    expect(decodeLeaseRecord(key, encodeLeaseRecord(record))).toEqual(record);
    const cases: [string, RegExp][] = [
      ['', /not UTF-8 JSON/],
      ['[1]', /not a JSON object/],
      ['null', /not a JSON object/],
      ['{"format":2,"nodeId":"n","incarnation":"i","address":"a","periodMs":1,"released":false}', /format is 2, expected 1/],
      ['{"format":1,"nodeId":"","incarnation":"i","address":"a","periodMs":1,"released":false}', /nodeId/],
      ['{"format":1,"nodeId":"n","incarnation":"","address":"a","periodMs":1,"released":false}', /incarnation/],
      ['{"format":1,"nodeId":"n","incarnation":"i","address":3,"periodMs":1,"released":false}', /address/],
      ['{"format":1,"nodeId":"n","incarnation":"i","address":"a","periodMs":-1,"released":false}', /periodMs -1/],
      ['{"format":1,"nodeId":"n","incarnation":"i","address":"a","periodMs":1,"released":"no"}', /released/],
    ];
    for (const [text, problem] of cases) {
      expect(() => decodeLeaseRecord(key, new TextEncoder().encode(text)), text).toThrow(
        expect.objectContaining({ code: 'storage/corrupt', message: expect.stringMatching(problem), data: expect.objectContaining({ key }) }),
      );
    }
    expect(() => decodeLeaseRecord(key, Uint8Array.of(0xff, 0xfe))).toThrow(expect.objectContaining({ code: 'storage/corrupt' }));
    expect(() => encodeLeaseRecord({ ...record, periodMs: 0 })).toThrow(/invalid/);
  });
});
