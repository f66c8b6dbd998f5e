//! Evaluation of a conjunction of clauses (a :where, a rule body, an or branch, a not body).
//!
//! State is one relation over the variables bound so far, starting from the input relation (the
//! :in bindings, or a rule's demanded arguments). Each step runs the clause the planner picks and
//! replaces the relation with its join:
//!
//!   input ──▶ [clause chosen by planner.ts] ──▶ relation' ──▶ ... ──▶ result
//!
//! Once the relation is empty nothing can add rows, so the remaining clauses are skipped (after
//! the static check that they could have run at all).
import { runNot, runOr } from './compound.ts';
import { runFunction, runPredicate } from './expressions.ts';
import { formatClause } from './format.ts';
import type { Database } from '../db/database.ts';
import { isDatabase } from './scope.ts';
import { canRunNow, checkRunnable, clauseInfos, compiledPattern, estimate, estimatePattern, isReady, type ClauseInfo } from './planner.ts';
import {
  boundVariables, canScanRange, indexText, type CompiledPattern, scanPatternRange, type ValueRange, countConstants, lookupPattern, matchCollection, needsResolution, patternSource, scanPattern,
} from './pattern.ts';
import { rangeFor } from './range.ts';
import { canSeekJoin, seekJoin } from './seek-join.ts';
import { join, shareRows, unitRelation, type Relation } from './relation.ts';
import { show } from './show.ts';
import { runRuleCall } from './rules.ts';
import type { Scope } from './scope.ts';
import type { Clause, PatternClause } from './syntax.ts';

type Runner<K extends Clause['kind']> = (scope: Scope, clause: Extract<Clause, { kind: K }>, relation: Relation) => Step;

/** The result of one clause, with how it was run (for explain). */
export interface Step {
  readonly relation: Relation;
  readonly method: string;
}

const runners: { [K in Clause['kind']]: Runner<K> } = {
  pattern: runPattern,
  predicate: (scope, clause, relation) => ({ relation: runPredicate(scope, clause, relation), method: 'filter' }),
  function: (scope, clause, relation) => ({ relation: runFunction(scope, clause, relation), method: 'function' }),
  not: (scope, clause, relation) => ({ relation: runNot(scope, clause, relation), method: 'anti-join' }),
  or: (scope, clause, relation) => ({ relation: runOr(scope, clause, relation), method: 'union' }),
  'rule-call': (scope, clause, relation) => runRuleCall(scope, clause, relation),
};

function runClause(scope: Scope, clause: Clause, relation: Relation): Step {
  return (runners[clause.kind] as Runner<Clause['kind']>)(scope, clause, relation);
}

/**
 * Solves the clauses from `input`. With `keep`, groups of variables none of which is kept are
 * left out of the result (they are known not to be empty, so they only multiply rows).
 */
export function solve(scope: Scope, clauses: readonly Clause[], input: Relation, keep?: ReadonlySet<string>): Relation {
  const infos = clauseInfos(clauses);
  checkRunnable(infos, input.columns, scope.rules);
  const components = new Components(input);
  const remaining = new Set(infos);
  const run = (info: ClauseInfo, estimated: number | null): void => {
    scope.clock.check();
    const touching = components.touching(info.variables);
    let consumed = touching;
    let rowsIn: number;
    let step: Step;
    if (info.clause.kind === 'pattern' && touching.length > 1) {
      // Join the pattern into the component it narrows most, then the result with the others.
      const clause = info.clause;
      const first = touching.reduce((a, b) => (estimatePattern(scope, clause, b) < estimatePattern(scope, clause, a) ? b : a));
      rowsIn = first.rows.length;
      step = runClause(scope, clause, first);
      let relation = step.relation;
      for (const other of touching) if (other !== first) relation = join(relation, other, scope.clock.tick);
      step = { relation, method: `${step.method}, then hash join of ${touching.length} relations` };
    } else if (info.clause.kind === 'predicate' && touching.some((r) => r.rows.length === 1) && touching.some((r) => r.rows.length !== 1)) {
      // Read one-row relations (scalar inputs) as values instead of multiplying them in.
      const scalars = touching.filter((r) => r.rows.length === 1);
      const others = touching.filter((r) => r.rows.length !== 1);
      const merged = components.merged(others, scope.clock.tick);
      rowsIn = merged.rows.length;
      step = { relation: runPredicate(scope, info.clause, merged, scalars), method: 'filter' };
      consumed = others;
    } else if (info.clause.kind === 'pattern' && touching.length === 0) {
      const range = rangeFor(info.clause, [...remaining].map((r) => r.clause), components.all());
      rowsIn = 1;
      step = runPattern(scope, info.clause, unitRelation(), range === undefined ? undefined : new Map([[info.clause, range]]));
    } else {
      const merged = components.merged(touching, scope.clock.tick);
      rowsIn = merged.rows.length;
      step = runClause(scope, info.clause, merged);
    }
    components.replace(consumed, step.relation);
    remaining.delete(info);
    scope.explain?.push({
      depth: scope.depth, clause: formatClause(info.clause), method: step.method, estimate: estimated, rowsIn, rowsOut: step.relation.rows.length,
    });
  };
  while (remaining.size > 0) {
    if (components.isEmpty()) return withColumns(components.columns(), remaining);
    const bound = components.bound;
    const eager = [...remaining].find((info) => info.eager && isReady(info, bound));
    if (eager !== undefined) {
      run(eager, null);
      continue;
    }
    let best: ClauseInfo | null = null;
    let bestCost = Infinity;
    const candidates: ClauseInfo[] = [];
    for (const info of remaining) if (!info.eager && canRunNow(scope, info, bound)) candidates.push(info);
    // A lone candidate needs no estimate (index counts are the fixed cost of a rule round).
    if (candidates.length === 1 && scope.explain === null) {
      run(candidates[0]!, null);
      continue;
    }
    for (const info of candidates) {
      const cost = estimateAmong(scope, info, components.touching(info.variables));
      if (best === null || cost < bestCost) {
        best = info;
        bestCost = cost;
      }
    }
    // Nothing can run as it should: run one anyway, so it reports what it lacks.
    run(best ?? [...remaining].find((info) => !info.eager) ?? [...remaining][0]!, best === null ? null : bestCost);
  }
  if (components.isEmpty()) return withColumns(components.columns(), remaining);
  const needed = keep === undefined ? components.all() : components.all().filter((r) => r.columns.some((c) => keep.has(c)));
  return components.merged(needed, scope.clock.tick);
}

/** The estimate of a clause against the components it touches (unconnected: on its own). */
function estimateAmong(scope: Scope, info: ClauseInfo, touching: readonly Relation[]): number {
  if (touching.length === 0) return estimate(scope, info.clause, unitRelation());
  if (info.clause.kind === 'pattern') {
    const clause = info.clause;
    return Math.min(...touching.map((r) => estimatePattern(scope, clause, r)));
  }
  return estimate(scope, info.clause, touching.reduce((a, b) => (b.rows.length > a.rows.length ? b : a)));
}

/**
 * The relations built so far: one per connected group of variables. A pattern that shares no
 * variable with them starts a new one instead of multiplying the rows of another; groups are
 * joined when a clause connects them, and multiplied only at the end.
 */
class Components {
  private list: Relation[] = [];
  readonly bound = new Set<string>();

  constructor(input: Relation) {
    this.add(input);
  }

  private add(relation: Relation): void {
    for (const c of relation.columns) this.bound.add(c);
    if (relation.columns.length === 0 && relation.rows.length > 0) return; // the unit relation
    this.list.push(relation);
  }

  all(): readonly Relation[] {
    return this.list;
  }

  touching(variables: ReadonlySet<string>): Relation[] {
    return this.list.filter((r) => r.columns.some((c) => variables.has(c)));
  }

  merged(relations: readonly Relation[], tick: () => void): Relation {
    return relations.reduce((a, b) => join(a, b, tick), unitRelation());
  }

  replace(old: readonly Relation[], relation: Relation): void {
    this.list = this.list.filter((r) => !old.includes(r));
    this.add(relation);
  }

  isEmpty(): boolean {
    return this.list.some((r) => r.rows.length === 0);
  }

  columns(): string[] {
    return this.list.flatMap((r) => r.columns);
  }
}

/** An empty relation that also names the variables the skipped clauses would have bound. */
function withColumns(bound: readonly string[], remaining: ReadonlySet<ClauseInfo>): Relation {
  const columns = [...new Set(bound)];
  for (const info of remaining) {
    if (info.clause.kind === 'not') continue;
    for (const v of info.variables) if (!columns.includes(v)) columns.push(v);
  }
  return { columns, rows: [] };
}

/** An index lookup costs about this many scanned datoms. */
const LOOKUP_COST = 14;
/** Walking index rows in a seek join costs about this fraction of scanning their datoms. */
const SEEK_ADVANTAGE = 10;

function runPattern(scope: Scope, clause: PatternClause, relation: Relation, ranges?: ReadonlyMap<PatternClause, ValueRange>): Step {
  const tick = scope.clock.tick;
  const source = patternSource(scope, clause);
  if (!isDatabase(source)) return { relation: matchCollection(source, clause, relation, tick), method: 'collection scan, hash join' };
  const compiled = compiledPattern(source, clause);
  const { bound } = boundVariables(compiled, relation.columns);
  if (bound.length === 0) {
    const range = ranges?.get(clause);
    if (range !== undefined && canScanRange(compiled)) {
      const scanned = scanPatternRange(source, compiled, range, tick);
      const method = `range scan AVET[a v] from ${show(range.start)} to ${show(range.end)}` + (relation.columns.length > 0 ? ', product' : '');
      return { relation: join(relation, scanned, tick), method };
    }
    const scanned = cachedScan(scope, source, compiled);
    const method = `scan ${indexText(compiled.constants)}` + (relation.columns.length > 0 ? ', product' : '');
    return { relation: join(relation, scanned, tick), method };
  }
  const scanCount = countConstants(source, compiled);
  if (canSeekJoin(source, compiled, relation) && relation.rows.length * LOOKUP_COST * SEEK_ADVANTAGE >= scanCount) {
    return { relation: seekJoin(source, compiled, relation, tick), method: `seek join ${indexText(compiled.constants)} in entity order` };
  }
  if (needsResolution(compiled, relation) || relation.rows.length * LOOKUP_COST < scanCount) {
    const method = `lookup ${indexText(compiled.constants, bound.flatMap((b) => b.positions))} per row`;
    return { relation: lookupPattern(source, compiled, relation, tick), method };
  }
  const scanned = cachedScan(scope, source, compiled);
  const how = relation.sortedBy !== undefined && relation.sortedBy === scanned.sortedBy ? 'merge join' : 'hash join';
  return { relation: join(relation, scanned, tick), method: `scan ${indexText(compiled.constants)}, ${how}` };
}

/** The constants-only scan of a pattern, read once per query (its rows may be hashed once too). */
function cachedScan(scope: Scope, source: Database, compiled: CompiledPattern): Relation {
  let scanned = scope.scans.get(compiled);
  if (scanned === undefined) {
    scanned = scanPattern(source, compiled, scope.clock.tick);
    shareRows(scanned.rows);
    scope.scans.set(compiled, scanned);
  }
  return scanned;
}
