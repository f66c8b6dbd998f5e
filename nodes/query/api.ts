//! The public query functions. A query is EDN text (Datomic's syntax, verbatim) or the same as
//! data; parsed queries are cached by text (bounded) and by identity (weakly), so a parameterised
//! query is parsed once however often it runs.
//!
//! @example
//!   q('[:find ?name :in $ ?age :where [?e :person/age ?age] [?e :person/name ?name]]', db, 42)
//!   query({ query: '[:find ...]', args: [db], timeout: 1000, limit: 10 })
import { readEdn } from '../edn/reader.ts';
import { fail } from '../util/errors.ts';
import { runQuery, runWhere, type RunOptions } from './engine.ts';
import { pullCells, resultRows, shapeRow } from './find.ts';
import { parseQuery } from './parser.ts';
import type { ExplainStep } from './scope.ts';
import type { Query } from './syntax.ts';

const TEXT_CACHE_MAX = 1024;
const textCache = new Map<string, Query>();
const dataCache = new WeakMap<object, Query>();

/** Parses (or finds in the cache) a query given as text or data. */
export function parse(query: unknown): Query {
  if (typeof query === 'string') {
    let parsed = textCache.get(query);
    if (parsed === undefined) {
      parsed = parseQuery(readEdn(query));
      if (textCache.size >= TEXT_CACHE_MAX) textCache.delete(textCache.keys().next().value!);
      textCache.set(query, parsed);
    }
    return parsed;
  }
  if (typeof query === 'object' && query !== null) {
    let parsed = dataCache.get(query);
    if (parsed === undefined) {
      parsed = parseQuery(query);
      dataCache.set(query, parsed);
    }
    return parsed;
  }
  return fail('query/syntax', `A query is EDN text or data ([:find ...] or {:find [...]}), got ${typeof query}.`, { form: query });
}

function baseOptions(): RunOptions {
  return { readText: readEdn, parse };
}

/** Runs a query against its inputs (the first is usually a db value for `$`). */
export function q(query: unknown, ...inputs: unknown[]): unknown {
  return runQuery(parse(query), inputs, baseOptions()).result;
}

export interface QueryArgs {
  readonly query: unknown;
  readonly args?: readonly unknown[];
  /** Milliseconds; past it the query stops with `query/timeout`. */
  readonly timeout?: number | null;
  readonly offset?: number | null;
  readonly limit?: number | null;
  /** Return `{ result, plan }` with the steps the engine took. */
  readonly explain?: boolean;
}

export interface Explain {
  readonly result: unknown;
  readonly plan: readonly ExplainStep[];
  /** The plan as text, one step per line. */
  readonly text: string;
}

/** Datomic's arg-map form of q: `{ query, args, timeout, offset, limit }`. */
export function query(args: QueryArgs): unknown {
  checkOptions(args);
  const options: RunOptions = { ...baseOptions(), timeoutMs: args.timeout ?? null, offset: args.offset ?? null, limit: args.limit ?? null, explain: args.explain === true };
  const run = runQuery(parse(args.query), args.args ?? [], options);
  if (args.explain !== true) return run.result;
  return explainOf(run.result, run.steps ?? []);
}

function checkOptions(args: QueryArgs): void {
  for (const name of ['timeout', 'offset', 'limit'] as const) {
    const value = args[name];
    if (value !== undefined && value !== null && (typeof value !== 'number' || !Number.isInteger(value) || (value < 0 && name !== 'limit'))) {
      fail('query/invalid-input', `The ${name} option must be a non-negative integer, got ${String(value)}.`, { option: name, value });
    }
  }
}

/** Runs the query and returns its result with the plan: each step, its method and its rows. */
export function explain(queryForm: unknown, ...inputs: unknown[]): Explain {
  const run = runQuery(parse(queryForm), inputs, { ...baseOptions(), explain: true });
  return explainOf(run.result, run.steps ?? []);
}

function explainOf(result: unknown, plan: readonly ExplainStep[]): Explain {
  const text = plan
    .map((s) => `${'  '.repeat(s.depth)}${s.clause}  ${s.method}  ${s.rowsIn} → ${s.rowsOut} rows${s.estimate === null ? '' : ` (estimated ${Math.round(s.estimate)})`}`)
    .join('\n');
  return { result, plan, text };
}

/**
 * A lazy query: :where is solved when iteration starts; rows are shaped (and pulled) one at a
 * time as they are consumed, like Datomic's qseq. Works for relation and collection find specs.
 */
export function qseq(queryForm: unknown, ...inputs: unknown[]): Iterable<unknown> {
  const parsed = parse(queryForm);
  if (parsed.find.kind === 'find-scalar' || parsed.find.kind === 'find-tuple') {
    fail('query/invalid-input', 'qseq needs a relation or collection find spec.', { find: parsed.find.kind });
  }
  return {
    *[Symbol.iterator]() {
      const options = { ...baseOptions(), lazyPull: true };
      const { relation, scope } = runWhere(parsed, inputs, options);
      for (const row of resultRows(parsed, relation, scope.sources, options)) {
        const pulled = pullCells(parsed, row, scope.sources);
        yield parsed.find.kind === 'find-collection' ? pulled[0] : shapeRow(parsed, pulled);
      }
    },
  };
}
