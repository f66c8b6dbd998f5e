//! Transaction processing: tx-data in, a new db value and its report out. Nothing is changed
//! unless every check passes: the new state is built on the side and returned whole.
//!
//!   1. expand      forms and maps into add/retract/retractEntity/cas/ensure (forms.ts)
//!   2. resolve     idents and lookup refs (against db-before), upserts, then new entity ids
//!   3. generate    datoms: redundancy elimination, cardinality-one replacement, conflicts
//!   4. derive      composite tuples, :db/txInstant
//!   5. check       uniqueness, attribute predicates, schema changes (schema-change.ts)
//!   6. apply       rows into the table and trees (apply.ts); then entity specs on db-after
//!
//! Every transaction function, lookup ref and :db/cas sees db-before, as in Datomic.
import { SegmentNotResident } from '../btree/durable-tree.ts';
import type { Datom } from '../datom/datom.ts';
import { PART_DB, PART_TX, PART_USER, entityId, partitionOf, txOfT } from '../datom/datom.ts';
import type { Attribute } from '../db/database.ts';
import { Db, describe, installTransact, type TransactOptions, type TxReport } from '../db/db.ts';
import { currentFact, currentFacts, type CurrentFact } from '../db/merged.ts';
import { RowDatom } from '../db/datom-table.ts';
import { ATTR } from '../schema/bootstrap.ts';
import type { Schema } from '../schema/schema.ts';
import { fail } from '../util/errors.ts';
import { valueKey, valuesEqual } from '../values/compare.ts';
import { Keyword } from '../values/values.ts';
import { applyTransaction, type Fact } from './apply.ts';
import { EntityAttributeMap, FactMap } from './fact-map.ts';
import { coerceScalar, coerceTuple } from './coerce.ts';
import { FormExpander, TempId, type Operation } from './forms.ts';
import { attributePredicate, entityPredicate } from './functions.ts';
import { schemaChanges } from './schema-change.ts';
import { resolveTempids, type Coercion, type Resolution } from './tempids.ts';

export function transact(db: Db, txData: unknown, options?: TransactOptions): TxReport {
  if (db.isFiltered) {
    fail('transact/malformed', 'Cannot transact against an asOf, since or history db value; use the current db.', {});
  }
  const tx = new Transaction(db);
  tx.run(txData, options?.now?.getTime() ?? Date.now());
  return tx.report();
}

installTransact(transact);

const noTempids: ReadonlyMap<string, number> = new Map();
/** The empty list of entity specs to check, shared: never pushed to. */
const none: Array<{ e: number; spec: unknown }> = [];

/** The instant the latest transaction without its own :db/txInstant got. */
let recentInstant = new Date(0);

function txInstantNotCurrent(x: Fact): never {
  return fail('transact/tx-instant-not-current', `:db/txInstant can only be asserted on the transaction being made (datomic.tx), not changed on entity ${x.e} afterwards; transaction instants are fixed once written.`, { e: x.e, txInstant: x.v });
}

/**
 * A transaction's report. Most reports of `with` are read for db-after alone: the datoms and the
 * tempids record are made on first read.
 */
class Report implements TxReport {
  private datoms: Datom[] | null = null;
  private named: Readonly<Record<string, number>> | null = null;

  constructor(
    readonly dbBefore: Db,
    readonly dbAfter: Db,
    private readonly resolved: ReadonlyMap<string, number>,
    private readonly from: number,
    private readonly to: number,
  ) {}

  get txData(): readonly Datom[] {
    return (this.datoms ??= this.dbAfter.state.table.datoms(this.from, this.to));
  }

  get tempids(): Readonly<Record<string, number>> {
    if (this.named === null) {
      const named: Record<string, number> = {};
      this.resolved.forEach((id, name) => (named[name] = id)); // not for-of: see tempids.ts
      this.named = named;
    }
    return this.named;
  }
}

/** The composite tuple attributes of a schema, found once per schema (schemas change rarely). */
const compositesBySchema = new WeakMap<Schema, readonly Attribute[]>();
function compositeAttributes(schema: Schema): readonly Attribute[] {
  let composites = compositesBySchema.get(schema);
  if (composites === undefined) {
    composites = [...schema.attributes.values()].filter((x) => x.tupleAttrs !== null);
    compositesBySchema.set(schema, composites);
  }
  return composites;
}

class Transaction implements Coercion {
  private readonly state;
  readonly t: number;
  readonly txId: number;
  /** Asserted facts by fact key (redundant ones removed before apply). */
  private readonly assertions = new FactMap<Fact>();
  /** Retracted facts by fact key, each with its current row. */
  private readonly retractions = new FactMap<Fact & { row: number }>();
  /**
   * Retractions of facts that are not in db-before: they change nothing, but asserting the same
   * fact in the same transaction is still a conflict (Datomic: "Two datoms in the same transaction
   * conflict"). Made on the first one.
   */
  private absentRetractions: FactMap<Fact> | null = null;
  /** Card-one values asserted in this transaction, by `e a`. */
  private readonly cardOne = new EntityAttributeMap<unknown>();
  private ensures: Array<{ e: number; spec: unknown }> = none;
  private tempids: ReadonlyMap<string, number> = noTempids;
  private dbAfter: Db | null = null;
  /** The transaction's rows in db-after's table: its datoms. */
  private from = 0;
  private to = 0;

  constructor(private readonly db: Db) {
    this.state = db.state;
    this.t = db.state.basisT + 1;
    this.txId = txOfT(this.t);
  }

  run(txData: unknown, nowMs: number): void {
    const expander = new FormExpander(this.db);
    expander.expand(txData);
    const resolution = resolveTempids(this.db, expander.operations, expander.namedTempids(), this.txId, this);
    this.tempids = resolution.named;
    const operations = resolution.operations;
    for (let k = 0; k < operations.length; k++) this.generate(operations[k]!, resolution); // not for-of: see tempids.ts
    this.eliminateRedundancy();
    this.deriveCompositeTuples();
    this.setTxInstant(nowMs);
    this.checkUniqueness();
    this.checkPredicates();
    const assertions = this.assertions.values();
    const retractions = this.retractions.values();
    const schema = schemaChanges(this.db, assertions, retractions);
    const counters = { userN: resolution.nextUserN, dbN: resolution.nextDbN };
    const next = applyTransaction(this.state, this.t, assertions, retractions, schema, counters, this.txInstantMs);
    this.dbAfter = new Db(next.state);
    this.from = next.from;
    this.to = next.to;
    this.checkEnsures();
  }

  report(): TxReport {
    return new Report(this.db, this.dbAfter!, this.tempids, this.from, this.to);
  }

  /** Resolves an entity position other than a tempid: an id that exists, an ident, a lookup ref. */
  entity(e: unknown): number {
    if (typeof e === 'number') {
      if (!this.exists(e)) {
        fail('transact/invalid-entity-id', `Entity id ${e} does not name an entity in this database; use a tempid (a string) to create one.`, { e });
      }
      return e;
    }
    if (e instanceof Keyword) {
      const id = this.state.schema.idByIdent.get(e);
      if (id === undefined) fail('schema/unknown-ident', `Unknown ident ${e}: no entity has it as :db/ident.`, { ident: e.toString() });
      return id;
    }
    if (Array.isArray(e) && e.length === 2) {
      const id = this.db.lookup(e[0], e[1]);
      if (id === null) fail('transact/invalid-lookup-ref', `Lookup ref ${describe(e)} names no entity (lookup refs resolve against the db before the transaction).`, { lookupRef: e });
      return id;
    }
    return fail('transact/invalid-entity-id', `Expected an entity id, a tempid string, an ident or a lookup ref, got ${describe(e)}.`, { e });
  }

  private exists(e: number): boolean {
    if (!Number.isSafeInteger(e) || e < 0) return false;
    const partition = partitionOf(e);
    const n = e - entityId(partition, 0);
    if (partition === PART_USER) return n < this.state.nextUserN;
    if (partition === PART_TX) return n <= this.state.basisT;
    if (partition === PART_DB) return n < this.state.nextDbN;
    return false;
  }

  /** Coerces a value for an attribute; refs may be ids, idents or lookup refs (tempids are handled by the caller). */
  value(attribute: Attribute, v: unknown): unknown {
    if (v === null || v === undefined) {
      fail('value/wrong-type', `Value for ${attribute.ident} is missing (nil); to remove a value, retract it.`, { attribute: attribute.ident.toString(), value: v ?? null });
    }
    if (attribute.valueType === 'ref') return this.entity(v);
    if (attribute.valueType === 'tuple') return coerceTuple(attribute, v);
    return coerceScalar(attribute, attribute.valueType, v);
  }

  private generate(operation: Operation, resolution: Resolution): void {
    switch (operation.op) {
      case 'add': {
        const e = resolution.resolve(operation.e) as number;
        const v = resolution.resolve(operation.v);
        // An add whose id and value are final is its own fact: one object fewer per datom.
        return this.assert(e, operation.attribute, v, e === operation.e && v === operation.v ? (operation as Fact) : null);
      }
      case 'retract':
        return this.retract(resolution.resolve(operation.e) as number, operation.attribute, operation.hasValue ? resolution.resolve(operation.v) : undefined, operation.hasValue);
      case 'retractEntity':
        return this.retractEntity(resolution.resolve(operation.e) as number, new Set());
      case 'cas':
        return this.compareAndSwap(resolution.resolve(operation.e) as number, operation.attribute, operation.old, resolution.resolve(operation.v));
      case 'ensure':
        (this.ensures === none ? (this.ensures = []) : this.ensures).push({ e: resolution.resolve(operation.e) as number, spec: operation.spec });
        return;
    }
  }

  /** Asserts [e attribute v]; `fact` is an object holding exactly those, when the caller has one. */
  private assert(e: number, attribute: Attribute, v: unknown, fact: Fact | null = null): void {
    const a = attribute.id;
    if (this.retractions.has(e, a, v) || this.absentRetractions?.has(e, a, v) === true) this.datomConflict(e, attribute, v);
    if (attribute.cardinality === 'one') {
      if (this.cardOne.has(e, a) && !valuesEqual(this.cardOne.get(e, a), v)) {
        fail('transact/cardinality-conflict', `Two values for cardinality-one ${attribute.ident} of entity ${e} in one transaction: ${describe(this.cardOne.get(e, a))} and ${describe(v)}.`, { e, attribute: attribute.ident.toString(), values: [this.cardOne.get(e, a), v] });
      }
      this.cardOne.set(e, a, v);
    }
    this.assertions.set(fact ?? { e, attribute, v });
  }

  private retract(e: number, attribute: Attribute, v: unknown, hasValue: boolean): void {
    const a = attribute.id;
    if (!hasValue) {
      for (const fact of currentFacts(this.state, 'eavt', [e, a])) this.retractFact(e, attribute, fact);
      return;
    }
    const fact = currentFact(this.state, e, a, v);
    if (fact !== null) return this.retractFact(e, attribute, fact);
    // Retracting a fact that is not there changes nothing, but it still conflicts with asserting it.
    if (this.assertions.has(e, a, v)) this.datomConflict(e, attribute, v);
    (this.absentRetractions ??= new FactMap()).set({ e, attribute, v });
  }

  /** Retracts a current fact of entity `e`. */
  private retractFact(e: number, attribute: Attribute, fact: CurrentFact): void {
    const value = fact.v;
    if (this.assertions.has(e, attribute.id, value)) this.datomConflict(e, attribute, value);
    this.retractions.set({ e, attribute, v: value, row: fact.row });
  }

  private retractEntity(e: number, seen: Set<number>): void {
    if (seen.has(e)) return;
    seen.add(e);
    const { schema } = this.state;
    for (const fact of currentFacts(this.state, 'eavt', [e])) {
      const attribute = schema.attribute(fact.a)!;
      this.retractFact(e, attribute, fact);
      if (attribute.isComponent) this.retractEntity(fact.v as number, seen);
    }
    for (const fact of currentFacts(this.state, 'vaet', [e])) {
      this.retractFact(fact.e, schema.attribute(fact.a)!, fact);
    }
  }

  private compareAndSwap(e: number, attribute: Attribute, old: unknown, v: unknown): void {
    const facts = currentFacts(this.state, 'eavt', [e, attribute.id]);
    const actual = facts.length === 0 ? null : facts[0]!.v;
    const expected = old === null || old === undefined ? null : this.value(attribute, old);
    if (!(actual === null ? expected === null : expected !== null && valuesEqual(actual, expected))) {
      fail('transact/cas-failed', `:db/cas failed on ${attribute.ident} of entity ${e}: expected ${describe(expected)}, found ${describe(actual)}.`, { e, attribute: attribute.ident.toString(), expected, actual });
    }
    this.assert(e, attribute, v);
  }

  private datomConflict(e: number, attribute: Attribute, v: unknown): never {
    return fail('transact/datom-conflict', `The transaction both asserts and retracts [${e} ${attribute.ident} ${describe(v)}].`, { e, attribute: attribute.ident.toString(), value: v });
  }

  /** Drops assertions already true in db-before; retracts the old value of a replaced cardinality-one attribute. */
  private eliminateRedundancy(): void {
    for (const fact of this.assertions.values()) {
      const { e, attribute, v } = fact;
      if (!this.exists(e)) continue; // an entity new in this transaction has no datoms in db-before
      if (attribute.cardinality === 'many') {
        if (currentFact(this.state, e, attribute.id, v) !== null) this.assertions.delete(e, attribute.id, v);
        continue;
      }
      for (const { v: old, row } of currentFacts(this.state, 'eavt', [e, attribute.id])) {
        if (valuesEqual(old, v)) this.assertions.delete(e, attribute.id, v);
        else this.retractions.set({ e, attribute, v: old, row });
      }
    }
  }

  /** Keeps composite tuples in step with the attributes they collect. */
  private deriveCompositeTuples(): void {
    const composites = compositeAttributes(this.state.schema);
    if (composites.length === 0) return;
    const touched = new Map<string, { e: number; composite: Attribute }>();
    for (const fact of [...this.assertions.values(), ...this.retractions.values()]) {
      for (const composite of composites) {
        if (composite.tupleAttrs!.includes(fact.attribute.id)) touched.set(`${fact.e} ${composite.id}`, { e: fact.e, composite });
      }
    }
    for (const { e, composite } of touched.values()) {
      const value = composite.tupleAttrs!.map((a) => this.valueAfter(e, a));
      const facts = currentFacts(this.state, 'eavt', [e, composite.id]);
      const old = facts.length > 0 ? facts[0]!.v : null;
      if (value.every((x) => x === null)) {
        if (old !== null) this.retractions.set({ e, attribute: composite, v: old, row: facts[0]!.row });
      } else if (old === null || !valuesEqual(old, value)) {
        const tuple = Object.freeze(value);
        this.assertions.set({ e, attribute: composite, v: tuple });
        if (old !== null) this.retractions.set({ e, attribute: composite, v: old, row: facts[0]!.row });
      }
    }
  }

  /** The value of cardinality-one attribute `a` of `e` once this transaction applies, or null. */
  private valueAfter(e: number, a: number): unknown {
    if (this.cardOne.has(e, a)) return this.cardOne.get(e, a);
    for (const { v } of currentFacts(this.state, 'eavt', [e, a])) {
      if (!this.retractions.has(e, a, v)) return v;
    }
    return null;
  }

  private txInstantMs = 0;

  private setTxInstant(nowMs: number): void {
    // A transaction's instant is set once, by the transaction itself: instants never go
    // backwards along t, which asOf/since an instant rely on (one index seek).
    // Indexed loops, not for-of: see tempids.ts.
    if (this.retractions.size > 0) {
      const retractions = this.retractions.values();
      for (let k = 0; k < retractions.length; k++) if (retractions[k]!.attribute.id === ATTR.txInstant) txInstantNotCurrent(retractions[k]!);
    }
    const last = this.state.lastTxInstantMs;
    let given: Fact | undefined;
    const assertions = this.assertions.values();
    for (let k = 0; k < assertions.length; k++) {
      const x = assertions[k]!;
      if (x.attribute.id !== ATTR.txInstant) continue;
      if (x.e !== this.txId) txInstantNotCurrent(x);
      given = x;
    }
    // The instant the transaction gets when it sets none: the transactor's clock, or the previous
    // transaction's instant if the clock is behind it.
    const clockMs = Math.max(nowMs, last);
    if (given !== undefined) {
      // Datomic: "you must choose a :db/txInstant value that is not older than any existing
      // transaction, and not newer than the transactor's clock time." A later one would make
      // asOf/since a Date name a future that has not happened, and hold every later transaction
      // to it. No tolerance: Datomic's documentation gives none.
      const ms = (given.v as Date).getTime();
      if (ms < last) {
        fail('transact/tx-instant-in-past', `:db/txInstant ${describe(given.v)} is before the previous transaction's ${new Date(last).toISOString()}; transaction instants never go backwards.`, { txInstant: given.v, previous: new Date(last) });
      }
      if (ms > clockMs) {
        fail('transact/tx-instant-in-future', `:db/txInstant ${describe(given.v)} is later than the transactor's clock, ${new Date(clockMs).toISOString()}; an explicit instant must be between the previous transaction's ${new Date(last).toISOString()} and now.`, { txInstant: given.v, now: new Date(clockMs), previous: new Date(last) });
      }
      this.txInstantMs = ms;
      return;
    }
    this.txInstantMs = clockMs;
    const attribute = this.state.schema.attribute(ATTR.txInstant)!;
    // Transactions within one millisecond (a run of `with`) share one Date, a value like any other.
    if (recentInstant.getTime() !== this.txInstantMs) recentInstant = new Date(this.txInstantMs);
    const v = recentInstant;
    this.assertions.set({ e: this.txId, attribute, v });
  }

  private checkUniqueness(): void {
    let holders: Map<string, number> | null = null;
    for (const { e, attribute, v } of this.assertions.values()) {
      if (attribute.unique === null) continue;
      holders ??= new Map();
      const key = `${attribute.id} ${String(valueKey(v))}`;
      const other = holders.get(key);
      if (other !== undefined && other !== e) this.uniqueConflict(attribute, v, e, other);
      holders.set(key, e);
      for (const { e: holder } of currentFacts(this.state, 'avet', [attribute.id, v])) {
        if (holder !== e && !this.retractions.has(holder, attribute.id, v)) this.uniqueConflict(attribute, v, e, holder);
      }
    }
  }

  private uniqueConflict(attribute: Attribute, v: unknown, e: number, holder: number): never {
    return fail('transact/unique-conflict', `Unique ${attribute.ident} value ${describe(v)} already belongs to entity ${holder}; entity ${e} cannot have it too.`, { attribute: attribute.ident.toString(), value: v, e, holder });
  }

  private checkPredicates(): void {
    for (const { e, attribute, v } of this.assertions.values()) {
      for (const name of attribute.preds) {
        const pred = attributePredicate(name);
        if (pred === undefined) {
          fail('transact/unknown-function', `Attribute predicate ${name} of ${attribute.ident} is not registered; register it with registerAttributePredicate.`, { function: name, attribute: attribute.ident.toString() });
        }
        let ok = false;
        try {
          ok = pred(v) === true;
        } catch (error) {
          if (error instanceof SegmentNotResident) throw error; // a durable read: readDb loads and reruns
          ok = false;
        }
        if (!ok) {
          fail('transact/predicate-failed', `Value ${describe(v)} of ${attribute.ident} for entity ${e} fails predicate ${name}.`, { e, attribute: attribute.ident.toString(), value: v, predicate: name });
        }
      }
    }
  }

  private checkEnsures(): void {
    const db = this.dbAfter!;
    for (const { e, spec } of this.ensures) {
      const specId = typeof spec === 'number' ? spec : db.entid(spec as Keyword);
      const specName = describe(spec);
      if (specId === null) fail('schema/unknown-ident', `Entity spec ${specName} does not exist.`, { spec });
      const required = [...db.datoms('eavt', specId, ATTR.entityAttrs)].map((d) => d.v as Keyword);
      const missing = required.filter((a) => db.count('eavt', e, a) === 0);
      if (missing.length > 0) {
        fail('transact/entity-spec-failed', `Entity ${e} fails spec ${specName}: missing required ${missing.join(', ')}.`, { e, spec, missing: missing.map(String) });
      }
      for (const d of db.datoms('eavt', specId, ATTR.entityPreds)) {
        const name = (d.v as { fqn: string }).fqn;
        const pred = entityPredicate(name);
        if (pred === undefined) fail('transact/unknown-function', `Entity predicate ${name} of spec ${specName} is not registered; register it with registerEntityPredicate.`, { function: name });
        let ok = false;
        try {
          ok = pred(db, e) === true;
        } catch (error) {
          if (error instanceof SegmentNotResident) throw error; // a durable read: readDb loads and reruns
          ok = false;
        }
        if (!ok) fail('transact/entity-spec-failed', `Entity ${e} fails spec ${specName}: predicate ${name} returned false.`, { e, spec, predicate: name });
      }
    }
  }
}

export { TempId, RowDatom };
