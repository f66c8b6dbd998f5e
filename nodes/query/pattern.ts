//! Data patterns `[e a v tx added]` against a db value or a collection source.
//!
//! Positions are fixed by constants and by variables already bound. The index is chosen from the
//! fixed positions (the leading components of one index), the rest are filtered:
//!
//!   fixed        index  components      fixed      index  components
//!   e a v        EAVT   e a v           a v        AVET   a v
//!   e a          EAVT   e a             a          AEVT   a
//!   e (v)        EAVT   e               (v) / -    EAVT   (full scan)
//!
//! Two ways to join a pattern into the current relation (engine.ts picks by estimate):
//!   lookup  one index seek per distinct binding of the bound variables (few bindings)
//!   scan    one scan with the constants only, then a hash join (many bindings)
import { SegmentNotResident } from '../btree/durable-tree.ts';
import type { Attribute, Database } from '../db/database.ts';
import type { Datom, IndexName } from '../datom/datom.ts';
import { toT, txOfT } from '../datom/datom.ts';
import { Db, currentRows, type DbState } from '../db/db.ts';
import { Cursor } from '../btree/int-tree.ts';
import { probeFor } from '../db/index-order.ts';
import { assert } from '../util/assert.ts';
import { fail } from '../util/errors.ts';
import { valuesEqual } from '../values/compare.ts';
import { Keyword } from '../values/values.ts';
import { join, rowKey, type Relation } from './relation.ts';
import { isDatabase, sourceOf, type Scope } from './scope.ts';
import { show } from './show.ts';
import type { PatternClause } from './syntax.ts';

/** A pattern with its constants resolved against one db value. */
export interface CompiledPattern {
  /** Resolved constant at each of the 5 positions; undefined where free. */
  readonly constants: readonly unknown[];
  readonly attribute: Attribute | null;
  /** A constant names nothing (an unknown entity): the pattern matches nothing. */
  readonly empty: boolean;
  /** Variable names, in order of first position. */
  readonly variables: readonly string[];
  /** For each variable, the positions it occupies. */
  readonly positions: readonly (readonly number[])[];
}

export function compilePattern(db: Database, clause: PatternClause): CompiledPattern {
  const constants: unknown[] = [undefined, undefined, undefined, undefined, undefined];
  const variables: string[] = [];
  const positions: number[][] = [];
  let empty = false;
  let attribute: Attribute | null = null;
  const a = clause.terms[1];
  if (a !== undefined && a.kind === 'constant') {
    attribute = resolveAttribute(db, a.value, clause);
    constants[1] = attribute.id;
  }
  clause.terms.forEach((term, position) => {
    if (term.kind === 'variable') {
      const i = variables.indexOf(term.name);
      if (i === -1) {
        variables.push(term.name);
        positions.push([position]);
      } else {
        positions[i]!.push(position);
      }
    } else if (term.kind === 'constant' && position !== 1) {
      const value = resolveConstant(db, position, attribute, term.value);
      if (value === null && position !== 2) empty = true;
      else if (value === null && position === 2 && attribute?.valueType === 'ref') empty = true;
      constants[position] = value;
    }
  });
  return { constants, attribute, empty, variables, positions };
}

function resolveAttribute(db: Database, value: unknown, clause: PatternClause): Attribute {
  const ref = typeof value === 'string' ? Keyword.of(value) : value;
  const attribute = typeof ref === 'number' || ref instanceof Keyword ? db.attribute(ref) : undefined;
  if (attribute === undefined) {
    fail('query/unknown-attribute', `Unknown attribute ${show(value)} in the pattern ${show(clause.terms.map(termForm))}; expected an installed attribute.`, { attribute: value });
  }
  return attribute;
}

function termForm(term: PatternClause['terms'][number]): unknown {
  return term.kind === 'variable' ? term.name : term.kind === 'blank' ? '_' : term.value;
}

/** A value at a position, resolved to what the index holds (entity ids for e, ref v and tx). */
export function resolveConstant(db: Database, position: number, attribute: Attribute | null, value: unknown): unknown {
  switch (position) {
    case 0:
      return resolveEntity(db, value);
    case 1:
      return resolveAttributeId(db, value);
    case 2:
      return attribute?.valueType === 'ref' && typeof value !== 'number' ? resolveEntity(db, value) : value;
    case 3:
      return typeof value === 'number' ? toT(value) : resolveEntity(db, value);
    default:
      return value;
  }
}

/** An entity id for an id, ident or lookup ref; null when it names nothing or is not a reference. */
export function resolveEntity(db: Database, value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (value instanceof Keyword || (Array.isArray(value) && value.length === 2)) {
    try {
      return db.entid(value as Keyword);
    } catch (error) {
      if (error instanceof SegmentNotResident) throw error; // a durable read: readDb loads and reruns
      return null; // not a lookup ref of a unique attribute: it names nothing
    }
  }
  return null;
}

function resolveAttributeId(db: Database, value: unknown): number | null {
  const ref = typeof value === 'string' ? Keyword.of(value) : value;
  if (typeof ref !== 'number' && !(ref instanceof Keyword)) return null;
  return db.attribute(ref)?.id ?? null;
}

interface IndexChoice {
  readonly index: IndexName;
  readonly components: readonly unknown[];
  /** Positions fixed but not covered by the components: filtered after the scan. */
  readonly residual: readonly number[];
}

/** An index choice for one shape of fixed positions: which positions lead, which are filtered. */
interface IndexShape {
  readonly index: IndexName;
  readonly leading: readonly number[];
  readonly residual: readonly number[];
}

/** The shape for a bit mask of fixed positions (bit p set when position p is fixed). */
function shapeFor(mask: number): IndexShape {
  const has = (p: number): boolean => (mask & (1 << p)) !== 0;
  const leading = has(0) ? (has(1) ? (has(2) ? [0, 1, 2] : [0, 1]) : [0]) : has(1) ? (has(2) ? [1, 2] : [1]) : [];
  const index: IndexName = has(0) || !has(1) ? 'eavt' : has(2) ? 'avet' : 'aevt';
  const residual = [0, 1, 2, 3, 4].filter((p) => has(p) && !leading.includes(p));
  return { index, leading, residual };
}

/** Every shape, computed once: choosing an index per lookup allocates nothing but its components. */
const shapes: readonly IndexShape[] = Array.from({ length: 32 }, (_, mask) => shapeFor(mask));

/** How explain names the index read for each shape, e.g. `AVET[a v]`. */
const shapeTexts: readonly string[] = shapes.map(({ index, leading }) => `${index.toUpperCase()}[${index.slice(0, leading.length).split('').join(' ')}]`);

/** The index and components read for these fixed positions, as explain shows them. */
export function indexText(fixed: readonly unknown[], alsoFixed: readonly number[] = []): string {
  let mask = maskOf(fixed);
  for (const p of alsoFixed) mask |= 1 << p;
  return shapeTexts[mask]!;
}

function maskOf(fixed: readonly unknown[]): number {
  let mask = 0;
  for (let p = 0; p < 5; p++) if (fixed[p] !== undefined) mask |= 1 << p;
  return mask;
}

/** The index and leading components for a set of fixed positions (undefined = free). */
export function chooseIndex(fixed: readonly unknown[]): IndexChoice {
  const shape = shapes[maskOf(fixed)]!;
  const components = new Array<unknown>(shape.leading.length);
  for (let i = 0; i < components.length; i++) components[i] = fixed[shape.leading[i]!];
  return { index: shape.index, components, residual: shape.residual };
}

export function datomField(datom: Datom, position: number): unknown {
  switch (position) {
    case 0:
      return datom.e;
    case 1:
      return datom.a;
    case 2:
      return datom.v;
    case 3:
      return datom.tx;
    default:
      return datom.added;
  }
}

function matchesField(datom: Datom, position: number, value: unknown): boolean {
  switch (position) {
    case 0:
      return datom.e === value;
    case 1:
      return datom.a === value;
    case 2:
      return datom.v === value || valuesEqual(datom.v, value);
    case 3:
      return toT(datom.tx) === value;
    default:
      return datom.added === value;
  }
}

/** Calls `emit` with the values of the pattern's variables for every datom matching `fixed`. */
/**
 * Matches datoms against a pattern and appends the values of its variables (all of them, or
 * those at `pick`) to a sink. One scanner serves every lookup of a step: no closures per call.
 */
export class PatternScanner {
  private fixed: readonly unknown[] = [];
  private residual: readonly number[] = [];
  private sink: unknown[][] = [];
  private pick: readonly number[] | null = null;
  /** A row each match extends (its values first), or null for rows of the match alone. */
  private base: readonly unknown[] | null = null;
  /** The values of the pattern's variables for the datom being visited (reused). */
  private readonly scratch: unknown[];
  private readonly fast: boolean;

  /** True for the engine's own plain db values (the datom table is read directly). */
  get isFast(): boolean {
    return this.fast;
  }

  constructor(
    private readonly db: Database,
    private readonly compiled: CompiledPattern,
    private readonly tick: () => void,
  ) {
    this.fast = db instanceof Db && !db.isFiltered && db.state.base === null;
    this.scratch = new Array<unknown>(compiled.positions.length).fill(undefined);
  }

  /** Every datom matching `fixed` (or in `datoms`), its values appended to `sink`. */
  scan(fixed: readonly unknown[], sink: unknown[][], pick: readonly number[] | null, datoms?: Iterable<Datom>): void {
    const { index, components, residual } = chooseIndex(fixed);
    this.fixed = fixed;
    this.residual = residual;
    this.sink = sink;
    this.pick = pick;
    this.base = null;
    if (datoms === undefined && this.fast) {
      this.visitCurrentRows(index, components);
      return;
    }
    for (const datom of datoms ?? this.db.datoms(index, ...components)) this.visit(datom);
  }

  /**
   * The datoms at `indexRows[start..end)` of the plain db's current datom table (the fast path
   * only): a caller that found the rows itself (seek-join.ts) has them matched and appended.
   */
  visitTableRows(indexRows: readonly number[], start: number, end: number, fixed: readonly unknown[], sink: unknown[][], pick: readonly number[] | null, base: readonly unknown[] | null): void {
    assert(this.fast, 'visitTableRows reads the datom table of a plain db value');
    this.fixed = fixed;
    this.residual = chooseIndex(fixed).residual;
    this.sink = sink;
    this.pick = pick;
    this.base = base;
    const table = (this.db as Db).state.table;
    const datom = reusedDatom;
    for (let i = start; i < end; i++) {
      const row = indexRows[i]!;
      datom.e = table.e(row);
      datom.a = table.a(row);
      datom.v = table.v(row);
      datom.tx = txOfT(table.t(row));
      this.visit(datom);
    }
  }

  private visit(datom: Datom): void {
    this.tick();
    const { residual, fixed } = this;
    for (let i = 0; i < residual.length; i++) {
      const p = residual[i]!;
      if (!matchesField(datom, p, fixed[p])) return;
    }
    const positions = this.compiled.positions;
    const n = positions.length;
    const values = this.scratch;
    for (let i = 0; i < n; i++) {
      const ps = positions[i]!;
      const value = datomField(datom, ps[0]!);
      for (let j = 1; j < ps.length; j++) if (!valuesEqual(datomField(datom, ps[j]!), value)) return;
      values[i] = value;
    }
    // One array per match: the base row's values, then the picked (or all) values.
    const pick = this.pick;
    const base = this.base;
    const offset = base === null ? 0 : base.length;
    const out = new Array<unknown>(offset + (pick === null ? n : pick.length));
    for (let i = 0; i < offset; i++) out[i] = base![i];
    if (pick === null) for (let i = 0; i < n; i++) out[offset + i] = values[i];
    else for (let i = 0; i < pick.length; i++) out[offset + i] = values[pick[i]!];
    this.sink.push(out);
  }

  /**
   * The fast path for the engine's own plain db values: rows of the current index read straight
   * from the datom table (components are already resolved ids), one reused datom object.
   */
  private visitCurrentRows(index: IndexName, components: readonly unknown[]): void {
    const state = (this.db as Db).state;
    const table = state.table;
    const datom = reusedDatom;
    for (const row of currentRows(state, index, components)) {
      datom.e = table.e(row);
      datom.a = table.a(row);
      datom.v = table.v(row);
      datom.tx = txOfT(table.t(row));
      this.visit(datom);
    }
  }
}

/** A datom rewritten in place for each row: the fast path allocates nothing per datom. */
class ReusedDatom implements Datom {
  e = 0;
  a = 0;
  v: unknown = null;
  tx = 0;
  added = true;
}
const reusedDatom = new ReusedDatom();

/** How many datoms a scan with these fixed positions reads (an upper bound with residuals). */
export function countDatoms(db: Database, fixed: readonly unknown[]): number {
  const { index, components } = chooseIndex(fixed);
  return db.count(index, ...components);
}

const constantCounts = new WeakMap<CompiledPattern, number>();

/** How many datoms the pattern's constants alone match; counted once per compiled pattern (one db value). */
export function countConstants(db: Database, compiled: CompiledPattern): number {
  let count = constantCounts.get(compiled);
  if (count === undefined) {
    count = countDatoms(db, compiled.constants);
    constantCounts.set(compiled, count);
  }
  return count;
}

/** The pattern matched with its constants only: a relation over its variables. */
export function scanPattern(db: Database, compiled: CompiledPattern, tick: () => void): Relation {
  const rows: unknown[][] = [];
  if (!compiled.empty) {
    const scanner = new PatternScanner(db, compiled, tick);
    if (scanner.isFast) {
      // The count is cached and cheap: the walk needs no comparison per row.
      const { index, components } = chooseIndex(compiled.constants);
      const indexRows = countedRows((db as Db).state, index, components, countConstants(db, compiled));
      scanner.visitTableRows(indexRows, 0, indexRows.length, compiled.constants, rows, null, null);
    } else {
      scanner.scan(compiled.constants, rows, null);
    }
  }
  return { columns: compiled.variables, rows, distinct: isDistinctPattern(db, compiled), sortedBy: entityOrder(db, compiled) };
}

/** Bounds on the value of a pattern, from comparisons with constants: `start <= v < end`. */
export interface ValueRange {
  readonly start: unknown;
  readonly end: unknown;
}

/** True when a pattern can scan a value range of AVET: constant attribute, free e, value variable. */
export function canScanRange(compiled: CompiledPattern): boolean {
  const [e, a, v] = compiled.constants;
  return e === undefined && a !== undefined && v === undefined && !compiled.empty;
}

/** The pattern matched with its constants, reading only the values in `range` (AVET). */
export function scanPatternRange(db: Database, compiled: CompiledPattern, range: ValueRange, tick: () => void): Relation {
  const rows: unknown[][] = [];
  const datoms = db.indexRange(compiled.constants[1] as number, range.start ?? undefined, range.end ?? undefined);
  new PatternScanner(db, compiled, tick).scan(compiled.constants, rows, null, datoms);
  return { columns: compiled.variables, rows, distinct: isDistinctPattern(db, compiled) };
}

/** Where each bound variable of a pattern sits: its column in the relation and its positions. */
export interface BoundVariable {
  readonly column: number;
  readonly positions: readonly number[];
}

export function boundVariables(compiled: CompiledPattern, columns: readonly string[]): { bound: BoundVariable[]; free: number[] } {
  const bound: BoundVariable[] = [];
  const free: number[] = [];
  compiled.variables.forEach((name, i) => {
    const column = columns.indexOf(name);
    if (column === -1) free.push(i);
    else bound.push({ column, positions: compiled.positions[i]! });
  });
  return { bound, free };
}

/**
 * The fixed positions for one row: constants plus the row's bound values, resolved like constants
 * (an ident or lookup ref bound to ?e finds its entity). Null when a value names nothing.
 */
export function fixedFor(db: Database, compiled: CompiledPattern, bound: readonly BoundVariable[], row: readonly unknown[]): unknown[] | null {
  const fixed = compiled.constants.slice();
  let attribute = compiled.attribute;
  // Resolve the attribute first: a ref attribute changes how v resolves.
  for (const b of bound) {
    if (b.positions.includes(1)) {
      const id = resolveConstant(db, 1, null, row[b.column]);
      if (id === null) return null;
      fixed[1] = id;
      attribute = db.attribute(id as number) ?? null;
    }
  }
  for (const b of bound) {
    for (const p of b.positions) {
      if (p === 1) continue;
      const value = resolveConstant(db, p, attribute, row[b.column]);
      if (value === null && p !== 2 && p !== 4) return null;
      if (fixed[p] !== undefined && !valuesEqual(fixed[p], value)) return null;
      fixed[p] = value;
    }
  }
  return fixed;
}

/** Joins the pattern into `relation` by one index lookup per distinct binding of its bound variables. */
export function lookupPattern(db: Database, compiled: CompiledPattern, relation: Relation, tick: () => void): Relation {
  const { bound, free } = boundVariables(compiled, relation.columns);
  const columns = [...relation.columns, ...free.map((i) => compiled.variables[i]!)];
  const rows: unknown[][] = [];
  if (compiled.empty) return { columns, rows, distinct: true };
  const keyColumns = bound.map((b) => b.column);
  const scanner = new PatternScanner(db, compiled, tick);
  // Bindings of ?e are mostly distinct (nothing to share); bindings of values repeat.
  const cache = bound.some((b) => b.positions.includes(0)) ? null : new Map<unknown, unknown[][]>();
  for (const row of relation.rows) {
    let matches = cache?.get(rowKey(row, keyColumns));
    if (matches === undefined) {
      matches = [];
      const fixed = fixedFor(db, compiled, bound, row);
      if (fixed !== null) scanner.scan(fixed, matches, free);
      cache?.set(rowKey(row, keyColumns), matches);
    }
    for (let i = 0; i < matches.length; i++) {
      const extension = matches[i]!;
      rows.push(extension.length === 0 ? row : row.concat(extension));
    }
  }
  return { columns, rows, distinct: relation.distinct === true && isDistinctPattern(db, compiled), sortedBy: relation.sortedBy };
}

/**
 * The entity variable when a constants-only scan yields rows in entity order: EAVT and AEVT scans
 * are ordered by e, and so is AVET with a fixed value. History views interleave time; not used.
 */
export function entityOrder(db: Database, compiled: CompiledPattern): string | undefined {
  const e = compiled.variables.findIndex((_, i) => compiled.positions[i]![0] === 0);
  if (e === -1 || db.isHistory || db.asOfT !== null) return undefined;
  const { index, components } = chooseIndex(compiled.constants);
  if (index === 'avet' && components.length < 2) return undefined;
  if (index === 'eavt' && components.length > 0) return undefined;
  return typeof compiled.constants[0] === 'undefined' ? compiled.variables[e] : undefined;
}

/**
 * True when different datoms give different rows: e, a and v are each a variable or a constant
 * (on a current db a datom is its [e a v]; history dbs repeat facts in time).
 */
export function isDistinctPattern(db: Database, compiled: CompiledPattern): boolean {
  if (db.isHistory) return false;
  for (let p = 0; p < 3; p++) {
    if (compiled.constants[p] === undefined && !compiled.positions.some((ps) => ps.includes(p))) return false;
  }
  return true;
}

/** True when a bound value must be resolved before it can be compared with the index (an ident, a lookup ref). */
export function needsResolution(compiled: CompiledPattern, relation: Relation): boolean {
  const { bound } = boundVariables(compiled, relation.columns);
  const refValue = compiled.attribute === null || compiled.attribute.valueType === 'ref';
  const columns = bound.filter((b) => b.positions.some((p) => p === 0 || p === 1 || (p === 2 && refValue) || p === 3)).map((b) => b.column);
  if (columns.length === 0) return false;
  for (const row of relation.rows) for (const c of columns) if (typeof row[c] !== 'number') return true;
  return false;
}

/** A pattern against a collection source: tuples matched by position, then a hash join. */
export function matchCollection(collection: readonly (readonly unknown[])[], clause: PatternClause, relation: Relation, tick: () => void): Relation {
  const variables: string[] = [];
  const rows: unknown[][] = [];
  clause.terms.forEach((t) => {
    if (t.kind === 'variable' && !variables.includes(t.name)) variables.push(t.name);
  });
  outer: for (const tuple of collection) {
    tick();
    if (!Array.isArray(tuple) || tuple.length < clause.terms.length) continue;
    const values = new Array<unknown>(variables.length).fill(undefined);
    const set = new Array<boolean>(variables.length).fill(false);
    for (let p = 0; p < clause.terms.length; p++) {
      const term = clause.terms[p]!;
      if (term.kind === 'constant') {
        if (!valuesEqual(term.value, tuple[p])) continue outer;
      } else if (term.kind === 'variable') {
        const i = variables.indexOf(term.name);
        if (set[i] && !valuesEqual(values[i], tuple[p])) continue outer;
        values[i] = tuple[p];
        set[i] = true;
      }
    }
    rows.push(values);
  }
  return join(relation, { columns: variables, rows }, tick);
}

/** The source of a pattern, checked to be a db value or a collection. */
export function patternSource(scope: Scope, clause: PatternClause): Database | readonly (readonly unknown[])[] {
  const source = sourceOf(scope, clause.source);
  if (isDatabase(source) || Array.isArray(source)) return source as Database;
  return fail('query/invalid-input', `The source ${clause.source} is neither a db value nor a collection of tuples.`, { source: clause.source });
}

/**
 * The `count` rows from the first one whose leading components are `components`: the count is
 * known (an index count), so the walk compares nothing per row.
 */
export function countedRows(state: DbState, index: IndexName, components: readonly unknown[], count: number): number[] {
  const cursor = new Cursor(state.current[index], probeFor(state.table, index, components, false));
  const rows = new Array<number>(count);
  for (let i = 0; i < count; i++) rows[i] = cursor.next();
  // The count and the walk agree: the last row is in the range and the next one is not.
  const upper = probeFor(state.table, index, components, true);
  const after = cursor.next();
  assert((count === 0 || (rows[count - 1]! !== -1 && upper(rows[count - 1]!) > 0)) && (after === -1 || upper(after) <= 0), 'index count and rows disagree');
  return rows;
}
