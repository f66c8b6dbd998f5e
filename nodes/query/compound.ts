//! `not`, `not-join`, `or`, `or-join` (and `and` inside them).
//!
//! Each runs its body as a subquery seeded with the distinct values of its join variables that
//! are bound now, then:
//!   not   removes the rows whose join values the body matched (anti-join)
//!   or    joins the union of the branches' results over its variables
//! `not` joins on every variable it uses (Datomic: "All variables used in a not clause will unify
//! with the surrounding query"), so all of them must be bound before it runs; `not-join` and
//! `or-join` join on the variables they name, the others being local to them.
import { fail } from '../util/errors.ts';
import { formatClause } from './format.ts';
import { antiJoin, join, project, union, type Relation } from './relation.ts';
import { withDefaultSource, type Scope } from './scope.ts';
import { solve } from './solve.ts';
import type { NotClause, OrClause } from './syntax.ts';
import { collectVariables } from './variables.ts';

function innerScope(scope: Scope, source: string): Scope {
  const inner = withDefaultSource(scope, source);
  return { ...inner, depth: scope.depth + 1 };
}

export function runNot(scope: Scope, clause: NotClause, relation: Relation): Relation {
  const joinVariables = clause.variables !== null ? clause.variables.map((v) => v.name) : [...collectVariables(clause.clauses)];
  const unbound = joinVariables.filter((v) => !relation.columns.includes(v));
  if (unbound.length > 0) {
    fail('query/insufficient-binding', `${formatClause(clause)} needs ${unbound.join(', ')} bound before it runs; every variable of a not joins with the query (use not-join to keep some local).`, { clause: formatClause(clause), variables: unbound });
  }
  const seed = project(relation, joinVariables, true);
  const matched = solve(innerScope(scope, clause.source), clause.clauses, seed);
  return antiJoin(relation, project(matched, joinVariables, true));
}

export function runOr(scope: Scope, clause: OrClause, relation: Relation): Relation {
  const variables = clause.variables !== null
    ? [...clause.variables.required, ...clause.variables.free].map((v) => v.name)
    : [...collectVariables(clause.branches[0]!)];
  for (const v of clause.variables?.required ?? []) {
    if (!relation.columns.includes(v.name)) {
      fail('query/insufficient-binding', `${formatClause(clause)} requires ${v.name} to be bound before it runs.`, { clause: formatClause(clause), variable: v.name });
    }
  }
  const boundNow = variables.filter((v) => relation.columns.includes(v));
  const columns = [...boundNow, ...variables.filter((v) => !boundNow.includes(v))];
  const seed = project(relation, boundNow, true);
  const inner = innerScope(scope, clause.source);
  const parts = clause.branches.map((branch) => {
    const result = solve(inner, branch, seed);
    const missing = columns.filter((v) => !result.columns.includes(v));
    if (missing.length > 0) {
      fail('query/insufficient-binding', `A branch of ${formatClause(clause)} does not bind ${missing.join(', ')}.`, { clause: formatClause(clause), variables: missing });
    }
    return result;
  });
  return join(relation, union(columns, parts), scope.clock.tick);
}
