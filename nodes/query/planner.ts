//! The planner: which clause of a conjunction runs next.
//!
//! Datomic runs clauses in the order written; factum orders them while it evaluates, greedily:
//!   1. "Eager" clauses (predicates, function expressions, not) run as soon as every variable they
//!      need is bound: a predicate is pushed down to right after the clause binding its last input.
//!   2. Of the others (patterns, or, rule calls), the one with the smallest estimated output runs
//!      next. A pattern's estimate comes from index counts (cheap on sorted indexes): the count of
//!      datoms matching its constants, or, when some of its variables are bound, the count for a
//!      few sampled rows of the current relation times the number of rows.
//! The order therefore does not depend on how the query was written, and an estimate is revised
//! after every step from the relation actually produced.
import type { Database } from '../db/database.ts';
import { fail } from '../util/errors.ts';
import { compilePattern, countConstants, countDatoms, boundVariables, fixedFor, patternSource, type CompiledPattern } from './pattern.ts';
import type { Relation } from './relation.ts';
import { isDatabase, withDefaultSource, type Scope } from './scope.ts';
import { formatClause } from './format.ts';
import type { Clause, PatternClause, RuleCallClause, RuleSet } from './syntax.ts';
import { argumentVariables, clauseVariables } from './variables.ts';

/** Static facts about one clause of a conjunction. */
export interface ClauseInfo {
  readonly clause: Clause;
  readonly variables: ReadonlySet<string>;
  /** Variables that must be bound before the clause can run (beyond those it binds itself). */
  readonly needs: readonly string[];
  readonly eager: boolean;
}

const infoCache = new WeakMap<readonly Clause[], ClauseInfo[]>();

export function clauseInfos(clauses: readonly Clause[]): ClauseInfo[] {
  let infos = infoCache.get(clauses);
  if (infos === undefined) {
    infos = clauses.map(infoFor);
    infoCache.set(clauses, infos);
  }
  return infos;
}

function infoFor(clause: Clause): ClauseInfo {
  const variables = clauseVariables(clause);
  switch (clause.kind) {
    case 'predicate':
      return { clause, variables, needs: [...argumentVariables(clause.args, new Set())], eager: true };
    case 'function':
      return { clause, variables, needs: [...argumentVariables(clause.args, new Set())], eager: true };
    case 'not':
      // Datomic: "All variables used in a not clause will unify with the surrounding query" (nested
      // function bindings included); a plain not is a not-join on all of them. `variables` is that set.
      return { clause, variables, needs: [...variables], eager: true };
    case 'or':
      return { clause, variables, needs: clause.variables?.required.map((v) => v.name) ?? [], eager: false };
    case 'rule-call':
    case 'pattern':
      return { clause, variables, needs: [], eager: false };
  }
}

/** Needs that are not yet bound; a rule call's required arguments are checked when it runs. */
export function isReady(info: ClauseInfo, bound: ReadonlySet<string>): boolean {
  for (const v of info.needs) if (!bound.has(v)) return false;
  return true;
}

/**
 * Whether a clause can run now: its needs are bound, every branch of an `or` can run with what is
 * bound of the or's variables, and a rule call has its required arguments bound.
 */
export function canRunNow(scope: Scope, info: ClauseInfo, bound: ReadonlySet<string>): boolean {
  if (!isReady(info, bound) || !requiredArgumentsBound(info, bound, scope.rules)) return false;
  const clause = info.clause;
  if (clause.kind === 'or') {
    const visible = new Set([...info.variables].filter((v) => bound.has(v)));
    return clause.branches.every((branch) => wouldRun(clauseInfos(branch), visible, scope.rules));
  }
  return true;
}

/**
 * The arguments a rule call must have bound (Datomic: "If the required variables are not bound,
 * Datomic will report an incorrect anomaly"): the variables in its rule's required positions; a
 * blank `_` or a position past the arguments can never be bound. An unknown rule requires nothing
 * here (it is refused when it runs).
 */
function requiredArgumentsBound(info: ClauseInfo, bound: ReadonlySet<string>, rules: RuleSet | null): boolean {
  return unboundRequiredArguments(info, bound, rules).length === 0;
}

function unboundRequiredArguments(info: ClauseInfo, bound: ReadonlySet<string>, rules: RuleSet | null): string[] {
  const clause = info.clause;
  if (clause.kind !== 'rule-call') return [];
  const branches = rules?.get(clause.name);
  if (branches === undefined) return [];
  const required = Math.max(...branches.map((b) => b.variables.required.length));
  const unbound: string[] = [];
  for (let i = 0; i < required; i++) {
    const a = clause.args[i];
    if (a === undefined || a.kind === 'blank') unbound.push(`argument ${i + 1}`);
    else if (a.kind === 'variable' && !bound.has(a.name)) unbound.push(a.name);
  }
  return unbound;
}

function wouldRun(infos: readonly ClauseInfo[], bound: ReadonlySet<string>, rules: RuleSet | null): boolean {
  return settle(infos, bound, rules).pending.size === 0;
}

/**
 * Runs clauses in any order that works, on variable names only: the clauses that could never run
 * (`pending`) and every variable bound at the end. A clause is ready once its needs are bound, a
 * rule call's required arguments too, and the clauses nested in it (a not's body, each branch of
 * an or) could run as well.
 */
function settle(infos: readonly ClauseInfo[], inputColumns: Iterable<string>, rules: RuleSet | null): { pending: Set<ClauseInfo>; bound: Set<string> } {
  const bound = new Set(inputColumns);
  const pending = new Set(infos);
  let progressed = true;
  while (progressed && pending.size > 0) {
    progressed = false;
    for (const info of pending) {
      if (isReady(info, bound) && requiredArgumentsBound(info, bound, rules) && nestedRunnable(info, bound, rules)) {
        pending.delete(info);
        for (const v of bindsOf(info)) bound.add(v);
        progressed = true;
      }
    }
  }
  return { pending, bound };
}

/** The seeds a clause's nested bodies start from, once its needs are bound: [body, bound variables]. */
function nestedBodies(info: ClauseInfo, bound: ReadonlySet<string>): Array<[readonly Clause[], string[]]> {
  const clause = info.clause;
  if (clause.kind === 'not') return [[clause.clauses, [...info.needs]]];
  if (clause.kind === 'or') {
    const visible = [...info.variables].filter((v) => bound.has(v));
    return clause.branches.map((branch) => [branch, visible]);
  }
  return [];
}

function nestedRunnable(info: ClauseInfo, bound: ReadonlySet<string>, rules: RuleSet | null): boolean {
  return nestedBodies(info, bound).every(([body, seed]) => wouldRun(clauseInfos(body), new Set(seed), rules));
}

/**
 * Checks, before any work, that some order runs every clause: predicates and functions must get
 * their inputs bound, `not` every variable it uses (`not-join` those it names), `or-join` its
 * required variables, a rule call its rule's required arguments; and the same inside every not
 * body and or branch, whatever the data. (A rule's own body is checked when it is called, with
 * the arguments bound at the call.)
 */
const runnableCache = new WeakMap<readonly ClauseInfo[], Map<RuleSet | null, Set<string>>>();

export function checkRunnable(infos: readonly ClauseInfo[], inputColumns: readonly string[], rules: RuleSet | null): void {
  const signature = inputColumns.join(' ');
  let byRules = runnableCache.get(infos);
  if (byRules?.get(rules)?.has(signature)) return;
  checkRunnableOnce(infos, inputColumns, rules);
  if (byRules === undefined) runnableCache.set(infos, (byRules = new Map()));
  let checked = byRules.get(rules);
  if (checked === undefined) byRules.set(rules, (checked = new Set()));
  checked.add(signature);
}

function checkRunnableOnce(infos: readonly ClauseInfo[], inputColumns: readonly string[], rules: RuleSet | null): void {
  const { pending, bound } = settle(infos, inputColumns, rules);
  for (const info of pending) {
    const clause = formatClause(info.clause);
    const required = unboundRequiredArguments(info, bound, rules);
    if (required.length > 0) {
      fail('query/insufficient-binding', `The rule ${(info.clause as RuleCallClause).name} requires ${required.join(', ')} bound before it is called, but nothing binds ${required.length > 1 ? 'them' : 'it'} in ${clause}.`, {
        rule: (info.clause as RuleCallClause).name, clause, variables: required,
      });
    }
    const missing = info.needs.filter((v) => !bound.has(v));
    // Its own variables are bound: what cannot run is inside it; report that clause.
    if (missing.length === 0) for (const [body, seed] of nestedBodies(info, bound)) checkRunnableOnce(clauseInfos(body), seed, rules);
    const code = info.clause.kind === 'predicate' || info.clause.kind === 'function' ? 'query/unbound-variable' : 'query/insufficient-binding';
    const how = info.clause.kind === 'not' && info.clause.variables === null ? ' (every variable of a not must be bound outside it; use not-join [?v ...] to join on some and keep the others local)' : '';
    fail(code, `The clause ${clause} needs ${missing.join(', ')} bound, but no other clause binds ${missing.length > 1 ? 'them' : 'it'}${how}.`, {
      clause, variables: missing,
    });
  }
}

function bindsOf(info: ClauseInfo): Iterable<string> {
  return info.clause.kind === 'not' ? [] : info.variables;
}

/** Estimated rows after running a clause against `relation` (lower runs first). */
export function estimate(scope: Scope, clause: Clause, relation: Relation): number {
  switch (clause.kind) {
    case 'pattern':
      return estimatePattern(scope, clause, relation);
    case 'or': {
      const inner = withDefaultSource(scope, clause.source);
      let total = 0;
      for (const branch of clause.branches) {
        let best = Infinity;
        for (const c of branch) if (c.kind === 'pattern') best = Math.min(best, estimatePattern(inner, c, relation));
        total += best === Infinity ? relation.rows.length : best;
      }
      return total;
    }
    case 'rule-call': {
      const anyBound = clause.args.some((a) => a.kind === 'constant' || (a.kind === 'variable' && relation.columns.includes(a.name)));
      if (scope.deltaClause === clause && scope.fixpoint !== null) {
        // The delta is small, but joined on nothing it multiplies every row.
        const delta = scope.fixpoint.deltaSize(clause);
        return anyBound || relation.columns.length === 0 ? delta : delta * relation.rows.length;
      }
      return anyBound ? relation.rows.length * 10 : 1e7;
    }
    default:
      return relation.rows.length;
  }
}

const compiledCache = new WeakMap<PatternClause, { db: Database; compiled: CompiledPattern }>();

/** A pattern compiled against a db value, cached per clause for the most recent db. */
export function compiledPattern(db: Database, clause: PatternClause): CompiledPattern {
  const cached = compiledCache.get(clause);
  if (cached !== undefined && cached.db === db) return cached.compiled;
  const compiled = compilePattern(db, clause);
  compiledCache.set(clause, { db, compiled });
  return compiled;
}

export function estimatePattern(scope: Scope, clause: PatternClause, relation: Relation): number {
  const source = patternSource(scope, clause);
  const rows = relation.rows.length;
  const product = relation.columns.length === 0 ? 1 : rows;
  if (!isDatabase(source)) {
    const bound = clause.terms.some((t) => t.kind === 'variable' && relation.columns.includes(t.name));
    return bound ? Math.max(rows, source.length / 2) : source.length * product;
  }
  const compiled = compiledPattern(source, clause);
  if (compiled.empty) return 0;
  const { bound } = boundVariables(compiled, relation.columns);
  if (bound.length === 0 || rows === 0) return countConstants(source, compiled) * product;
  // ?e bound with a cardinality-one attribute: at most one datom per row, and no more than the
  // attribute holds (an upper bound that needs no index count per sampled row).
  if (bound.length === 1 && bound[0]!.positions.length === 1 && bound[0]!.positions[0] === 0 && compiled.attribute?.cardinality === 'one'
    && compiled.constants[2] === undefined && compiled.constants[3] === undefined && !source.isHistory) {
    return Math.min(rows, countConstants(source, compiled));
  }
  const samples = rows <= 3 ? relation.rows : [relation.rows[0]!, relation.rows[rows >> 1]!, relation.rows[rows - 1]!];
  let total = 0;
  for (const row of samples) {
    const fixed = fixedFor(source, compiled, bound, row);
    if (fixed !== null) total += countDatoms(source, fixed);
  }
  return (total / samples.length) * rows;
}
