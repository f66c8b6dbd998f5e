import { describe, expect, it } from 'vitest';
import type { Db } from '../db/db.ts';
import { readDb } from '../db/durable-base.ts';
import { IndexedBase } from '../indexer/indexed-base.ts';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import type { LogEntry, Storage } from '../storage/protocol.ts';
import { seededRandom } from '../util/random.ts';
import { kw } from '../values/values.ts';
import { contents } from './db-contents-test-support.ts';
import { Transactor, type TransactorOptions } from './transactor.ts';

const LOG = 'db-x';
const attribute = (ident: string, valueType: string, more: Record<string, unknown> = {}) => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${valueType}`),
  'db/cardinality': kw('db.cardinality/one'),
  ...more,
});
const schema = [
  attribute('user/name', 'string', { 'db/unique': kw('db.unique/identity') }),
  attribute('user/status', 'string', { 'db/noHistory': true }),
  attribute('user/score', 'long'),
  attribute('user/tags', 'string', { 'db/cardinality': kw('db.cardinality/many'), 'db/noHistory': true }),
  attribute('user/friend', 'ref'),
];
/** Installed later: a db value before them must not know them. */
const later = [[attribute('user/email', 'string')], [attribute('user/level', 'long', { 'db/noHistory': true })]];

/** Counts the log reads after opening. */
function countingReads(inner: Storage): { storage: Storage; reads: () => number } {
  let reads = 0;
  const storage = new Proxy(inner, {
    get(target, property) {
      if (property === 'readLog') {
        return (log: string, start: number, end?: number): AsyncIterable<LogEntry> => {
          reads++;
          return inner.readLog(log, start, end);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  }) as Storage;
  return { storage, reads: () => reads };
}

/** One random transaction: users upserted, noHistory values changed, tags added and retracted. */
function randomTransaction(random: () => number, installed: number, existing: Set<string>): unknown[] {
  const pick = (n: number) => Math.floor(random() * n);
  const out: unknown[] = [];
  const names = new Set<string>();
  for (let k = 1 + pick(3); k > 0; k--) {
    const name = `u${pick(12)}`;
    if (names.has(name)) continue;
    names.add(name);
    const user: Record<string, unknown> = { 'db/id': name, 'user/name': name, 'user/status': `s${pick(4)}` };
    if (random() < 0.5) user['user/score'] = pick(100);
    const friend = `u${pick(12)}`;
    if (random() < 0.3 && existing.has(friend)) user['user/friend'] = [kw('user/name'), friend];
    if (installed >= 1 && random() < 0.5) user['user/email'] = `${name}-${pick(3)}@example.com`;
    if (installed >= 2 && random() < 0.5) user['user/level'] = pick(5);
    out.push(user);
    const tag = pick(5);
    if (random() < 0.5) out.push(['db/add', name, 'user/tags', `t${tag}`]);
    if (random() < 0.3 && existing.has(name)) out.push(['db/retract', [kw('user/name'), name], 'user/tags', `t${(tag + 1 + pick(4)) % 5}`]);
  }
  for (const name of names) existing.add(name);
  return out;
}

describe('dbAt', () => {
  it('gives the exact db value at a past basis t, as transact made it: noHistory values and later attributes included, across index runs', async () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const inner = createMemoryStorage();
      const counting = countingReads(inner);
      const options: TransactorOptions = { indexing: { noveltyBytesMax: 1500, backPressureBytes: 1e9 } };
      const tr = await Transactor.open(counting.storage, LOG, options);
      const readsAtOpen = counting.reads(); // transactions read nothing back: later reads are dbAt's
      const reference = new Map<number, Db>([[0, tr.db()]]);
      const checks = { rebuilt: 0, null: 0, onRealRoot: 0 };
      const check = async (t: number, db: Db | null): Promise<void> => {
        if (db === null) {
          checks.null++;
          return;
        }
        checks.rebuilt++;
        expect(db.basisT).toBe(t);
        expect(await contents(db), `t ${t} with seed ${seed}`).toEqual(await contents(reference.get(t)!));
      };
      // Calls made when an index run ends (before the db value moves onto its root, when novelty
      // after the root is replayed first): the novelty the run covered is gone from memory.
      const atIndexed: Array<{ t: number; db: Promise<Db | null> }> = [];
      tr.indexing!.background.onIndexed((root) => {
        const t = root.t - Math.floor(random() * 3);
        if (t >= 0) atIndexed.push({ t, db: tr.dbAt(t) });
      });
      const onRootT = () => {
        const base = tr.db().state.base;
        return base instanceof IndexedBase ? base.root.t : 0;
      };
      reference.set(1, (await tr.transact(schema)).dbAfter);
      let installed = 0;
      const existing = new Set<string>();
      for (let i = 0; i < 60; i++) {
        if (i === 15 || i === 35) reference.set(tr.db().basisT + 1, (await tr.transact(later[installed++]!)).dbAfter);
        // Group commits now and then: novelty after a root while it is being moved onto.
        const group = random() < 0.3 ? 3 : 1;
        const reports = await Promise.all(Array.from({ length: group }, () => tr.transact(randomTransaction(random, installed, existing))));
        for (const report of reports) reference.set(report.dbAfter.basisT, report.dbAfter);
        const basisT = tr.db().basisT;
        const t = Math.floor(random() * (basisT + 1));
        const rootT = onRootT();
        const [a, b] = await Promise.all([tr.dbAt(t), tr.dbAt(t)]);
        expect(a).toBe(b); // one rebuild for both
        // Null only before the root (unless a rebuild of t is still kept).
        if (t >= rootT) expect(a).not.toBeNull();
        if (rootT > 0 && t > rootT) checks.onRealRoot++;
        await check(t, a);
        // Kept: asked again, the same value (not the current one, which a rebase replaces, nor one at the root the db value has moved onto since).
        if (a !== null && t > rootT && t < basisT && onRootT() < t) expect(await tr.dbAt(t)).toBe(a);
        // A rebuild that a rebase onto a newer root overtakes uses the root it started from.
        if (i % 10 === 9) {
          const from = onRootT();
          const u = from + Math.floor(random() * (tr.db().basisT - from + 1));
          const rebuilding = tr.dbAt(u);
          const unindexed = tr.db().basisT > from;
          await tr.indexNow();
          // Moved unless a background run had already indexed everything (timing decides which).
          if (unindexed) expect(onRootT()).toBeGreaterThan(from);
          else expect(onRootT()).toBe(from);
          await check(u, await rebuilding);
        }
      }
      for (const { t, db } of atIndexed) await check(t, await db);
      // Some rebuilds found the novelty they needed dropped by an index run, and read the log.
      expect(counting.reads()).toBeGreaterThan(readsAtOpen);
      // Every kind of case came up.
      expect(checks.onRealRoot).toBeGreaterThan(5);
      expect(checks.null).toBeGreaterThan(5);
      expect(atIndexed.length).toBeGreaterThan(3);
      // Nothing later than the basis, nothing that is not a t.
      expect(await tr.dbAt(tr.db().basisT + 1)).toBeNull();
      expect(await tr.dbAt(-1)).toBeNull();
      expect(await tr.dbAt(1.5)).toBeNull();
      expect(await tr.dbAt(tr.db().basisT)).toBe(tr.db());
      await tr.close();
    }
  });

  it('knows no attribute installed after t, and keeps noHistory values current at t, unlike asOf', async () => {
    const tr = await Transactor.open(createMemoryStorage(), LOG, { indexing: { noveltyBytesMax: 1e9, backPressureBytes: 1e10 } });
    await tr.transact(schema);
    const at = (await tr.transact([{ 'user/name': 'ann', 'user/status': 'away' }])).dbAfter;
    await tr.indexNow();
    await tr.transact([{ 'user/name': 'ann', 'user/status': 'busy' }]);
    await tr.transact(later[0]!);
    await tr.transact([{ 'user/name': 'ann', 'user/status': 'gone' }]);
    const status = async (db: Db) => readDb(db.state.base, () => [...db.datoms('aevt', kw('user/status'))].map((d) => d.v));
    const t = at.basisT + 1; // the first transaction after the root: rebuilt
    const exact = (await tr.dbAt(t))!;
    expect(await status(exact)).toEqual(['busy']);
    expect(exact.attribute(kw('user/email'))).toBeUndefined();
    // What dbAt is for: the filtered newest db value lost the noHistory value and knows the new attribute.
    const filtered = tr.db().asOf(t);
    expect(await status(filtered)).toEqual([]);
    expect(filtered.attribute(kw('user/email'))).toBeDefined();
    await tr.close();
  });

  it('gives null with indexing off, but for the current basis', async () => {
    const tr = await Transactor.open(createMemoryStorage(), LOG, { indexing: false });
    await tr.transact(schema);
    await tr.transact([{ 'user/name': 'ann' }]);
    expect(await tr.dbAt(1)).toBeNull();
    expect(await tr.dbAt(2)).toBe(tr.db());
  });
});
