//! Rules: calls are answered from tables computed bottom-up by semi-naive evaluation, driven by
//! demand (the arguments bound at each call), so a recursive rule never redoes work and a call
//! with bound arguments only explores what it can reach.
//!
//!   demand table  (rule, bound positions) → argument tuples asked for   ("magic" facts)
//!   answer table  rule → tuples derived so far (every tuple is true; tables only grow)
//!
//! A top-level call records its demands and runs the fixpoint: rounds until no table changes.
//! Each round works on a snapshot (rows up to `fullEnd`; the newest since the previous round
//! are the delta) and appends what it derives after the snapshot:
//!   - for new demands, every branch is evaluated, seeded with them;
//!   - for each rule call c in a branch whose rule got new answers, the branch is evaluated again
//!     with all demands as seed, c reading only the delta (the other calls read the snapshot).
//! Calls inside a branch record their demands (with whatever is bound when they run) and read the
//! snapshot, so recursion reaches a fixpoint: when no demand and no answer is new.
import { fail } from '../util/errors.ts';
import { formatClause } from './format.ts';
import { RowSet, rowKey, type Relation } from './relation.ts';
import { withDefaultSource, type Scope } from './scope.ts';
import type { Step } from './solve.ts';
import { solve } from './solve.ts';
import type { Clause, RuleBranch, RuleCallClause } from './syntax.ts';

/** Rows that only grow, with the snapshot of the current round. */
class GrowingTable {
  readonly rows: unknown[][] = [];
  private readonly keys = new RowSet();
  /** Rows before `fullEnd` are visible this round; those from `deltaStart` are new in it. */
  fullEnd = 0;
  deltaStart = 0;
  private readonly indexes = new Map<string, { map: Map<unknown, number[]>; upTo: number }>();

  add(row: unknown[]): void {
    if (this.keys.add(row)) this.rows.push(row);
  }

  /** Moves the snapshot forward; true when the new round has a delta. */
  endRound(): boolean {
    this.deltaStart = this.fullEnd;
    this.fullEnd = this.rows.length;
    return this.fullEnd > this.deltaStart;
  }

  get hasDelta(): boolean {
    return this.fullEnd > this.deltaStart;
  }

  /** Row numbers of the snapshot whose values at `positions` have `key`, kept incrementally. */
  matching(positions: readonly number[], key: unknown): readonly number[] {
    const name = positions.join(',');
    let index = this.indexes.get(name);
    if (index === undefined) {
      index = { map: new Map(), upTo: 0 };
      this.indexes.set(name, index);
    }
    for (; index.upTo < this.fullEnd; index.upTo++) {
      const k = rowKey(this.rows[index.upTo]!, positions);
      const list = index.map.get(k);
      if (list === undefined) index.map.set(k, [index.upTo]);
      else list.push(index.upTo);
    }
    return index.map.get(key) ?? [];
  }
}

const positionsCache: number[][] = [];
function allPositions(n: number): number[] {
  return (positionsCache[n] ??= Array.from({ length: n }, (_, i) => i));
}

interface DemandTable {
  readonly source: string;
  readonly name: string;
  readonly bound: readonly number[];
  readonly table: GrowingTable;
}

export class Fixpoint {
  private readonly answers = new Map<string, GrowingTable>();
  private readonly demands = new Map<string, DemandTable>();
  rounds = 0;

  constructor(private readonly scope: Scope) {}

  answerTable(source: string, name: string): GrowingTable {
    const key = `${source} ${name}`;
    let table = this.answers.get(key);
    if (table === undefined) {
      table = new GrowingTable();
      this.answers.set(key, table);
    }
    return table;
  }

  /** True when every answer of the rule is asked for already (a call with nothing bound). */
  demandsAll(source: string, name: string): boolean {
    const table = this.demands.get(`${source} ${name} `);
    return table !== undefined && table.table.rows.length > 0;
  }

  /** How many answers a delta pass of this call reads. */
  deltaSize(call: RuleCallClause): number {
    const table = this.answers.get(`${call.source} ${call.name}`);
    return table === undefined ? 0 : table.fullEnd - table.deltaStart;
  }

  demandTable(source: string, name: string, bound: readonly number[]): DemandTable {
    const key = `${source} ${name} ${bound.join(',')}`;
    let demand = this.demands.get(key);
    if (demand === undefined) {
      demand = { source, name, bound, table: new GrowingTable() };
      this.demands.set(key, demand);
    }
    return demand;
  }

  run(): void {
    for (;;) {
      let changed = false;
      for (const d of this.demands.values()) changed = d.table.endRound() || changed;
      for (const a of this.answers.values()) changed = a.endRound() || changed;
      if (!changed) return;
      this.rounds++;
      for (const demand of [...this.demands.values()]) this.evaluate(demand);
    }
  }

  private evaluate(demand: DemandTable): void {
    const { table } = demand;
    const branches = this.scope.rules!.get(demand.name)!;
    for (const branch of branches) {
      if (table.hasDelta) this.evaluateBranch(demand, branch, table.rows.slice(table.deltaStart, table.fullEnd), null);
      for (const call of ruleCallsOf(branch)) {
        if (this.answerTable(call.source === '$' ? demand.source : call.source, call.name).hasDelta) {
          this.evaluateBranch(demand, branch, table.rows.slice(0, table.fullEnd), call);
        }
      }
    }
  }

  private evaluateBranch(demand: DemandTable, branch: RuleBranch, seeds: readonly unknown[][], deltaClause: RuleCallClause | null): void {
    if (seeds.length === 0) return;
    const head = [...branch.variables.required, ...branch.variables.free].map((v) => v.name);
    const seed = seedRelation(head, demand.bound, seeds);
    const scope: Scope = { ...withDefaultSource(this.scope, demand.source), fixpoint: this, deltaClause, explain: null, depth: this.scope.depth + 1 };
    const result = solve(scope, branch.clauses, seed, new Set(head));
    const columns = head.map((v) => result.columns.indexOf(v));
    const unbound = head.filter((_, i) => columns[i] === -1);
    if (unbound.length > 0) {
      fail('query/insufficient-binding', `The rule ${branch.name} does not bind ${unbound.join(', ')} in one of its branches.`, { rule: branch.name, variables: unbound });
    }
    const answers = this.answerTable(demand.source, demand.name);
    const identity = columns.length === result.columns.length && columns.every((c, i) => c === i);
    for (const row of result.rows) answers.add(identity ? row : columns.map((c) => row[c]));
  }
}

/** The demand tuples as a relation over the head variables at the bound positions. */
function seedRelation(head: readonly string[], bound: readonly number[], seeds: readonly unknown[][]): Relation {
  const columns: string[] = [];
  const sameAs: number[] = [];
  bound.forEach((p) => {
    const j = columns.indexOf(head[p]!);
    if (j === -1) columns.push(head[p]!);
    sameAs.push(j === -1 ? columns.length - 1 : j);
  });
  const rows: unknown[][] = [];
  outer: for (const s of seeds) {
    const row = new Array<unknown>(columns.length);
    const set = new Array<boolean>(columns.length).fill(false);
    for (let i = 0; i < s.length; i++) {
      const c = sameAs[i]!;
      if (set[c] && rowKey([row[c]], [0]) !== rowKey([s[i]], [0])) continue outer;
      row[c] = s[i];
      set[c] = true;
    }
    rows.push(row);
  }
  return { columns, rows };
}

const callsCache = new WeakMap<RuleBranch, RuleCallClause[]>();
function ruleCallsOf(branch: RuleBranch): RuleCallClause[] {
  let calls = callsCache.get(branch);
  if (calls === undefined) {
    calls = [];
    const walk = (clauses: readonly Clause[]): void => {
      for (const c of clauses) {
        if (c.kind === 'rule-call') calls!.push(c);
        else if (c.kind === 'not') walk(c.clauses);
        else if (c.kind === 'or') for (const b of c.branches) walk(b);
      }
    };
    walk(branch.clauses);
    callsCache.set(branch, calls);
  }
  return calls;
}

/** Runs a rule call: records its demands, computes answers, joins them into the relation. */
export function runRuleCall(scope: Scope, clause: RuleCallClause, relation: Relation): Step {
  const branches = scope.rules?.get(clause.name);
  if (branches === undefined) {
    fail('query/unknown-rule', `Unknown rule ${clause.name} in ${formatClause(clause)}; pass rules with :in % and name them.`, { rule: clause.name, clause: formatClause(clause) });
  }
  const first = branches[0]!.variables;
  if (first.required.length + first.free.length !== clause.args.length) {
    fail('query/wrong-arity', `The rule ${clause.name} takes ${first.required.length + first.free.length} arguments, but ${formatClause(clause)} gives ${clause.args.length}.`, {
      rule: clause.name, clause: formatClause(clause),
    });
  }
  const bound: number[] = [];
  clause.args.forEach((a, i) => {
    if (a.kind === 'constant' || (a.kind === 'variable' && relation.columns.includes(a.name))) bound.push(i);
  });
  const requiredCount = Math.max(...branches.map((b) => b.variables.required.length));
  for (let i = 0; i < requiredCount; i++) {
    if (!bound.includes(i)) {
      fail('query/insufficient-binding', `The rule ${clause.name} requires its argument ${i + 1} to be bound, but it is not bound in ${formatClause(clause)}.`, {
        rule: clause.name, clause: formatClause(clause), argument: i + 1,
      });
    }
  }
  const fixpoint = scope.fixpoint ?? new Fixpoint(scope);
  const answers = fixpoint.answerTable(clause.source, clause.name);
  if (scope.deltaClause === clause) {
    return { relation: joinAnswers(scope, answers, clause, relation, bound, 'delta'), method: 'rule delta' };
  }
  // A call with nothing bound asks for every answer; narrower demands add nothing to it.
  if (!fixpoint.demandsAll(clause.source, clause.name)) {
    const demand = fixpoint.demandTable(clause.source, clause.name, bound);
    for (const row of relation.rows) demand.table.add(argumentValues(clause, relation, bound, row));
  }
  if (scope.fixpoint !== null) return { relation: joinAnswers(scope, answers, clause, relation, bound, 'full'), method: 'rule table' };
  fixpoint.run();
  const joined = joinAnswers(scope, answers, clause, relation, bound, 'full');
  return { relation: joined, method: `rule fixpoint, ${fixpoint.rounds} rounds, ${answers.rows.length} answers` };
}

function argumentValues(clause: RuleCallClause, relation: Relation, positions: readonly number[], row: readonly unknown[]): unknown[] {
  return positions.map((p) => {
    const a = clause.args[p]!;
    return a.kind === 'constant' ? a.value : row[relation.columns.indexOf((a as { name: string }).name)];
  });
}

/** Joins answers (the snapshot, or only its delta) into the relation on the bound positions. */
function joinAnswers(scope: Scope, answers: GrowingTable, clause: RuleCallClause, relation: Relation, bound: readonly number[], mode: 'full' | 'delta'): Relation {
  const fresh: { position: number; name: string }[] = [];
  const repeats: [number, number][] = [];
  clause.args.forEach((a, p) => {
    if (a.kind !== 'variable' || bound.includes(p)) return;
    const first = fresh.find((f) => f.name === a.name);
    if (first === undefined) fresh.push({ position: p, name: a.name });
    else repeats.push([first.position, p]);
  });
  const columns = [...relation.columns, ...fresh.map((f) => f.name)];
  const rows: unknown[][] = [];
  const start = mode === 'delta' ? answers.deltaStart : 0;
  // Answers are never changed: a call binding every position afresh can share them as rows.
  const whole = relation.columns.length === 0 && repeats.length === 0 && fresh.length === clause.args.length && fresh.every((f, i) => f.position === i);
  const accept = (row: readonly unknown[], answer: unknown[]): void => {
    if (whole) {
      rows.push(answer);
      return;
    }
    for (const [i, j] of repeats) if (rowKey([answer[i]], [0]) !== rowKey([answer[j]], [0])) return;
    const out = row.slice();
    for (let k = 0; k < fresh.length; k++) out.push(answer[fresh[k]!.position]);
    rows.push(out);
  };
  const tick = scope.clock.tick;
  for (const row of relation.rows) {
    tick();
    const values = argumentValues(clause, relation, bound, row);
    if (bound.length === 0) {
      for (let i = start; i < answers.fullEnd; i++) accept(row, answers.rows[i]!);
      continue;
    }
    const matches = answers.matching(bound, rowKey(values, allPositions(values.length)));
    for (let k = matches.length - 1; k >= 0 && matches[k]! >= start; k--) accept(row, answers.rows[matches[k]!]!);
  }
  // Matching answers agree on the bound positions and differ elsewhere: rows stay distinct.
  return { columns, rows, distinct: relation.distinct };
}
