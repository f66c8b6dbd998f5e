//! Running a parsed query: bind the inputs (:in), solve :where (solve.ts), project :find.
//!
//!   inputs ──▶ sources ($...), rules (%), input relation (product of the :in bindings)
//!          ──▶ solve(:where) ──▶ relation ──▶ find.ts ──▶ result
import { fail } from '../util/errors.ts';
import { bindValue } from './bindings.ts';
import { resultRows, shapeResult } from './find.ts';
import { parseRules } from './parser.ts';
import { join, unitRelation, type Relation } from './relation.ts';
import { Clock, isDatabase, type ExplainStep, type Scope } from './scope.ts';
import { solve } from './solve.ts';
import type { Query, RuleSet } from './syntax.ts';
import { show } from './show.ts';

export interface RunOptions {
  readonly timeoutMs?: number | null;
  readonly offset?: number | null;
  readonly limit?: number | null;
  readonly explain?: boolean;
  /** Turns EDN text (rules given as a string) into data. */
  readonly readText: (text: string) => unknown;
  /** Parses a query given as data or text (for nested `q`), with caching. */
  readonly parse: (query: unknown) => Query;
  readonly clock?: Clock;
}

export interface Prepared {
  readonly scope: Scope;
  readonly input: Relation;
}

/** Binds the inputs to the query's :in. */
export function prepare(query: Query, inputs: readonly unknown[], options: RunOptions): Prepared {
  if (inputs.length !== query.inputs.length) {
    fail('query/wrong-arity', `The query's :in names ${query.inputs.length} inputs (${query.inputs.map(inputName).join(' ')}) but ${inputs.length} were given.`, {
      expected: query.inputs.length, given: inputs.length,
    });
  }
  const clock = options.clock ?? Clock.forTimeout(options.timeoutMs);
  const sources = new Map<string, unknown>();
  let rules: RuleSet | null = null;
  let input = unitRelation();
  query.inputs.forEach((spec, i) => {
    const value = inputs[i];
    switch (spec.kind) {
      case 'in-source':
        if (!isDatabase(value) && !Array.isArray(value)) {
          fail('query/invalid-input', `The input ${spec.name} must be a db value or a collection of tuples, got ${show(value)}.`, { input: spec.name });
        }
        sources.set(spec.name, value);
        break;
      case 'in-rules':
        rules = parseRules(typeof value === 'string' ? options.readText(value) : value);
        break;
      case 'in-binding':
        input = join(input, bindValue(spec.binding, value, 'fail'), clock.tick);
        break;
    }
  });
  const explain: ExplainStep[] | null = options.explain === true ? [] : null;
  const scope: Scope = {
    sources, rules, clock, explain, depth: 0, fixpoint: null, deltaClause: null, scans: new Map(),
    runQuery: (nested, nestedInputs) => runQuery(options.parse(nested), nestedInputs, { ...options, explain: false, clock, offset: null, limit: null }).result,
  };
  return { scope, input };
}

function inputName(spec: Query['inputs'][number]): string {
  return spec.kind === 'in-source' ? spec.name : spec.kind === 'in-rules' ? '%' : 'binding';
}

export interface RunResult {
  readonly result: unknown;
  readonly steps: readonly ExplainStep[] | null;
}

export function runQuery(query: Query, inputs: readonly unknown[], options: RunOptions): RunResult {
  const { scope, input } = prepare(query, inputs, options);
  const relation = solve(scope, query.where, input, resultVariables(query));
  const rows = resultRows(query, relation, scope.sources, options);
  return { result: shapeResult(query, rows), steps: scope.explain };
}

/** The :where relation and the prepared scope, for lazy consumers (qseq). */
export function runWhere(query: Query, inputs: readonly unknown[], options: RunOptions): { relation: Relation; scope: Scope } {
  const { scope, input } = prepare(query, inputs, options);
  return { relation: solve(scope, query.where, input, resultVariables(query)), scope };
}

/** The variables :find and :with read. */
function resultVariables(query: Query): Set<string> {
  const find = query.find;
  const elements = find.kind === 'find-relation' || find.kind === 'find-tuple' ? find.elements : [find.element];
  const names = new Set(query.with.map((v) => v.name));
  for (const element of elements) {
    names.add(element.variable.name);
    if (element.kind === 'find-pull' && element.pattern.kind === 'variable') names.add(element.pattern.name);
  }
  return names;
}
