//! What every step of an evaluation can see: the sources, the rules, the functions, the clock that
//! enforces the timeout, the explain log, and (inside rule evaluation) the fixpoint being computed.
import type { Database } from '../db/database.ts';
import { fail } from '../util/errors.ts';
import type { RuleSet, RuleCallClause } from './syntax.ts';
import type { Fixpoint } from './rules.ts';
import type { CompiledPattern } from './pattern.ts';
import type { Relation } from './relation.ts';

/** A data source: a db value, or a collection of tuples matched by position. */
export type Source = Database | readonly (readonly unknown[])[];

export function isDatabase(source: unknown): source is Database {
  return typeof source === 'object' && source !== null && typeof (source as Database).datoms === 'function'
    && typeof (source as Database).count === 'function';
}

/** Checks the deadline every 256 ticks: cheap enough to call per row. */
export class Clock {
  private ticks = 0;
  constructor(
    private readonly deadline: number | null,
    private readonly timeoutMs: number | null,
  ) {}

  static forTimeout(timeoutMs: number | null | undefined): Clock {
    if (timeoutMs === null || timeoutMs === undefined) return new Clock(null, null);
    return new Clock(performance.now() + timeoutMs, timeoutMs);
  }

  readonly tick = (): void => {
    if (this.deadline !== null && (++this.ticks & 255) === 0) this.check();
  };

  check(): void {
    if (this.deadline !== null && performance.now() > this.deadline) {
      fail('query/timeout', `The query ran longer than its timeout of ${this.timeoutMs} ms and was interrupted.`, { timeoutMs: this.timeoutMs });
    }
  }
}

/** One step of an evaluation, for explain. */
export interface ExplainStep {
  readonly depth: number;
  readonly clause: string;
  readonly method: string;
  readonly estimate: number | null;
  readonly rowsIn: number;
  readonly rowsOut: number;
}

export interface Scope {
  readonly sources: ReadonlyMap<string, unknown>;
  readonly rules: RuleSet | null;
  readonly clock: Clock;
  readonly explain: ExplainStep[] | null;
  readonly depth: number;
  /** Set while evaluating rule bodies: the tables of rule answers being computed. */
  readonly fixpoint: Fixpoint | null;
  /** In a semi-naive delta pass: the rule call that reads only the newest answers. */
  readonly deltaClause: RuleCallClause | null;
  /**
   * Constants-only scans done so far by this query, by compiled pattern (db values are immutable,
   * so a scan repeated in every round of a fixpoint is read once).
   */
  readonly scans: Map<CompiledPattern, Relation>;
  /** Runs a nested query (the `q` function). */
  readonly runQuery: (query: unknown, inputs: readonly unknown[]) => unknown;
}

export function sourceOf(scope: Scope, name: string): unknown {
  const source = scope.sources.get(name);
  if (source === undefined) {
    fail('query/unknown-source', `The source ${name} is not bound; name it in :in (e.g. :in ${name} ...) and pass it as an input.`, { source: name });
  }
  return source;
}

/** The scope of a nested clause run against `source` as its default `$`. */
export function withDefaultSource(scope: Scope, source: string): Scope {
  if (source === '$') return scope;
  const sources = new Map(scope.sources);
  sources.set('$', sourceOf(scope, source));
  return { ...scope, sources };
}
