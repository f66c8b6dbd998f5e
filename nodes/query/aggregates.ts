//! Aggregate functions of :find. Each takes its constant arguments (the `n` of `(max n ?x)`) and
//! the bag of values of its variable in one group (the group's rows are a set over the :find and
//! :with variables, so the bag keeps duplicates those distinguish).
//!
//! As Datomic: `min`/`max` compare by the index's value order (so they work on strings,
//! instants, ...); `(max n ?x)` is largest first; `avg`, `variance`, `stddev` are doubles;
//! `median` of an even count is the mean of the middle two.
import { fail } from '../util/errors.ts';
import { compareValues } from '../values/compare.ts';
import { distinctRows } from './relation.ts';
import { show } from './show.ts';

export type Aggregate = (values: readonly unknown[], ...constants: unknown[]) => unknown;

function numbers(name: string, values: readonly unknown[]): number[] {
  return values.map((v) => {
    if (typeof v === 'number') return v;
    if (typeof v === 'bigint') return Number(v);
    return fail('query/function-failed', `The aggregate ${name} needs numbers, got ${show(v)}.`, { aggregate: name, value: v });
  });
}

function sum(values: readonly unknown[]): unknown {
  if (values.some((v) => typeof v === 'bigint') && values.every((v) => typeof v === 'bigint' || Number.isInteger(v))) {
    return values.reduce<bigint>((a, v) => a + BigInt(v as number), 0n);
  }
  return numbers('sum', values).reduce((a, b) => a + b, 0);
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function variance(values: readonly unknown[]): number {
  const xs = numbers('variance', values);
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) * (x - m), 0) / xs.length;
}

function median(values: readonly unknown[]): unknown {
  const xs = [...values].sort(compareValues);
  const mid = xs.length >> 1;
  if (xs.length % 2 === 1) return xs[mid];
  const [a, b] = numbers('median', [xs[mid - 1], xs[mid]]);
  return (a! + b!) / 2;
}

function count(name: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    fail('query/invalid-input', `The count argument of (${name} n ?x) must be a non-negative integer, got ${show(n)}.`, { aggregate: name, value: n });
  }
  return n;
}

function extreme(name: string, sign: number): Aggregate {
  return (values, ...constants) => {
    if (constants.length === 0) return values.reduce((a, b) => (compareValues(b, a) * sign > 0 ? b : a));
    const n = count(name, constants[0]);
    const distinct = distinctRows(values.map((v) => [v])).map((r) => r[0]);
    return distinct.sort((a, b) => sign * compareValues(b, a)).slice(0, n);
  };
}

/** A deterministic shuffle is not required: `rand` and `sample` are random, as in Datomic. */
function shuffled(values: readonly unknown[]): unknown[] {
  const xs = [...values];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

const aggregateTable: Record<string, Aggregate> = {
  count: (values) => values.length,
  'count-distinct': (values) => distinctRows(values.map((v) => [v])).length,
  sum,
  avg: (values) => mean(numbers('avg', values)),
  median,
  variance,
  stddev: (values) => Math.sqrt(variance(values)),
  min: extreme('min', -1),
  max: extreme('max', 1),
  distinct: (values) => new Set(distinctRows(values.map((v) => [v])).map((r) => r[0])),
  rand: (values, ...constants) => {
    if (constants.length === 0) return values[Math.floor(Math.random() * values.length)];
    const n = count('rand', constants[0]);
    return Array.from({ length: n }, () => values[Math.floor(Math.random() * values.length)]);
  },
  sample: (values, ...constants) => {
    const n = count('sample', constants[0]);
    return shuffled(distinctRows(values.map((v) => [v])).map((r) => r[0])).slice(0, n);
  },
};

export function builtinAggregate(name: string): Aggregate | undefined {
  const short = name.startsWith('clojure.core/') ? name.slice('clojure.core/'.length) : name;
  return Object.hasOwn(aggregateTable, short) ? aggregateTable[short] : undefined;
}
