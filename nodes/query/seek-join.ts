//! Seek join: a pattern joined on ?e into a relation sorted by ?e, in one forward pass over the
//! index rows its constants select (AEVT[a], or AVET[a v]: both in entity order).
//!
//!   relation (sorted by ?e)   e1 e1 e4 e9 ...
//!   index rows (by e)         e1 e2 e3 e4 e4 e5 ... e9 ...
//!                              ▲        ▲            ▲      gallop forward to each new ?e
//!
//! Per-row lookups descend the index tree once per row; a scan visits every datom and then joins.
//! The seek join walks the selected rows once (row numbers only, no datoms) and gallops from the
//! previous position to each new ?e, so it touches the datoms of matched entities only.
//! Invariants: the relation's ?e column is ascending numbers (`sortedBy`); the index rows are
//! ascending by e, so the position only moves forward (equal ?e values find the same position).
import { Cursor } from '../btree/int-tree.ts';
import { assert } from '../util/assert.ts';
import { Db, type DbState } from '../db/db.ts';
import { probeFor } from '../db/index-order.ts';
import type { DatomTable } from '../db/datom-table.ts';
import type { Database } from '../db/database.ts';
import type { IndexName } from '../datom/datom.ts';
import { boundVariables, chooseIndex, countConstants, entityOrder, isDistinctPattern, PatternScanner, type CompiledPattern } from './pattern.ts';
import type { Relation } from './relation.ts';

/** True when the pattern can be seek-joined into the relation (plain current db, ?e bound only). */
export function canSeekJoin(db: Database, compiled: CompiledPattern, relation: Relation): db is Db {
  if (!(db instanceof Db) || db.isFiltered || compiled.empty || compiled.constants[0] !== undefined) return false;
  const entity = entityOrder(db, compiled);
  if (entity === undefined || relation.sortedBy !== entity) return false;
  const { bound } = boundVariables(compiled, relation.columns);
  return bound.length === 1 && bound[0]!.positions.length === 1 && bound[0]!.positions[0] === 0;
}

export function seekJoin(db: Db, compiled: CompiledPattern, relation: Relation, tick: () => void): Relation {
  const { bound, free } = boundVariables(compiled, relation.columns);
  const column = bound[0]!.column;
  const columns = [...relation.columns, ...free.map((i) => compiled.variables[i]!)];
  const { index, components } = chooseIndex(compiled.constants);
  const state = db.state;
  const indexRows = leadingRows(state, index, components, countConstants(db, compiled));
  const scanner = new PatternScanner(db, compiled, tick);
  const rows: unknown[][] = [];
  let position = 0;
  for (const row of relation.rows) {
    tick();
    const e = row[column] as number;
    position = firstAtOrAfter(state.table, indexRows, position, e);
    let end = position;
    while (end < indexRows.length && state.table.e(indexRows[end]!) === e) end++;
    if (end > position) scanner.visitTableRows(indexRows, position, end, compiled.constants, rows, free, row);
  }
  return { columns, rows, distinct: relation.distinct === true && isDistinctPattern(db, compiled), sortedBy: relation.sortedBy };
}

/** The first position at or after `from` whose entity is >= e (galloping, then binary search). */
function firstAtOrAfter(table: DatomTable, indexRows: readonly number[], from: number, e: number): number {
  const n = indexRows.length;
  if (from >= n || table.e(indexRows[from]!) >= e) return from;
  // Invariant: the entity at `low` is < e; the one at `high` is >= e, or high is n.
  let low = from;
  let step = 1;
  let high = low + 1;
  while (high < n && table.e(indexRows[high]!) < e) {
    low = high;
    step *= 2;
    high = low + step;
  }
  if (high > n) high = n;
  while (high - low > 1) {
    const middle = (low + high) >>> 1;
    if (table.e(indexRows[middle]!) < e) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * The `count` rows from the first one whose leading components are `components`: the count is
 * known (an index count), so the walk compares nothing per row.
 */
function leadingRows(state: DbState, index: IndexName, components: readonly unknown[], count: number): number[] {
  const cursor = new Cursor(state.current[index], probeFor(state.table, index, components, false));
  const rows = new Array<number>(count);
  for (let i = 0; i < count; i++) rows[i] = cursor.next();
  // The count and the walk agree: the last row is in the range and the next one is not.
  const upper = probeFor(state.table, index, components, true);
  const after = cursor.next();
  assert((count === 0 || (rows[count - 1]! !== -1 && upper(rows[count - 1]!) > 0)) && (after === -1 || upper(after) <= 0), 'index count and rows disagree');
  return rows;
}
