import { describe, expect, it } from 'vitest';
import type { Db } from '../db/db.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError, isFactumError } from '../util/errors.ts';
import { seededRandom } from '../util/random.ts';
import { kw } from '../values/values.ts';
import { contents } from './db-contents-test-support.ts';
import { Transactor, type TransactorOptions, type TxRangeEntry } from './transactor.ts';

const LOG = 'db-f';
/** Tiny trees and thresholds: index runs, tiers and root moves every few transactions. */
const indexing = { noveltyBytesMax: 2500, backPressureBytes: 1e9, leafMax: 8, branchMax: 4, tier0Max: 40 };
const attribute = (ident: string, valueType: string, more: Record<string, unknown> = {}) => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${valueType}`),
  'db/cardinality': kw('db.cardinality/one'),
  ...more,
});
const many = { 'db/cardinality': kw('db.cardinality/many') };
const schema = [
  attribute('user/name', 'string', { 'db/unique': kw('db.unique/identity') }),
  attribute('user/status', 'string', { 'db/noHistory': true }),
  attribute('user/score', 'long'),
  attribute('user/tags', 'string', { ...many, 'db/noHistory': true }),
  attribute('user/friends', 'ref', many),
];
/** Installed as the test goes: db values before them must not know them. */
const later = [[attribute('user/email', 'string', { 'db/unique': kw('db.unique/value') })], [attribute('user/level', 'long', { 'db/noHistory': true })]];

/** The storage a follower gets: every write is recorded and refused (a follower must make none). */
function readOnly(inner: Storage): { storage: Storage; writes: string[] } {
  const writes: string[] = [];
  const refused = new Set(['appendLog', 'putSegment', 'deleteSegments', 'casRecord', 'deleteRecord', 'deleteLog']);
  const storage = new Proxy(inner, {
    get(target, property) {
      if (typeof property === 'string' && refused.has(property)) {
        return (...args: unknown[]) => {
          writes.push(`${property}(${String(args[0])})`);
          return Promise.reject(new Error(`a follower called ${property}`));
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Storage;
  return { storage, writes };
}

/** One random transaction: upserts, noHistory values changed, card-many values added and retracted, entities retracted. */
function randomTransaction(random: () => number, installed: number, existing: Set<string>): unknown[] {
  const pick = (n: number) => Math.floor(random() * n);
  const out: unknown[] = [];
  const names = new Set<string>();
  const retracted = new Set<string>();
  for (let k = 1 + pick(3); k > 0; k--) {
    const name = `u${pick(14)}`;
    if (names.has(name)) continue;
    names.add(name);
    const ref = [kw('user/name'), name];
    if (existing.has(name) && random() < 0.08) {
      out.push(['db/retractEntity', ref]);
      retracted.add(name);
      continue;
    }
    const user: Record<string, unknown> = { 'db/id': name, 'user/name': name, 'user/status': `s${pick(4)}` };
    if (random() < 0.5) user['user/score'] = pick(100);
    if (installed >= 1 && random() < 0.4) user['user/email'] = `e${pick(20)}@example.com`; // unique: some conflict, and are refused
    if (installed >= 2 && random() < 0.5) user['user/level'] = pick(5);
    out.push(user);
    if (random() < 0.5) out.push(['db/add', name, 'user/tags', `t${pick(5)}`]);
    const friend = `u${pick(14)}`;
    if (random() < 0.3 && existing.has(friend) && !names.has(friend)) out.push(['db/add', name, 'user/friends', [kw('user/name'), friend]]);
    if (existing.has(name) && random() < 0.3) out.push(['db/retract', ref, 'user/tags', `t${pick(5)}`]);
    if (existing.has(name) && random() < 0.15) out.push(['db/retract', ref, 'user/score', pick(100)]);
  }
  for (const name of names) {
    if (retracted.has(name)) existing.delete(name);
    else existing.add(name);
  }
  return out;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Whether `promise` has resolved yet, read without awaiting it. */
function tracked<T>(promise: Promise<T>): () => T | undefined {
  let value: T | undefined;
  promise.then(
    (v) => (value = v),
    () => undefined,
  );
  return () => value;
}

/** The root t the db value of `tr` is on (0 before the first root). */
function rootTOf(tr: Transactor): number {
  const base = tr.db().state.base;
  return base instanceof IndexedBase ? base.root.t : 0;
}

async function rangeOf(tr: Transactor, start: number, end: number): Promise<TxRangeEntry[]> {
  const out: TxRangeEntry[] = [];
  for await (const entry of tr.txRange(start, end)) out.push(entry);
  return out;
}

/** A follower in the random test: its pushes not yet delivered, what it was asked and not yet awaited. */
interface Fed {
  readonly tr: Transactor;
  readonly inbox: Array<{ readonly position: number; readonly bytes: Uint8Array }>;
  readonly tasks: Array<Promise<unknown>>;
  readonly errors: unknown[];
  readonly syncs: Array<{ readonly t: number; readonly resolved: () => Db | undefined; readonly db: Promise<Db> }>;
}

function run(fed: Fed, task: Promise<unknown>): void {
  fed.tasks.push(task.catch((error: unknown) => fed.errors.push(error)));
}

/** Delivers the next few pushes to `fed`: some dropped, some reordered, some delivered twice. */
function deliver(fed: Fed, random: () => number): void {
  for (let k = 1 + Math.floor(random() * 3); k > 0 && fed.inbox.length > 0; k--) {
    const push = fed.inbox.shift()!;
    const r = random();
    if (r < 0.12) continue; // lost
    if (r < 0.25 && fed.inbox.length > 0) {
      fed.inbox.splice(1, 0, push); // late: after the next one
      continue;
    }
    if (r < 0.35) fed.inbox.push(push); // delivered again later
    run(fed, fed.tr.applyEntry(push.position, push.bytes));
  }
}

describe('a follower', () => {
  it('has, at each t, the db value the leader made, whatever happens to the pushes (seeded reference test)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const pick = (n: number) => Math.floor(random() * n);
      const inner = createMemoryStorage();
      const { storage, writes } = readOnly(inner);
      const leader = await Transactor.open(inner, LOG, { indexing });
      const reference = new Map<number, Db>([[0, leader.db()]]);
      const followers: Fed[] = [];
      const counts = { compared: 0, dbAt: 0, rootMoves: 0, followerMoves: 0 };
      const open = async (): Promise<void> => {
        const tr = await Transactor.open(storage, LOG, { role: 'follower', indexing });
        followers.push({ tr, inbox: [], tasks: [], errors: [], syncs: [] });
      };
      await open();
      leader.onCommitted((position, bytes) => {
        for (const fed of followers) fed.inbox.push({ position, bytes });
      });
      leader.onRootMoved(() => {
        counts.rootMoves++;
        for (const fed of followers) if (random() < 0.5) run(fed, fed.tr.refreshRoot().then((moved) => moved && counts.followerMoves++));
      });
      const check = async (fed: Fed): Promise<void> => {
        await Promise.all(fed.tasks.splice(0));
        expect(fed.errors, `seed ${seed}`).toEqual([]);
        const db = fed.tr.db();
        const t = db.basisT;
        expect(await contents(db), `seed ${seed} at t ${t}`).toEqual(await contents(reference.get(t)!));
        counts.compared++;
        const u = pick(t + 1);
        const at = await fed.tr.dbAt(u);
        if (at !== null) {
          expect(at.basisT).toBe(u);
          expect(await contents(at), `seed ${seed}: dbAt(${u}) at t ${t}`).toEqual(await contents(reference.get(u)!));
          counts.dbAt++;
        } else expect(u).toBeLessThan(rootTOf(fed.tr)); // null only before its root, unless kept
        const start = 1 + pick(t + 1);
        const end = start + pick(t + 2 - start);
        expect(await rangeOf(fed.tr, start, end), `seed ${seed}: txRange(${start}, ${end})`).toEqual(await rangeOf(leader, start, end));
        await settle();
        for (const sync of fed.syncs) if (sync.t <= t) expect(sync.resolved()?.basisT, `seed ${seed}: sync(${sync.t}) at t ${t}`).toBeGreaterThanOrEqual(sync.t);
      };
      await leader.transact(schema).then((r) => reference.set(r.dbAfter.basisT, r.dbAfter));
      let installed = 0;
      const existing = new Set<string>();
      for (let step = 0; step < 140; step++) {
        const fed = followers[pick(followers.length)]!;
        const r = random();
        if (step === 50) await open(); // from the root of the day and the log after it
        if ((step === 30 || step === 80) && installed < later.length) {
          await leader.transact(later[installed++]!).then((report) => reference.set(report.dbAfter.basisT, report.dbAfter));
        } else if (r < 0.4) {
          // Group commits now and then: several transactions in one log entry.
          const reports = await Promise.allSettled(Array.from({ length: 1 + pick(3) }, () => leader.transact(randomTransaction(random, installed, existing))));
          for (const report of reports) if (report.status === 'fulfilled') reference.set(report.value.dbAfter.basisT, report.value.dbAfter);
        } else if (r < 0.6) deliver(fed, random);
        else if (r < 0.67) run(fed, fed.tr.catchUp());
        else if (r < 0.74) run(fed, fed.tr.refreshRoot());
        else if (r < 0.77) await leader.indexNow();
        else if (r < 0.82) {
          const t = leader.db().basisT + pick(3);
          const db = fed.tr.sync(t);
          fed.syncs.push({ t, db, resolved: tracked(db) });
        } else if (r < 0.9) await check(fed);
      }
      // Everything delivered (or read from the log), then every follower on the leader's root.
      await leader.indexNow();
      for (const fed of followers) {
        while (fed.inbox.length > 0) deliver(fed, random);
        run(fed, fed.tr.catchUp());
        await check(fed);
        await fed.tr.refreshRoot();
        expect(fed.tr.db().basisT).toBe(leader.db().basisT);
        expect(fed.tr.nextPosition).toBe(leader.nextPosition);
        expect(rootTOf(fed.tr)).toBe(rootTOf(leader));
        await check(fed);
        for (const sync of fed.syncs) expect((await sync.db).basisT).toBeGreaterThanOrEqual(sync.t);
        // A t the leader has not reached waits, and close answers it.
        const waiting = fed.tr.sync(leader.db().basisT + 1);
        await fed.tr.close();
        await expect(waiting).rejects.toMatchObject({ code: 'client/closed' });
      }
      expect(writes).toEqual([]);
      // Every kind of case came up.
      expect(counts.compared).toBeGreaterThan(10);
      expect(counts.dbAt).toBeGreaterThan(5);
      expect(counts.rootMoves).toBeGreaterThan(3);
      expect(counts.followerMoves).toBeGreaterThan(0);
      await leader.close();
    }
  });

  it('refuses transact, indexNow and gcStorage with cluster/not-leader, and writes nothing to storage', async () => {
    const inner = createMemoryStorage();
    const leader = await Transactor.open(inner, LOG, { indexing });
    await leader.transact(schema);
    const { storage, writes } = readOnly(inner);
    // Indexing options as a leader's, a worker thread included: a follower uses them to read only.
    const follower = await Transactor.open(storage, LOG, { role: 'follower', indexing: { ...indexing, worker: true } });
    expect([leader.role, follower.role]).toEqual(['leader', 'follower']);
    expect(follower.logName).toBe(LOG);
    expect(follower.indexing).toBeNull();
    const refusals = await Promise.allSettled([follower.transact([{ 'user/name': 'ann' }]), follower.indexNow(), follower.gcStorage(new Date())]);
    for (const refusal of refusals) {
      expect(refusal.status).toBe('rejected');
      const error = (refusal as PromiseRejectedResult).reason as FactumError;
      expect(isFactumError(error, 'cluster/not-leader')).toBe(true);
      expect(error.category).toBe('unavailable');
      expect(error.message).toContain(`not the transactor of database ${LOG}`);
      expect(error.data).toEqual({ database: LOG });
    }
    // Fed through several index runs, it stays a reader.
    for (let i = 0; i < 30; i++) await leader.transact([{ 'user/name': `u${i}`, 'user/status': 'x', 'user/tags': ['a', 'b'] }]);
    await leader.indexNow();
    await follower.catchUp();
    expect(await follower.refreshRoot()).toBe(true);
    expect(await follower.refreshRoot()).toBe(false); // not newer
    expect(rootTOf(follower)).toBe(rootTOf(leader));
    expect(await contents(follower.db())).toEqual(await contents(leader.db()));
    await follower.close();
    expect(writes).toEqual([]);
    await leader.close();
  });

  it('refuses a corrupt pushed entry, or one that does not follow, and changes nothing', async () => {
    const storage = createMemoryStorage();
    const leader = await Transactor.open(storage, LOG, { indexing });
    const pushed: Array<{ position: number; bytes: Uint8Array }> = [];
    leader.onCommitted((position, bytes) => pushed.push({ position, bytes }));
    await leader.transact(schema);
    const follower = await Transactor.open(storage, LOG, { role: 'follower', indexing });
    await leader.transact([{ 'user/name': 'ann', 'user/tags': ['a', 'b'] }]);
    const [, entry] = pushed;
    const before = follower.db();
    const damaged = [entry!.bytes.slice(0, entry!.bytes.length - 3), Uint8Array.from(entry!.bytes, (byte, i) => (i === 0 ? 9 : byte)), new Uint8Array(0)];
    for (const bytes of damaged) {
      await expect(follower.applyEntry(entry!.position, bytes)).rejects.toMatchObject({ code: 'storage/corrupt' });
      expect(follower.db()).toBe(before);
      expect(follower.nextPosition).toBe(entry!.position);
    }
    // Well formed, but the entry before it: its t does not follow the basis.
    await expect(follower.applyEntry(entry!.position, pushed[0]!.bytes)).rejects.toMatchObject({ code: 'storage/corrupt' });
    expect(follower.db()).toBe(before);
    // The right bytes then apply, and a second push of them is ignored.
    await follower.applyEntry(entry!.position, entry!.bytes);
    await follower.applyEntry(entry!.position, entry!.bytes);
    expect(follower.db().basisT).toBe(2);
    expect(await contents(follower.db())).toEqual(await contents(leader.db()));
  });

  it('rebuilds dbAt(t) past its newest db values from the novelty after its root, with the schema at t', async () => {
    const storage = createMemoryStorage();
    const leader = await Transactor.open(storage, LOG, { indexing: { ...indexing, noveltyBytesMax: 1e9 } });
    const follower = await Transactor.open(storage, LOG, { role: 'follower', indexing });
    leader.onCommitted((position, bytes) => void follower.applyEntry(position, bytes));
    const reference = new Map<number, Db>([[1, (await leader.transact(schema)).dbAfter]]);
    const random = seededRandom(7);
    const existing = new Set<string>();
    for (let i = 0; i < 100; i++) {
      if (i === 10) await leader.indexNow();
      const transaction = i === 20 ? later[0]! : randomTransaction(random, i > 20 ? 1 : 0, existing);
      const report = await leader.transact(transaction).catch(() => null);
      if (report !== null) reference.set(report.dbAfter.basisT, report.dbAfter);
    }
    await follower.sync(leader.db().basisT);
    expect(await follower.refreshRoot()).toBe(true);
    const rootT = rootTOf(follower);
    expect(rootT).toBeGreaterThan(5);
    expect(leader.db().basisT - rootT).toBeGreaterThan(64); // more than the newest db values kept
    for (const t of [rootT, rootT + 1, rootT + 15, leader.db().basisT - 70, leader.db().basisT]) {
      const at = (await follower.dbAt(t))!;
      expect(at.basisT).toBe(t);
      expect(await contents(at), `dbAt(${t})`).toEqual(await contents(reference.get(t)!));
    }
    expect(await follower.dbAt(rootT - 1)).toBeNull(); // before its root, and not one of the newest
  });

  it('catches up to an entry durable before the call, even while another read of the log runs', async () => {
    const storage = createMemoryStorage();
    const leader = await Transactor.open(storage, LOG, { indexing: false });
    await leader.transact(schema);
    const follower = await Transactor.open(storage, LOG, { role: 'follower', indexing: false });
    const first = follower.catchUp();
    expect(follower.catchUp()).toBe(first); // not started yet: one read answers both
    const t = (await leader.transact([{ 'user/name': 'ann' }])).dbAfter.basisT;
    await follower.catchUp();
    expect(follower.db().basisT).toBe(t);
    await first;
    // A push past the next position reads the log up to it (the pushes between were lost).
    for (let i = 0; i < 3; i++) await leader.transact([{ 'user/name': `u${i}` }]);
    const synced = follower.sync(leader.db().basisT);
    await follower.applyEntry(leader.nextPosition - 1, new Uint8Array(0)); // the log has it: the bytes are not read
    expect((await synced).basisT).toBe(leader.db().basisT);
    expect(await follower.dbAt(t)).toBeDefined();
    expect((await follower.dbAt(t))!.basisT).toBe(t); // kept: indexing is off, yet it is a recent t
    await expect(follower.applyEntry(leader.nextPosition + 1, new Uint8Array(0))).rejects.toMatchObject({ code: 'db/basis-not-reached' });
    expect(await follower.refreshRoot()).toBe(false); // indexing off: no root to move onto
  });
});

describe("a leader's write guard", () => {
  it('refuses the batch it is asked for with its error, writes nothing, and fences the transactor', async () => {
    const storage = createMemoryStorage();
    let refusal: FactumError | null = null;
    let asked = 0;
    const options: TransactorOptions = {
      indexing: false,
      writeGuard: () => {
        asked++;
        return refusal;
      },
    };
    const leader = await Transactor.open(storage, LOG, options);
    const committed: number[] = [];
    leader.onCommitted((position) => committed.push(position));
    await leader.transact(schema);
    await leader.transact([{ 'user/name': 'ann' }]);
    expect(asked).toBe(2); // once before each log write
    expect(committed).toEqual([0, 1]);
    const lost = new FactumError('cluster/lease-lost', 'The transactor lease of db-f ran out before the log write.', { database: LOG });
    refusal = lost;
    const results = await Promise.allSettled([1, 2, 3].map((i) => leader.transact([{ 'user/name': `u${i}` }])));
    for (const result of results) expect(result).toEqual({ status: 'rejected', reason: lost });
    expect(await storage.logLength(LOG)).toBe(2);
    expect(leader.db().basisT).toBe(2);
    // Fenced: refused even once the guard would let it write.
    refusal = null;
    await expect(leader.transact([{ 'user/name': 'bob' }])).rejects.toBe(lost);
    expect(await storage.logLength(LOG)).toBe(2);
    expect(committed).toEqual([0, 1]);
  });

  it('refuses only its batch when it throws', async () => {
    const storage = createMemoryStorage();
    let throws = false;
    const leader = await Transactor.open(storage, LOG, {
      indexing: false,
      writeGuard: () => {
        if (throws) throw new Error('lease unknown');
        return null;
      },
    });
    await leader.transact(schema);
    throws = true;
    await expect(leader.transact([{ 'user/name': 'ann' }])).rejects.toThrow('lease unknown');
    throws = false;
    expect((await leader.transact([{ 'user/name': 'ann' }])).dbAfter.basisT).toBe(2);
  });
});
