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
import { isDatabase } from './scope.ts';
import { canRunNow, checkRunnable, clauseInfos, compiledPattern, estimate, isReady, type ClauseInfo } from './planner.ts';
import {
  boundVariables, chooseIndex, countDatoms, lookupPattern, matchCollection, needsResolution, patternSource, scanPattern,
} from './pattern.ts';
import { join, type Relation } from './relation.ts';
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

export function solve(scope: Scope, clauses: readonly Clause[], input: Relation): Relation {
  const infos = clauseInfos(clauses);
  checkRunnable(infos, input.columns);
  let relation = input;
  const bound = new Set(input.columns);
  const remaining = new Set(infos);
  const run = (info: ClauseInfo, estimated: number | null): void => {
    scope.clock.check();
    const rowsIn = relation.rows.length;
    const step = runClause(scope, info.clause, relation);
    relation = step.relation;
    for (const c of relation.columns) bound.add(c);
    remaining.delete(info);
    scope.explain?.push({
      depth: scope.depth, clause: formatClause(info.clause), method: step.method, estimate: estimated, rowsIn, rowsOut: relation.rows.length,
    });
  };
  while (remaining.size > 0) {
    if (relation.rows.length === 0) return withColumns(relation, remaining);
    const eager = [...remaining].find((info) => info.eager && isReady(info, bound));
    if (eager !== undefined) {
      run(eager, null);
      continue;
    }
    let best: ClauseInfo | null = null;
    let bestCost = Infinity;
    for (const info of remaining) {
      if (info.eager || !canRunNow(scope, info, bound)) continue;
      const cost = estimate(scope, info.clause, relation);
      if (best === null || cost < bestCost) {
        best = info;
        bestCost = cost;
      }
    }
    // Nothing can run as it should: run one anyway, so it reports what it lacks.
    run(best ?? [...remaining].find((info) => !info.eager) ?? [...remaining][0]!, best === null ? null : bestCost);
  }
  return relation;
}

/** An empty relation that also names the variables the skipped clauses would have bound. */
function withColumns(relation: Relation, remaining: ReadonlySet<ClauseInfo>): Relation {
  const columns = [...relation.columns];
  for (const info of remaining) {
    if (info.clause.kind === 'not') continue;
    for (const v of info.variables) if (!columns.includes(v)) columns.push(v);
  }
  return { columns, rows: [] };
}

/** An index lookup costs about this many scanned datoms. */
const LOOKUP_COST = 8;

function runPattern(scope: Scope, clause: PatternClause, relation: Relation): Step {
  const tick = scope.clock.tick;
  const source = patternSource(scope, clause);
  if (!isDatabase(source)) return { relation: matchCollection(source, clause, relation, tick), method: 'collection scan, hash join' };
  const compiled = compiledPattern(source, clause);
  const { bound } = boundVariables(compiled, relation.columns);
  if (bound.length === 0) {
    const scanned = scanPattern(source, compiled, tick);
    const method = `scan ${indexText(compiled.constants)}` + (relation.columns.length > 0 ? ', product' : '');
    return { relation: join(relation, scanned, tick), method };
  }
  const scanCount = countDatoms(source, compiled.constants);
  if (needsResolution(compiled, relation) || relation.rows.length * LOOKUP_COST < scanCount) {
    const fixed = compiled.constants.slice();
    for (const b of bound) for (const p of b.positions) fixed[p] = 0;
    return { relation: lookupPattern(source, compiled, relation, tick), method: `lookup ${indexText(fixed)} per row` };
  }
  const scanned = scanPattern(source, compiled, tick);
  return { relation: join(relation, scanned, tick), method: `scan ${indexText(compiled.constants)}, hash join` };
}

function indexText(fixed: readonly unknown[]): string {
  const { index, components } = chooseIndex(fixed);
  return `${index.toUpperCase()}[${index.slice(0, components.length).split('').join(' ')}]`;
}
