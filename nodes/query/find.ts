//! :find — the relation produced by :where becomes the result.
//!
//! Without aggregates the rows are projected onto the :find (and :with) variables as a set, then
//! the :with columns are dropped (so duplicates they distinguish remain, as in Datomic). With
//! aggregates the same set is grouped by the non-aggregate elements and each aggregate gets the
//! bag of its variable's values in the group.
//!
//! Shapes (decided for factum, see docs/differences.md):
//!   relation   [[a b] ...]          array of arrays (rows unique as a set)
//!   collection [a ...]              array
//!   tuple      [a b]                one array, or null when there is no row
//!   scalar     a .                  the value, or null
//!   :keys      relation rows as plain objects keyed by the given names
//! Pull elements give pull results (plain objects, see nodes/pull).
import type { Database } from '../db/database.ts';
import { pull } from '../pull/index.ts';
import { fail } from '../util/errors.ts';
import { lookupAggregate } from './registry.ts';
import { distinctRows, positionsOf, rowKey, type Relation } from './relation.ts';
import { isDatabase } from './scope.ts';
import type { FindElement, Query } from './syntax.ts';

export interface ResultOptions {
  readonly offset?: number | null;
  readonly limit?: number | null;
  /** Leave pull cells as [entity, pattern] for the caller to pull row by row (qseq). */
  readonly lazyPull?: boolean;
}

function elementsOf(query: Query): readonly FindElement[] {
  const find = query.find;
  return find.kind === 'find-relation' || find.kind === 'find-tuple' ? find.elements : [find.element];
}

/** The variables an element reads from the relation. */
function elementVariables(element: FindElement): string[] {
  if (element.kind === 'find-pull' && element.pattern.kind === 'variable') return [element.variable.name, element.pattern.name];
  return [element.variable.name];
}

/** The rows of the result before shaping: one array per result row, one value per element. */
export function resultRows(query: Query, relation: Relation, sources: ReadonlyMap<string, unknown>, options: ResultOptions): unknown[][] {
  const elements = elementsOf(query);
  const hasAggregate = elements.some((e) => e.kind === 'find-aggregate');
  const rows = hasAggregate ? aggregateRows(query, elements, relation) : plainRows(query, elements, relation);
  const sliced = slice(rows, options);
  if (!elements.some((e) => e.kind === 'find-pull') || options.lazyPull === true) return sliced;
  return sliced.map((row) => pullCells(query, row, sources));
}

/** Replaces the pull cells of a row by their pull results. */
export function pullCells(query: Query, row: readonly unknown[], sources: ReadonlyMap<string, unknown>): unknown[] {
  const elements = elementsOf(query);
  return row.map((value, i) => pullElement(elements[i]!, value, sources));
}

function slice(rows: unknown[][], options: ResultOptions): unknown[][] {
  const offset = options.offset ?? 0;
  const limit = options.limit ?? null;
  if (offset === 0 && (limit === null || limit < 0)) return rows;
  return rows.slice(offset, limit === null || limit < 0 ? undefined : offset + limit);
}

/**
 * Rows with one cell per element; a pull cell holds [entity, pattern] until pulled. The set is
 * taken over the element variables and the :with variables.
 */
function plainRows(query: Query, elements: readonly FindElement[], relation: Relation): unknown[][] {
  const names = unique([...elements.flatMap(elementVariables), ...query.with.map((v) => v.name)]);
  const { rows: basis, columns } = basisRows(relation, names);
  const cells = elements.map((e) => cellReader(e, columns));
  return basis.map((row) => cells.map((read) => read(row)));
}

/** The set of rows over `names`: no set is needed when every column is kept of a distinct relation. */
function basisRows(relation: Relation, names: readonly string[]): { rows: unknown[][]; columns: readonly string[] } {
  // A distinct relation with no other columns is its own basis: no copy.
  if (relation.distinct === true && names.length === relation.columns.length) return { rows: relation.rows, columns: relation.columns };
  const positions = positionsOf(relation.columns, names);
  if (names.length === 1 && relation.sortedBy === names[0]) return { rows: adjacentDistinct(relation.rows, positions[0]!), columns: names };
  return { rows: distinctRows(relation.rows.map((row) => positions.map((p) => row[p]))), columns: names };
}

/** One column sorted by number: equal values are adjacent. */
function adjacentDistinct(rows: readonly unknown[][], position: number): unknown[][] {
  const out: unknown[][] = [];
  let previous: unknown = undefined;
  for (const row of rows) {
    const value = row[position];
    if (out.length === 0 || value !== previous) out.push([value]);
    previous = value;
  }
  return out;
}

function cellReader(element: FindElement, names: readonly string[]): (row: readonly unknown[]) => unknown {
  const at = names.indexOf(element.variable.name);
  if (element.kind !== 'find-pull') return (row) => row[at];
  const pattern = element.pattern;
  if (pattern.kind === 'pattern') return (row) => [row[at], pattern.value];
  const patternAt = names.indexOf(pattern.name);
  return (row) => [row[at], row[patternAt]];
}

function aggregateRows(query: Query, elements: readonly FindElement[], relation: Relation): unknown[][] {
  const names = unique([...elements.flatMap(elementVariables), ...query.with.map((v) => v.name)]);
  const { rows: basis, columns } = basisRows(relation, names);
  const keyElements = elements.filter((e) => e.kind !== 'find-aggregate');
  const keyPositions = unique(keyElements.flatMap(elementVariables)).map((n) => columns.indexOf(n));
  let next = 0;
  const cells = elements.map((e) => (e.kind === 'find-aggregate' ? aggregateCell(e, next++) : keyCell(cellReader(e, columns))));
  if (basis.length === 0) return [];
  // Each group keeps its first row (for the key cells) and, per aggregate, the bag of its values.
  const aggregates = elements.flatMap((e) => (e.kind === 'find-aggregate' ? [columns.indexOf(e.variable.name)] : []));
  const firsts: unknown[][] = [];
  const bags: unknown[][][] = aggregates.map(() => []);
  const groups = new Map<unknown, number>();
  for (let i = 0; i < basis.length; i++) {
    const row = basis[i]!;
    let group = keyPositions.length === 0 ? (firsts.length === 0 ? undefined : 0) : groups.get(rowKey(row, keyPositions));
    if (group === undefined) {
      group = firsts.length;
      if (keyPositions.length > 0) groups.set(rowKey(row, keyPositions), group);
      firsts.push(row);
      for (const bag of bags) bag.push([]);
    }
    for (let a = 0; a < aggregates.length; a++) bags[a]![group]!.push(row[aggregates[a]!]);
  }
  return firsts.map((first, group) => cells.map((cell) => cell(first, bags, group)));
}

type Cell = (first: readonly unknown[], bags: readonly (readonly unknown[][])[], group: number) => unknown;

function keyCell(read: (row: readonly unknown[]) => unknown): Cell {
  return (first) => read(first);
}

function aggregateCell(element: Extract<FindElement, { kind: 'find-aggregate' }>, bag: number): Cell {
  const aggregate = lookupAggregate(element.name);
  if (aggregate === undefined) {
    fail('query/unknown-aggregate', `Unknown aggregate ${element.name}; expected a built-in (count, sum, avg, min, max, ...) or one registered with registerAggregate.`, {
      aggregate: element.name,
    });
  }
  return (_first, bags, group) => aggregate(bags[bag]![group]!, ...element.constants);
}

function pullElement(element: FindElement, cell: unknown, sources: ReadonlyMap<string, unknown>): unknown {
  if (element.kind !== 'find-pull') return cell;
  const [entity, pattern] = cell as [unknown, unknown];
  const db = sources.get(element.source);
  if (!isDatabase(db)) {
    fail('query/unknown-source', `(pull ${element.source} ...) needs ${element.source} to be a db value.`, { source: element.source });
  }
  return pull(db as Database, pattern as never, entity as number);
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** One row as the return map says (:keys), or the row itself. */
export function shapeRow(query: Query, row: readonly unknown[]): unknown {
  const { returnMap } = query;
  if (returnMap === null) return row;
  const object: Record<string, unknown> = {};
  returnMap.names.forEach((name, i) => (object[name] = row[i]));
  return object;
}

/** Shapes rows as the find spec and return map say. */
export function shapeResult(query: Query, rows: unknown[][]): unknown {
  const { find, returnMap } = query;
  const toMap = (row: readonly unknown[]): unknown => shapeRow(query, row);
  switch (find.kind) {
    case 'find-relation':
      return returnMap === null ? rows : rows.map(toMap);
    case 'find-collection':
      return rows.map((row) => row[0]);
    case 'find-tuple':
      return rows.length === 0 ? null : toMap(rows[0]!);
    case 'find-scalar':
      return rows.length === 0 ? null : rows[0]![0];
  }
}
