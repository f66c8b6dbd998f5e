//! User query functions and aggregates registered in-process (ions deploy theirs here later).
//! Names are symbols as written in queries, usually namespaced (`my.app/score`). Built-ins win:
//! a registered name that shadows a built-in is refused.
import { fail } from '../util/errors.ts';
import { builtinAggregate, type Aggregate } from './aggregates.ts';
import { builtin, type QueryFunction } from './builtins.ts';

const functions = new Map<string, QueryFunction>();
const aggregates = new Map<string, Aggregate>();

/**
 * Makes `fn` callable from queries as `name`: `[(my.app/score ?x) ?s]` or `[(my.app/ok? ?x)]`.
 * @example registerFunction('my.app/double', (x) => (x as number) * 2)
 */
export function registerFunction(name: string, fn: QueryFunction): void {
  if (builtin(name) !== undefined || name === 'q') fail('query/invalid-input', `${name} is a built-in query function and cannot be replaced.`, { name });
  functions.set(name, fn);
}

/**
 * Makes `fn` usable as an aggregate in :find: `(my.app/top ?x)`. It receives the bag of values
 * of one group, then any constant arguments.
 * @example registerAggregate('my.app/total', (values) => values.length)
 */
export function registerAggregate(name: string, fn: Aggregate): void {
  if (builtinAggregate(name) !== undefined) fail('query/invalid-input', `${name} is a built-in aggregate and cannot be replaced.`, { name });
  aggregates.set(name, fn);
}

export function unregister(name: string): void {
  functions.delete(name);
  aggregates.delete(name);
}

export function lookupFunction(name: string): QueryFunction | undefined {
  return builtin(name) ?? functions.get(name);
}

export function lookupAggregate(name: string): Aggregate | undefined {
  return builtinAggregate(name) ?? aggregates.get(name);
}
