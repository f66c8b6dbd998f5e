//! From novelty (the logged transactions after the last root) to the edits of the eight trees.
//!
//! Novelty is grouped by fact [e a v] and read in t order. A fact's datoms alternate: assert,
//! retract, assert… A group that starts with a retraction was current at the last root, so its
//! assertion is in the durable current tree (found by one EAVT lookup). Then:
//!
//!   current tree   remove the durable assertion if the fact was retracted (or re-asserted);
//!                  add the last assertion if the fact is current at the new basis
//!   history tree   add every retracted assertion and its retraction (unless :db/noHistory was
//!                  on when it was retracted)
//!
//! Each index takes its edits sorted by its own order; VAET takes only datoms of ref attributes.
import type { Datom, IndexName } from '../datom/datom.ts';
import { compareValues } from '../values/compare.ts';
import { stableOrder } from '../util/stable-order.ts';
import { FactumError } from '../util/errors.ts';
import { currentOrders, indexNames } from './datom-order.ts';

export interface LoggedTransaction {
  readonly t: number;
  readonly datoms: readonly Datom[];
}

/** What the indexer needs to know of the schema at the new basis. */
export interface AttributeFacts {
  isRef(a: number): boolean;
  /**
   * True when a retraction (and the assertion it retracts) went into history: :db/noHistory was
   * off for its attribute when it happened (the setting may have changed since).
   */
  keepsHistory(retraction: Datom): boolean;
}

export interface TreeEdits {
  readonly adds: Datom[];
  readonly removes: Datom[];
}

export interface IndexEdits {
  readonly current: Record<IndexName, TreeEdits>;
  readonly history: Record<IndexName, TreeEdits>;
  /** The number of datoms of novelty. */
  readonly datoms: number;
}

/** Finds the durable assertion of a fact current at the last root, or null. */
export type DurableLookup = (e: number, a: number, v: unknown) => Promise<Datom | null>;

/**
 * Novelty in EAVT order, and within one fact in t order (the log order of the datoms): a stable
 * sort of the datoms in t order (each transaction's datoms are runs the sort merges).
 */
function factOrder(transactions: readonly LoggedTransaction[]): Datom[] {
  const all: Datom[] = [];
  for (const transaction of transactions) for (const datom of transaction.datoms) all.push(datom);
  return all.sort(currentOrders.eavt);
}

function sameFact(x: Datom, y: Datom): boolean {
  return x.e === y.e && x.a === y.a && compareValues(x.v, y.v) === 0;
}

interface FactChanges {
  readonly currentAdds: Datom[];
  readonly currentRemoves: Datom[];
  readonly historyAdds: Datom[];
}

/** The changes of one fact: its datoms of novelty `datoms[from..to)` in t order, and its durable assertion if it has one. */
function applyFact(datoms: readonly Datom[], from: number, to: number, durable: Datom | null, schema: AttributeFacts, out: FactChanges): void {
  let asserted: Datom | null = durable;
  for (let i = from; i < to; i++) {
    const datom = datoms[i]!;
    if (datom.added) {
      asserted = datom;
      continue;
    }
    if (asserted !== null && schema.keepsHistory(datom)) out.historyAdds.push(asserted, datom);
    asserted = null;
  }
  if (durable !== null && asserted !== durable) out.currentRemoves.push(durable);
  if (asserted !== null && asserted !== durable) out.currentAdds.push(asserted);
}

/** `datoms` in key order, those with equal keys in their original order (nodes/util/stable-order.ts). */
export function stableByKey(datoms: readonly Datom[], valueOf: (datom: Datom) => unknown): Datom[] {
  const order = stableOrder(datoms.map(valueOf));
  const out = new Array<Datom>(datoms.length);
  for (let i = 0; i < datoms.length; i++) out[i] = datoms[order[i]!]!;
  return out;
}

/** Datoms in AEVT order to AVET order: within each attribute, a stable sort by value (e and t stay in order). */
function byValueWithinAttribute(datoms: readonly Datom[]): Datom[] {
  const out: Datom[] = [];
  for (let i = 0; i < datoms.length; ) {
    let j = i + 1;
    while (j < datoms.length && datoms[j]!.a === datoms[i]!.a) j++;
    if (j - i === 1) out.push(datoms[i]!);
    else for (const datom of stableByKey(datoms.slice(i, j), (d) => d.v)) out.push(datom);
    i = j;
  }
  return out;
}

/** Datoms of ref attributes in AEVT order to VAET order: a stable sort by the referenced entity. */
function byReferencedEntity(datoms: readonly Datom[], schema: AttributeFacts): Datom[] {
  return stableByKey(
    datoms.filter((d) => schema.isRef(d.a)),
    (d) => d.v,
  );
}

/**
 * The four orders of `eavt` (datoms in EAVT order, current or history). The trees check the
 * order of their edits as they take them (`mergeTree`: strictly ascending, or the run fails with
 * an AssertionError), so the regrouping is not checked twice here.
 */
function allOrders(eavt: Datom[], schema: AttributeFacts): Record<IndexName, Datom[]> {
  const aevt = stableByKey(eavt, (d) => d.a); // EAVT regrouped by attribute
  return {
    eavt,
    aevt,
    avet: byValueWithinAttribute(aevt),
    vaet: byReferencedEntity(aevt, schema),
  };
}

export async function editsOf(transactions: readonly LoggedTransaction[], schema: AttributeFacts, lookup: DurableLookup): Promise<IndexEdits> {
  const datoms = factOrder(transactions);
  // Facts as ranges [starts[i], starts[i + 1]) of `datoms`.
  const starts: number[] = [];
  for (let i = 0; i < datoms.length; i++) if (i === 0 || !sameFact(datoms[i - 1]!, datoms[i]!)) starts.push(i);
  starts.push(datoms.length);
  // A fact whose novelty starts with a retraction was current at the last root: its durable
  // assertion is looked up, a batch of independent lookups at a time.
  const durables = new Map<number, Datom>();
  const needing = starts.slice(0, -1).filter((start) => !datoms[start]!.added);
  const BATCH = 256;
  for (let i = 0; i < needing.length; i += BATCH) {
    await Promise.all(
      needing.slice(i, i + BATCH).map(async (start) => {
        const first = datoms[start]!;
        const durable = await lookup(first.e, first.a, first.v);
        if (durable === null) {
          throw new FactumError('storage/corrupt', `the log retracts [${first.e} ${first.a} ${String(first.v)}] at tx ${first.tx}, which the durable index does not hold`, { e: first.e, a: first.a, tx: first.tx });
        }
        durables.set(start, durable);
      }),
    );
  }
  // Facts in EAVT order give changes in EAVT order (history: within a fact, in t order).
  const changes: FactChanges = { currentAdds: [], currentRemoves: [], historyAdds: [] };
  for (let f = 0; f + 1 < starts.length; f++) applyFact(datoms, starts[f]!, starts[f + 1]!, durables.get(starts[f]!) ?? null, schema, changes);
  const adds = allOrders(changes.currentAdds, schema);
  const removes = allOrders(changes.currentRemoves, schema);
  const historyAdds = allOrders(changes.historyAdds, schema);
  const current = {} as Record<IndexName, TreeEdits>;
  const history = {} as Record<IndexName, TreeEdits>;
  for (const index of indexNames) {
    current[index] = { adds: adds[index], removes: removes[index] };
    history[index] = { adds: historyAdds[index], removes: [] };
  }
  return { current, history, datoms: datoms.length };
}
