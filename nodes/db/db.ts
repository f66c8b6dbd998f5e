//! Db values: an immutable database state plus a view (plain, asOf, since, history).
//!
//! A state holds the datom table, the roots of the current and history trees of each index, the
//! schema and the counters a transaction needs. Views share the state and filter rows on read:
//!
//!   plain      current rows
//!   since(T)   current rows with t > T
//!   asOf(T)    current rows with t <= T, plus history assertions with t <= T not retracted by T
//!   history()  current and history rows, in time order (optionally bounded by asOf/since)
//!
//! The state is shaped for "durable tree + novelty" (DESIGN.md): today all rows are novelty.
import type { Datom, IndexName } from '../datom/datom.ts';
import { toT } from '../datom/datom.ts';
import type { Attribute, Database, EntityRef } from './database.ts';
import { Cursor, keyAt, rank, type Node, type Probe } from '../btree/int-tree.ts';
import { fail } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import { compareValues } from '../values/compare.ts';
import type { Schema } from '../schema/schema.ts';
import { ATTR } from '../schema/bootstrap.ts';
import type { DatomTable } from './datom-table.ts';
import { componentKinds, probeFor, type Orders } from './index-order.ts';
import type { DurableBase } from './durable-base.ts';
import { mergedCount, mergedScan } from './merged.ts';

export type Trees = Readonly<Record<IndexName, Node>>;

export interface DbState {
  readonly table: DatomTable;
  /** Rows of `table` this state may see (the table may have grown since, for another state). */
  readonly tableLength: number;
  readonly orders: Orders;
  readonly basisT: number;
  readonly current: Trees;
  readonly history: Trees;
  readonly schema: Schema;
  /** The next entity number to allocate in the user partition. */
  readonly nextUserN: number;
  /** The next entity number to allocate in the db partition (new attributes go there). */
  readonly nextDbN: number;
  /** The txInstant of the newest transaction, in ms. */
  readonly lastTxInstantMs: number;
  /**
   * The durable trees below this state, or null when every datom is in memory. On a base, the
   * table and trees above hold only novelty: the transactions after `base.t` (merged.ts).
   */
  readonly base: DurableBase | null;
  /**
   * Retraction rows of base facts that novelty retracted, one tree per index order (VAET: refs
   * only), so current-view counts subtract them by rank; empty without a base.
   */
  readonly hidden: Trees;
}

/**
 * The point of an `asOf` or `since` filter: a t, or an instant resolved to a t when a read first
 * needs it. On a durable base that takes a seek in AVET, which may need segments that are not in
 * memory, and only reads can wait for those (durable-base.ts); `asOf` itself stays synchronous.
 * Views derived from one another share the point, so it is resolved once.
 */
class TimePoint {
  private resolved: number | undefined;

  private constructor(
    readonly given: number | Date,
    private readonly resolve: ((instant: Date) => number) | null,
  ) {
    if (typeof given === 'number') this.resolved = given;
  }

  static ofT(t: number): TimePoint {
    return new TimePoint(t, null);
  }

  static ofInstant(instant: Date, resolve: (instant: Date) => number): TimePoint {
    return new TimePoint(new Date(instant.getTime()), resolve);
  }

  get t(): number {
    if (this.resolved === undefined) this.resolved = this.resolve!(this.given as Date);
    return this.resolved;
  }
}

function pointGiven(point: TimePoint | null): number | Date | null {
  if (point === null) return null;
  return point.given instanceof Date ? new Date(point.given.getTime()) : point.given;
}

class View {
  constructor(
    readonly asOf: TimePoint | null,
    readonly since: TimePoint | null,
    readonly isHistory: boolean,
  ) {}

  get asOfT(): number | null {
    return this.asOf === null ? null : this.asOf.t;
  }
  get sinceT(): number | null {
    return this.since === null ? null : this.since.t;
  }
}

const plainView = new View(null, null, false);

export interface TxReport {
  readonly dbBefore: Db;
  readonly dbAfter: Db;
  readonly txData: readonly Datom[];
  readonly tempids: Readonly<Record<string, number>>;
}

export interface TransactOptions {
  /** The transaction's instant when tx-data does not set `:db/txInstant`; defaults to now. */
  readonly now?: Date;
}

type TransactFn = (db: Db, txData: unknown, options?: TransactOptions) => TxReport;
let transactFn: TransactFn | null = null;

/** Installed by the transaction layer (nodes/tx), which sits above this one. */
export function installTransact(fn: TransactFn): void {
  transactFn = fn;
}

export interface DbStats {
  readonly datoms: number;
  readonly attributes: Readonly<Record<string, { readonly count: number }>>;
}

export class Db implements Database {
  readonly state: DbState;
  private readonly view: View;

  constructor(state: DbState, view: View = plainView) {
    this.state = state;
    this.view = view;
  }

  get basisT(): number {
    return this.state.basisT;
  }
  /** The t an `asOf` view is filtered to (an instant is resolved by the first read that needs it). */
  get asOfT(): number | null {
    return this.view.asOfT;
  }
  get sinceT(): number | null {
    return this.view.sinceT;
  }
  /** The point an `asOf` view was given: a t (tx ids become t), or (a copy of) the instant. Never reads. */
  get asOfPoint(): number | Date | null {
    return pointGiven(this.view.asOf);
  }
  get sincePoint(): number | Date | null {
    return pointGiven(this.view.since);
  }
  get isHistory(): boolean {
    return this.view.isHistory;
  }
  get schema(): Schema {
    return this.state.schema;
  }
  get isFiltered(): boolean {
    return this.view !== plainView;
  }

  attribute(ref: number | Keyword): Attribute | undefined {
    return this.state.schema.attribute(ref);
  }

  ident(e: number): Keyword | null {
    return this.state.schema.identById.get(e) ?? null;
  }

  entid(ref: EntityRef): number | null {
    if (typeof ref === 'number') return ref;
    if (ref instanceof Keyword) return this.state.schema.idByIdent.get(ref) ?? null;
    if (Array.isArray(ref) && ref.length === 2) return this.lookup(ref[0], ref[1]);
    return fail('transact/invalid-entity-id', `Expected an entity id, an ident keyword or a lookup ref [attribute value], got ${describe(ref)}.`, { value: ref });
  }

  /** Resolves a lookup ref `[attribute value]`; the attribute must be unique. */
  lookup(attributeRef: unknown, value: unknown): number | null {
    const attribute = this.requireAttribute(attributeRef);
    if (attribute.unique === null) {
      fail('transact/invalid-lookup-ref', `Lookup ref attribute ${attribute.ident} is not unique; a lookup ref needs a :db/unique attribute.`, { attribute: attribute.ident, value });
    }
    const v = attribute.valueType === 'ref' ? this.refValue(value) : value;
    if (v === null) return null;
    if (this.view === plainView && this.state.base === null) {
      // The common case, one seek: the first current AVET row of [a v], if it is one.
      const { table } = this.state;
      const row = new Cursor(this.state.current.avet, probeFor(table, 'avet', [attribute.id, v], false)).peek();
      return row !== -1 && table.a(row) === attribute.id && compareValues(table.v(row), v) === 0 ? table.e(row) : null;
    }
    for (const datom of this.datoms('avet', attribute.id, v)) return datom.e;
    return null;
  }

  /** The attribute named by an ident, id or string; unknown ones are an error. */
  requireAttribute(ref: unknown): Attribute {
    const schema = this.state.schema;
    const attribute = typeof ref === 'string' ? schema.attributeNamed(ref) : typeof ref === 'number' || ref instanceof Keyword ? schema.attribute(ref) : undefined;
    if (attribute === undefined) {
      fail('schema/unknown-attribute', `Unknown attribute ${describe(ref)}: install it with a transaction of :db/ident, :db/valueType and :db/cardinality first.`, { attribute: ref });
    }
    return attribute;
  }

  private refValue(value: unknown): number | null {
    if (typeof value === 'number') return value;
    if (value instanceof Keyword || Array.isArray(value)) return this.entid(value as EntityRef);
    return fail('value/wrong-type', `Expected an entity reference (id, ident or lookup ref), got ${describe(value)}.`, { value });
  }

  datoms(index: IndexName, ...components: unknown[]): Iterable<Datom> {
    const resolved = this.resolveComponents(index, components);
    if (resolved === null) return [];
    return this.scan(index, resolved, resolved, true);
  }

  indexRange(attributeRef: EntityRef, start?: unknown, end?: unknown): Iterable<Datom> {
    const attribute = this.requireAttribute(attributeRef);
    const lower = start === undefined || start === null ? [attribute.id] : [attribute.id, start];
    const upper = end === undefined || end === null ? [attribute.id] : [attribute.id, end];
    return this.scan('avet', lower, upper, end === undefined || end === null);
  }

  count(index: IndexName, ...components: unknown[]): number {
    const resolved = this.resolveComponents(index, components);
    if (resolved === null) return 0;
    if (this.state.base !== null) return mergedCount(this.state, this.view, index, resolved, resolved, true);
    const { table } = this.state;
    const lower = probeFor(table, index, resolved, false);
    const upper = probeFor(table, index, resolved, true);
    const current = this.state.current[index];
    let n = rank(current, upper) - rank(current, lower);
    if (this.view.asOfT !== null || this.view.isHistory) {
      const history = this.state.history[index];
      n += rank(history, upper) - rank(history, lower);
    }
    return n;
  }

  asOf(t: number | Date): Db {
    const { since, isHistory } = this.view;
    return new Db(this.state, new View(this.pointOf(t, 'asOf'), since, isHistory));
  }

  since(t: number | Date): Db {
    const { asOf, isHistory } = this.view;
    return new Db(this.state, new View(asOf, this.pointOf(t, 'since'), isHistory));
  }

  history(): Db {
    const { asOf, since } = this.view;
    return new Db(this.state, new View(asOf, since, true));
  }

  /** Applies tx-data speculatively: the report's dbAfter is a db value nobody else sees. */
  with(txData: unknown, options?: TransactOptions): TxReport {
    if (transactFn === null) throw new Error('the transaction layer (nodes/tx) is not loaded');
    return transactFn(this, txData, options);
  }

  stats(): DbStats {
    const attributes: Record<string, { count: number }> = {};
    for (const attribute of this.state.schema.attributes.values()) {
      const count = this.count('aevt', attribute.id);
      if (count > 0) attributes[attribute.ident.fqn] = { count };
    }
    const { base, current, hidden } = this.state;
    const datoms = current.eavt.size + (base === null ? 0 : base.size('eavt', 'current') - hidden.eavt.size);
    return { datoms, attributes };
  }

  private pointOf(t: number | Date, operation: string): TimePoint {
    if (t instanceof Date) {
      if (Number.isNaN(t.getTime())) fail('db/invalid-t', `${operation} was given an invalid Date.`, { value: t });
      return TimePoint.ofInstant(t, (instant) => this.tAtInstant(instant));
    }
    if (!Number.isSafeInteger(t) || t < 0) {
      fail('db/invalid-t', `${operation} expects a t, a tx id or a Date, got ${describe(t)}.`, { value: t });
    }
    return TimePoint.ofT(toT(t));
  }

  /** The t of the newest transaction whose txInstant is at or before `instant` (0 if none). */
  private tAtInstant(instant: Date): number {
    const { table, current, base } = this.state;
    const upTo = rank(current.avet, probeFor(table, 'avet', [ATTR.txInstant, instant], true));
    const first = rank(current.avet, probeFor(table, 'avet', [ATTR.txInstant], false));
    if (upTo > first) return table.t(keyAt(current.avet, upTo - 1));
    if (base === null) return 0;
    // Novelty's transactions are all newer than the base's: the answer is in the base.
    return base.tAtInstant(instant.getTime());
  }

  /** Resolves idents and lookup refs in components; null when one names nothing. */
  private resolveComponents(index: IndexName, components: readonly unknown[]): unknown[] | null {
    const kinds = componentKinds(index);
    if (components.length > 4) {
      fail('db/invalid-index', `datoms takes at most 4 components after the index, got ${components.length}.`, { components });
    }
    const out: unknown[] = [];
    let attribute: Attribute | undefined;
    for (let i = 0; i < components.length; i++) {
      const c = components[i];
      if (c === undefined) break;
      switch (kinds[i]) {
        case 'e': {
          const e = this.entid(c as EntityRef);
          if (e === null) return null;
          out.push(e);
          break;
        }
        case 'a':
          attribute = this.requireAttribute(c);
          out.push(attribute.id);
          break;
        case 'v': {
          const isRef = index === 'vaet' || attribute?.valueType === 'ref';
          if (isRef && typeof c !== 'number') {
            const e = this.refValue(c);
            if (e === null) return null;
            out.push(e);
          } else {
            out.push(c);
          }
          break;
        }
        case 't':
          out.push(toT(c as number));
          break;
      }
    }
    return out;
  }

  /** Rows between two probes, filtered by the view, as datoms. */
  private scan(index: IndexName, lowerComponents: unknown[], upperComponents: unknown[], upperInclusive: boolean): Iterable<Datom> {
    const { table } = this.state;
    const lower = probeFor(table, index, lowerComponents, false);
    const upper = probeFor(table, index, upperComponents, upperInclusive);
    const { asOfT, sinceT, isHistory } = this.view;
    if (this.state.base !== null) return mergedScan(this.state, this.view, index, lowerComponents, upperComponents, upperInclusive);
    if (!isHistory && asOfT === null) {
      // The common case, without a generator: a plain iterator over one tree.
      return new CurrentScan(table, new Cursor(this.state.current[index], lower), upper, sinceT ?? -1);
    }
    return this.filteredScan(index, lower, upper);
  }

  private *filteredScan(index: IndexName, lower: Probe, upper: Probe): Generator<Datom> {
    const { table, orders } = this.state;
    const { asOfT, sinceT, isHistory } = this.view;
    const current = new Cursor(this.state.current[index], lower);
    const history = new Cursor(this.state.history[index], lower);
    if (isHistory) {
      const inTime = orders.history[index];
      for (const row of mergeRows(current, history, upper, inTime)) {
        const t = table.t(row);
        if ((asOfT === null || t <= asOfT) && (sinceT === null || t > sinceT)) yield table.datom(row);
      }
      return;
    }
    const fact = orders.current[index];
    const visibleCurrent = filterRows(current, upper, (row) => table.t(row) <= asOfT! && (sinceT === null || table.t(row) > sinceT));
    const visibleHistory = asOfHistoryRows(table, history, upper, fact, asOfT!, sinceT);
    for (const row of mergeSorted(visibleCurrent, visibleHistory, fact)) yield table.datom(row);
  }
}

/** Current rows from a cursor up to a bound, newer than `sinceT`, as datoms. */
class CurrentScan implements IterableIterator<Datom> {
  constructor(
    private readonly table: DatomTable,
    private readonly cursor: Cursor,
    private readonly upper: Probe,
    private readonly sinceT: number,
  ) {}

  [Symbol.iterator](): IterableIterator<Datom> {
    return this;
  }

  next(): IteratorResult<Datom> {
    for (let row = this.cursor.next(); row !== -1 && this.upper(row) > 0; row = this.cursor.next()) {
      if (this.sinceT < 0 || this.table.t(row) > this.sinceT) return { value: this.table.datom(row), done: false };
    }
    return { value: undefined, done: true };
  }
}

function* filterRows(cursor: Cursor, upper: Probe, keep: (row: number) => boolean): Generator<number> {
  for (let row = cursor.next(); row !== -1 && upper(row) > 0; row = cursor.next()) if (keep(row)) yield row;
}

/**
 * History rows come grouped by fact, in time order: assert, retract, assert, retract... The
 * fact is visible as of T if its last row at or before T is an assertion.
 */
function* asOfHistoryRows(table: DatomTable, cursor: Cursor, upper: Probe, fact: (x: number, y: number) => number, asOfT: number, sinceT: number | null): Generator<number> {
  let pending = -1;
  for (let row = cursor.next(); row !== -1 && upper(row) > 0; row = cursor.next()) {
    if (pending !== -1 && fact(pending, row) !== 0) {
      yield pending;
      pending = -1;
    }
    const t = table.t(row);
    if (t > asOfT) continue;
    if (table.added(row)) pending = sinceT === null || t > sinceT ? row : -1;
    else pending = -1;
  }
  if (pending !== -1) yield pending;
}

function* mergeRows(a: Cursor, b: Cursor, upper: Probe, order: (x: number, y: number) => number): Generator<number> {
  yield* mergeSorted(filterRows(a, upper, () => true), filterRows(b, upper, () => true), order);
}

function* mergeSorted(a: Iterator<number>, b: Iterator<number>, order: (x: number, y: number) => number): Generator<number> {
  let x = a.next();
  let y = b.next();
  while (!x.done && !y.done) {
    if (order(x.value, y.value) <= 0) {
      yield x.value;
      x = a.next();
    } else {
      yield y.value;
      y = b.next();
    }
  }
  for (; !x.done; x = a.next()) yield x.value;
  for (; !y.done; y = b.next()) yield y.value;
}

/** A short printed form of a value for messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'bigint') return `${value}N`;
  if (value instanceof Keyword) return value.toString();
  if (value instanceof Date) return `#inst "${value.toISOString()}"`;
  if (Array.isArray(value)) return `[${value.slice(0, 8).map(describe).join(' ')}${value.length > 8 ? ' …' : ''}]`;
  if (value instanceof Map) return `{${[...value].slice(0, 8).map(([k, v]) => `${describe(k)} ${describe(v)}`).join(', ')}}`;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return `{${Object.entries(value).slice(0, 8).map(([k, v]) => `${k}: ${describe(v)}`).join(', ')}}`;
  }
  return String(value);
}


/**
 * Trees that answer a lookup without first being brought up to date (tx/deferred-trees.ts): the
 * rows whose leading components equal `components`, in index order.
 */
export interface LookupTrees extends Trees {
  rowsMatching(index: IndexName, components: readonly unknown[]): number[];
}

/** Rows of the current trees matching leading components (already resolved); novelty only on a durable base (there, merged.ts currentFacts). */
export function currentRows(state: DbState, index: IndexName, components: readonly unknown[]): number[] {
  const trees = state.current;
  if ('rowsMatching' in trees) return (trees as LookupTrees).rowsMatching(index, components);
  return treeRows(trees[index], state.table, index, components);
}

/** Rows of one tree whose leading components equal `components`, in index order. */
export function treeRows(tree: Node, table: DatomTable, index: IndexName, components: readonly unknown[]): number[] {
  const rows: number[] = [];
  if (tree.size === 0) return rows;
  const lower = probeFor(table, index, components, false);
  // Sought past the tree's last row (a lookup of a new entity, say): no descent.
  if (lower(tree.maxKey) > 0) return rows;
  const upper = probeFor(table, index, components, true);
  const cursor = new Cursor(tree, lower);
  for (let row = cursor.next(); row !== -1 && upper(row) > 0; row = cursor.next()) rows.push(row);
  return rows;
}
