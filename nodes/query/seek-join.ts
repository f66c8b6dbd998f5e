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
import { Db } from '../db/db.ts';
import type { DatomTable } from '../db/datom-table.ts';
import type { Database } from '../db/database.ts';
import { boundVariables, chooseIndex, countConstants, countedRows, entityOrder, isDistinctPattern, PatternScanner, type CompiledPattern } from './pattern.ts';
import type { Relation } from './relation.ts';

/** True when the pattern can be seek-joined into the relation (plain current db, ?e bound only). */
export function canSeekJoin(db: Database, compiled: CompiledPattern, relation: Relation): db is Db {
  if (!(db instanceof Db) || db.isFiltered || db.state.base !== null || compiled.empty || compiled.constants[0] !== undefined) return false;
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
  const indexRows = countedRows(state, index, components, countConstants(db, compiled));
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
