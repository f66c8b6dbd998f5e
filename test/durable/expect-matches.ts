// The check every durable test makes: durable trees hold exactly what the memory engine holds.
import { expect } from 'vitest';
import { historyOrders } from '../../nodes/indexer/datom-order.ts';
import type { Indexer } from '../../nodes/indexer/indexer.ts';
import type { Levels } from '../../nodes/indexer/levels.ts';
import type { Db } from '../../nodes/db/index.ts';
import type { Datom } from '../../nodes/datom/datom.ts';
import { indexes, project } from './workload.ts';

export async function collect(iterable: AsyncIterable<Datom>): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const datom of iterable) out.push(project(datom));
  return out;
}

export async function expectMatches(indexer: Indexer, db: Db, trees: Levels = indexer.levels): Promise<void> {
  for (const index of indexes) {
    const current = await collect(indexer.datoms(index, 'current', [], undefined, trees));
    expect(current, `${index} current at t ${db.basisT}`).toEqual([...db.datoms(index)].map(project));
    const history: Datom[] = [];
    for await (const datom of indexer.datoms(index, 'current', [], undefined, trees)) history.push(datom);
    for await (const datom of indexer.datoms(index, 'history', [], undefined, trees)) history.push(datom);
    history.sort(historyOrders[index]);
    expect(history.map(project), `${index} history at t ${db.basisT}`).toEqual([...db.history().datoms(index)].map(project));
  }
}

