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
import { FactumError } from '../util/errors.ts';
import { currentOrders, historyOrders, indexNames } from './datom-order.ts';

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

/** Novelty in EAVT order, and within one fact in t order (the log order of the datoms). */
function factOrder(transactions: readonly LoggedTransaction[]): Datom[] {
  const all: Array<{ datom: Datom; order: number }> = [];
  for (const transaction of transactions) for (const datom of transaction.datoms) all.push({ datom, order: all.length });
  all.sort((x, y) => currentOrders.eavt(x.datom, y.datom) || x.order - y.order);
  return all.map((entry) => entry.datom);
}

function sameFact(x: Datom, y: Datom): boolean {
  return x.e === y.e && x.a === y.a && compareValues(x.v, y.v) === 0;
}

interface FactChanges {
  currentAdds: Datom[];
  currentRemoves: Datom[];
  historyAdds: Datom[];
}

async function applyFact(group: readonly Datom[], lookup: DurableLookup, schema: AttributeFacts, out: FactChanges): Promise<void> {
  const first = group[0]!;
  let durable: Datom | null = null;
  if (!first.added) {
    durable = await lookup(first.e, first.a, first.v);
    if (durable === null) {
      throw new FactumError('storage/corrupt', `the log retracts [${first.e} ${first.a} ${String(first.v)}] at tx ${first.tx}, which the durable index does not hold`, { e: first.e, a: first.a, tx: first.tx });
    }
  }
  let asserted: Datom | null = durable;
  for (const datom of group) {
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

function sorted(datoms: readonly Datom[], order: (x: Datom, y: Datom) => number, refsOnly: boolean, schema: AttributeFacts): Datom[] {
  const out = refsOnly ? datoms.filter((d) => schema.isRef(d.a)) : datoms.slice();
  return out.sort(order);
}

export async function editsOf(transactions: readonly LoggedTransaction[], schema: AttributeFacts, lookup: DurableLookup): Promise<IndexEdits> {
  const datoms = factOrder(transactions);
  const changes: FactChanges = { currentAdds: [], currentRemoves: [], historyAdds: [] };
  const groups: Datom[][] = [];
  for (let i = 0; i < datoms.length; ) {
    let j = i + 1;
    while (j < datoms.length && sameFact(datoms[i]!, datoms[j]!)) j++;
    groups.push(datoms.slice(i, j));
    i = j;
  }
  // Groups that need a durable lookup are independent: look them up a batch at a time.
  const BATCH = 256;
  for (let i = 0; i < groups.length; i += BATCH) {
    await Promise.all(groups.slice(i, i + BATCH).map((group) => applyFact(group, lookup, schema, changes)));
  }
  const current = {} as Record<IndexName, TreeEdits>;
  const history = {} as Record<IndexName, TreeEdits>;
  for (const index of indexNames) {
    const refsOnly = index === 'vaet';
    current[index] = {
      adds: sorted(changes.currentAdds, currentOrders[index], refsOnly, schema),
      removes: sorted(changes.currentRemoves, currentOrders[index], refsOnly, schema),
    };
    history[index] = { adds: sorted(changes.historyAdds, historyOrders[index], refsOnly, schema), removes: [] };
  }
  return { current, history, datoms: datoms.length };
}
