// A seeded workload of transactions through the real engine: new people, cardinality-one
// replacements, cardinality-many adds and retracts, refs, retractEntity, a :db/noHistory counter.
// It records every db value and the logged transaction (t, tx-data) that made it.
import { emptyDb, type Db } from '../../nodes/db/index.ts';
import type { Datom, IndexName } from '../../nodes/datom/datom.ts';
import { kw } from '../../nodes/values/values.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import type { LoggedTransaction } from '../../nodes/indexer/novelty.ts';
import { bootstrapTransaction } from '../../nodes/indexer/db-input.ts';

const attr = (ident: string, type: string, more: Record<string, unknown> = {}) => ({
  'db/ident': kw(ident),
  'db/valueType': kw(`db.type/${type}`),
  'db/cardinality': kw(`db.cardinality/${more.many === true ? 'many' : 'one'}`),
  ...Object.fromEntries(Object.entries(more).filter(([k]) => k !== 'many')),
});

export const schemaTx = [
  attr('person/name', 'string'),
  attr('person/age', 'long'),
  attr('person/alias', 'string', { many: true }),
  attr('person/friend', 'ref', { many: true }),
  attr('person/spouse', 'ref'),
  attr('person/tag', 'keyword'),
  attr('person/visits', 'long', { 'db/noHistory': true }),
];

export interface Workload {
  /** dbs[i] is the db value at t = dbs[i].basisT; dbs[0] is the empty db. */
  readonly dbs: Db[];
  /** The logged transaction of each t > 0, in order. */
  readonly transactions: LoggedTransaction[];
}

export function runWorkload(seed: number, count: number, start: Workload = { dbs: [emptyDb()], transactions: [] }): Workload {
  const random = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const dbs = start.dbs.slice();
  const transactions = start.transactions.slice();
  const apply = (txData: unknown): void => {
    const report = dbs[dbs.length - 1]!.with(txData);
    dbs.push(report.dbAfter);
    transactions.push({ t: report.dbAfter.basisT, datoms: report.txData });
  };
  if (dbs.length === 1) apply(schemaTx);
  for (let i = 0; i < count; i++) {
    const db = dbs[dbs.length - 1]!;
    const people = [...db.datoms('aevt', kw('person/name'))].map((d) => d.e);
    apply(people.length < 4 || random() < 0.3 ? newPeople(random, pick, people) : change(random, pick, people, db));
  }
  return { dbs, transactions };
}

/** The tx-data of the workload's next transaction against `db` (its reads may need segments: run under readDb). */
export function nextTxData(random: () => number, db: Db): unknown[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const people = [...db.datoms('aevt', kw('person/name'))].map((d) => d.e);
  return people.length < 4 || random() < 0.3 ? newPeople(random, pick, people) : change(random, pick, people, db);
}

function newPeople(random: () => number, pick: <T>(xs: readonly T[]) => T, people: number[]): unknown[] {
  return Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => ({
    'db/id': `p${i}`,
    'person/name': pick(['Ann', 'Bob', 'Cy', 'Dee']) + Math.floor(random() * 1000),
    'person/age': Math.floor(random() * 90),
    'person/alias': ['x', 'y', 'z'].filter(() => random() < 0.4),
    'person/tag': kw(pick(['tag/a', 'tag/b'])),
    ...(people.length > 0 ? { 'person/friend': [pick(people)] } : {}),
  }));
}

function change(random: () => number, pick: <T>(xs: readonly T[]) => T, people: number[], db: Db): unknown[] {
  const e = pick(people);
  const roll = random();
  if (roll < 0.25) return [['db/add', e, 'person/age', Math.floor(random() * 90)]];
  if (roll < 0.4) return [['db/add', e, 'person/visits', Math.floor(random() * 1_000_000)]];
  if (roll < 0.55) {
    const aliases = [...db.datoms('eavt', e, kw('person/alias'))];
    return aliases.length > 0 && random() < 0.5 ? [['db/retract', e, 'person/alias', pick(aliases).v]] : [['db/add', e, 'person/alias', pick(['x', 'y', 'z', 'w'])]];
  }
  if (roll < 0.7) {
    const friends = [...db.datoms('eavt', e, kw('person/friend'))];
    return friends.length > 0 && random() < 0.5 ? [['db/retract', e, 'person/friend', pick(friends).v]] : [['db/add', e, 'person/friend', pick(people)]];
  }
  if (roll < 0.8) return [['db/add', e, 'person/spouse', pick(people)]];
  if (roll < 0.9) return [['db/add', e, 'person/name', 'Renamed' + Math.floor(random() * 100)]];
  return [['db/retractEntity', e]];
}

export const indexes: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];

export function project(datom: Datom): unknown[] {
  return [datom.e, datom.a, datom.v, datom.tx, datom.added];
}

/** A run's novelty: the transactions after t `after` up to `upTo`, with the bootstrap transaction when `after` < 0. */
export function novelty(workload: Workload, after: number, upTo: number): LoggedTransaction[] {
  return [...(after < 0 ? [bootstrapTransaction()] : []), ...workload.transactions.filter((tx) => tx.t > after && tx.t <= upTo)];
}

/** The error a promise rejects with, or null when it resolves. */
export function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => null,
    (error: unknown) => error,
  );
}
