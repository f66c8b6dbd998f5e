//! Predicate expressions `[(pred ?a 1)]` filter rows; function expressions `[(f ?a) binding]`
//! extend each row with the rows its result gives under the binding form (bindings.ts). A function
//! returning nil binds nothing, so the row is dropped (as in Datomic). Errors thrown by a user
//! function become `query/function-failed`; the query's own errors pass through.
import { SegmentNotResident } from '../btree/durable-tree.ts';
import { FactumError, fail } from '../util/errors.ts';
import { valuesEqual } from '../values/compare.ts';
import { bindValue } from './bindings.ts';
import { truthy, type QueryFunction } from './builtins.ts';
import { formatClause } from './format.ts';
import { lookupFunction } from './registry.ts';
import type { Relation } from './relation.ts';
import { sourceOf, type Scope } from './scope.ts';
import type { Argument, FunctionClause, PredicateClause } from './syntax.ts';
import { bindingVariableNames } from './variables.ts';

/** Argument readers: a constant, a column of the row, or a source. */
type ArgumentReader = (row: readonly unknown[]) => unknown;

function readers(scope: Scope, args: readonly Argument[], columns: readonly string[], scalars: readonly Relation[] = []): ArgumentReader[] {
  return args.map((arg): ArgumentReader => {
    switch (arg.kind) {
      case 'constant': {
        const value = arg.value;
        return () => value;
      }
      case 'source': {
        const source = sourceOf(scope, arg.name);
        return () => source;
      }
      case 'variable': {
        const column = columns.indexOf(arg.name);
        if (column === -1) {
          const scalar = scalars.find((s) => s.columns.includes(arg.name));
          const value = scalar?.rows[0]![scalar.columns.indexOf(arg.name)];
          return () => value;
        }
        return (row) => row[column];
      }
    }
  });
}

function resolve(scope: Scope, clause: PredicateClause | FunctionClause): QueryFunction {
  if (clause.name === 'q') return (query, ...inputs) => scope.runQuery(query, inputs);
  const fn = lookupFunction(clause.name);
  if (fn === undefined) {
    fail('query/unknown-function', `Unknown function ${clause.name} in ${formatClause(clause)}; expected a built-in or a function registered with registerFunction.`, {
      function: clause.name, clause: formatClause(clause),
    });
  }
  return fn;
}

function call(fn: QueryFunction, clause: PredicateClause | FunctionClause, args: unknown[]): unknown {
  try {
    return fn(...args);
  } catch (error) {
    if (error instanceof FactumError || error instanceof SegmentNotResident) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new FactumError('query/function-failed', `The function ${clause.name} failed in ${formatClause(clause)}: ${message}`, {
      function: clause.name, clause: formatClause(clause),
    }, { cause: error });
  }
}

/** `scalars`: one-row relations (scalar inputs) whose values the predicate reads without joining them. */
export function runPredicate(scope: Scope, clause: PredicateClause, relation: Relation, scalars: readonly Relation[] = []): Relation {
  const fn = resolve(scope, clause);
  const read = readers(scope, clause.args, relation.columns, scalars);
  const tick = scope.clock.tick;
  const rows = relation.rows.filter((row) => {
    tick();
    return truthy(call(fn, clause, read.map((r) => r(row))));
  });
  return { columns: relation.columns, rows, distinct: relation.distinct, sortedBy: relation.sortedBy };
}

export function runFunction(scope: Scope, clause: FunctionClause, relation: Relation): Relation {
  const fn = resolve(scope, clause);
  const read = readers(scope, clause.args, relation.columns);
  const tick = scope.clock.tick;
  const binding = clause.binding;
  if (binding.kind === 'bind-scalar' && !relation.columns.includes(binding.variable.name)) {
    const rows: unknown[][] = [];
    for (const row of relation.rows) {
      tick();
      const value = call(fn, clause, read.map((r) => r(row)));
      if (value !== null && value !== undefined) rows.push(row.concat([value]));
    }
    return { columns: [...relation.columns, binding.variable.name], rows, distinct: relation.distinct, sortedBy: relation.sortedBy };
  }
  return bindEach(relation, [...new Set(bindingVariableNames(binding))], (row) => {
    tick();
    const value = call(fn, clause, read.map((r) => r(row)));
    return value === null || value === undefined ? null : bindValue(binding, value, 'skip');
  });
}

/** Extends every row with the rows `bind` gives it, unifying variables already bound. */
function bindEach(relation: Relation, names: readonly string[], bind: (row: readonly unknown[]) => Relation | null): Relation {
  const shared: [number, number][] = [];
  const fresh: number[] = [];
  names.forEach((c, i) => {
    const j = relation.columns.indexOf(c);
    if (j === -1) fresh.push(i);
    else shared.push([j, i]);
  });
  const columns = [...relation.columns, ...fresh.map((i) => names[i]!)];
  const rows: unknown[][] = [];
  for (const row of relation.rows) {
    const bound = bind(row);
    if (bound === null) continue;
    for (const extension of bound.rows) {
      if (shared.every(([j, i]) => valuesEqual(row[j], extension[i]))) rows.push(row.concat(fresh.map((i) => extension[i])));
    }
  }
  return { columns, rows };
}
