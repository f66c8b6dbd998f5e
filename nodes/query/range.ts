//! Range push-down: a comparison of a pattern's value variable with a constant narrows the
//! pattern's scan to a value range of AVET, so `[?e :salary ?s] [(> ?s 50000)]` reads only the
//! salaries above 50000. The predicate still runs afterwards (the range only narrows the scan; an
//! upper bound from `<=` is not used, since the index range's end is exclusive).
//!
//! The other side of the comparison may be a literal, or a variable bound to a single value
//! (a scalar input).
import { compareValues } from '../values/compare.ts';
import type { ValueRange } from './pattern.ts';
import type { Relation } from './relation.ts';
import type { Argument, Clause, PatternClause } from './syntax.ts';

type Bound = { value: unknown; kind: 'lower' | 'upper' };

/** The value range implied for `pattern`'s value variable by the predicates still to run. */
export function rangeFor(pattern: PatternClause, remaining: Iterable<Clause>, scalars: readonly Relation[]): ValueRange | undefined {
  const v = pattern.terms[2];
  if (v === undefined || v.kind !== 'variable') return undefined;
  if (pattern.terms.some((t, i) => i !== 2 && t.kind === 'variable' && t.name === v.name)) return undefined;
  let start: unknown;
  let end: unknown;
  for (const clause of remaining) {
    if (clause.kind !== 'predicate' || clause.args.length !== 2) continue;
    const bound = boundOf(clause.name, clause.args, v.name, scalars);
    if (bound === undefined || bound.value === null || bound.value === undefined) continue;
    if (bound.kind === 'lower' && (start === undefined || compareValues(bound.value, start) > 0)) start = bound.value;
    if (bound.kind === 'upper' && (end === undefined || compareValues(bound.value, end) < 0)) end = bound.value;
  }
  if (start === undefined && end === undefined) return undefined;
  return { start: start ?? null, end: end ?? null };
}

const flipped: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };

function boundOf(name: string, args: readonly Argument[], variable: string, scalars: readonly Relation[]): Bound | undefined {
  let op = name;
  let other: Argument;
  if (args[0]!.kind === 'variable' && args[0]!.name === variable) other = args[1]!;
  else if (args[1]!.kind === 'variable' && args[1]!.name === variable) {
    other = args[0]!;
    op = flipped[name] ?? '';
  } else {
    return undefined;
  }
  const value = valueOf(other, variable, scalars);
  if (value === undefined) return undefined;
  switch (op) {
    case '>':
    case '>=':
      return { value: value.value, kind: 'lower' };
    case '<':
      return { value: value.value, kind: 'upper' };
    default:
      return undefined;
  }
}

function valueOf(arg: Argument, variable: string, scalars: readonly Relation[]): { value: unknown } | undefined {
  if (arg.kind === 'constant') return { value: arg.value };
  if (arg.kind !== 'variable' || arg.name === variable) return undefined;
  for (const relation of scalars) {
    const column = relation.columns.indexOf(arg.name);
    if (column !== -1) return relation.rows.length === 1 ? { value: relation.rows[0]![column] } : undefined;
  }
  return undefined;
}
