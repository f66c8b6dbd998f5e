// Seeded random databases and queries in the subset where factum (Datomic's semantics) and
// DataScript agree, rendered for each engine: factum gets `:t/name` attributes and its clauses
// shuffled (its planner must make order irrelevant); DataScript gets "name" attributes and an
// order it can run as written (patterns, then the clauses that need their variables).

import { seededRandom } from '../../nodes/util/random.ts';

export type Random = () => number;

/** The project's seeded generator (nodes/util/random.ts). */
export const seeded: (seed: number) => Random = seededRandom;

const pick = <T>(random: Random, xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const int = (random: Random, n: number): number => Math.floor(random() * n);

export interface Entity {
  readonly name: string;
  readonly age: number | null;
  readonly tags: readonly string[];
  readonly friends: readonly number[];
  readonly parent: number | null;
}

export function randomEntities(random: Random): Entity[] {
  const n = 4 + int(random, 20);
  return Array.from({ length: n }, (_, i) => ({
    name: `n${int(random, 6)}`,
    age: random() < 0.8 ? int(random, 8) * 5 : null,
    tags: Array.from({ length: int(random, 3) }, () => pick(random, ['x', 'y', 'z'])),
    friends: Array.from({ length: int(random, 3) }, () => int(random, n)),
    parent: i > 0 && random() < 0.7 ? int(random, i) : null,
  }));
}

/** An abstract clause; `attribute` names are rendered per engine. */
type Term = { var: string } | { value: string | number };
type Clause =
  | { kind: 'pattern'; e: string; attribute: 'name' | 'age' | 'tag' | 'friend' | 'parent'; v: Term }
  | { kind: 'predicate'; op: '<' | '>' | '<=' | '>=' | '=' | '!='; left: string; right: Term }
  | { kind: 'not'; join: string[] | null; body: Clause[] }
  | { kind: 'or'; branches: Clause[][] }
  | { kind: 'rule'; name: 'reach' | 'named'; args: string[] }
  | { kind: 'function'; fn: 'inc' | 'str'; arg: string; out: string };

export interface GeneratedQuery {
  readonly factum: string;
  readonly datascript: string;
  readonly usesRules: boolean;
}

interface State {
  readonly random: Random;
  entities: string[];
  values: Map<string, 'string' | 'number'>;
  clauses: Clause[];
  counter: number;
}

function fresh(state: State, prefix: string): string {
  return `?${prefix}${state.counter++}`;
}

/** A connected pattern: joins on an entity variable already in the query (or starts one). */
function addPattern(state: State): void {
  const { random } = state;
  const e = state.entities.length > 0 && random() < 0.85 ? pick(random, state.entities) : fresh(state, 'e');
  if (!state.entities.includes(e)) state.entities.push(e);
  const attribute = pick(random, ['name', 'age', 'tag', 'friend', 'parent'] as const);
  if (attribute === 'friend' || attribute === 'parent') {
    // Never the same variable twice in one pattern: DataScript does not unify them (see docs/differences.md).
    const others = state.entities.filter((x) => x !== e);
    const target = random() < 0.3 && others.length > 0 ? pick(random, others) : fresh(state, 'e');
    if (!state.entities.includes(target)) state.entities.push(target);
    state.clauses.push({ kind: 'pattern', e, attribute, v: { var: target } });
    return;
  }
  const type = attribute === 'age' ? 'number' : 'string';
  if (random() < 0.3) {
    const value = attribute === 'age' ? int(random, 8) * 5 : attribute === 'name' ? `n${int(random, 6)}` : pick(random, ['x', 'y', 'z']);
    state.clauses.push({ kind: 'pattern', e, attribute, v: { value } });
    return;
  }
  const existing = [...state.values].filter(([, t]) => t === type).map(([v]) => v);
  const v = existing.length > 0 && random() < 0.25 ? pick(random, existing) : fresh(state, 'v');
  state.values.set(v, type);
  state.clauses.push({ kind: 'pattern', e, attribute, v: { var: v } });
}

function addPredicate(state: State): void {
  const { random } = state;
  const numbers = [...state.values].filter(([, t]) => t === 'number').map(([v]) => v);
  if (numbers.length === 0) return;
  const left = pick(random, numbers);
  const right: Term = numbers.length > 1 && random() < 0.3 ? { var: pick(random, numbers) } : { value: int(random, 8) * 5 };
  state.clauses.push({ kind: 'predicate', op: pick(random, ['<', '>', '<=', '>=', '=', '!='] as const), left, right });
}

function addNot(state: State): void {
  const { random } = state;
  if (state.entities.length === 0) return;
  const e = pick(random, state.entities);
  // A variable local to the body needs not-join: every variable of a plain not joins (issue 20).
  if (random() < 0.5) {
    state.clauses.push({ kind: 'not', join: null, body: [{ kind: 'pattern', e, attribute: 'age', v: { value: int(random, 8) * 5 } }] });
    return;
  }
  const tag = pick(random, ['x', 'y']);
  const body: Clause[] = [{ kind: 'pattern', e, attribute: 'friend', v: { var: '?local' } }, { kind: 'pattern', e: '?local', attribute: 'tag', v: { value: tag } }];
  state.clauses.push({ kind: 'not', join: [e], body });
}

function addOr(state: State): void {
  const { random } = state;
  if (state.entities.length === 0) return;
  const e = pick(random, state.entities);
  const branch = (): Clause[] => random() < 0.5
    ? [{ kind: 'pattern', e, attribute: 'name', v: { value: `n${int(random, 6)}` } }]
    : [{ kind: 'pattern', e, attribute: 'tag', v: { value: pick(random, ['x', 'y', 'z']) } }];
  state.clauses.push({ kind: 'or', branches: [branch(), branch()] });
}

function addRule(state: State): void {
  const { random } = state;
  if (state.entities.length === 0) return;
  const e = pick(random, state.entities);
  if (random() < 0.6) {
    const others = state.entities.filter((x) => x !== e);
    const other = random() < 0.5 && others.length > 0 ? pick(random, others) : fresh(state, 'e');
    if (!state.entities.includes(other)) state.entities.push(other);
    state.clauses.push({ kind: 'rule', name: 'reach', args: [e, other] });
  } else {
    const v = fresh(state, 'v');
    state.values.set(v, 'string');
    state.clauses.push({ kind: 'rule', name: 'named', args: [e, v] });
  }
}

function addFunction(state: State): void {
  const numbers = [...state.values].filter(([, t]) => t === 'number').map(([v]) => v);
  if (numbers.length === 0) return;
  const out = fresh(state, 'f');
  state.values.set(out, 'number');
  state.clauses.push({ kind: 'function', fn: 'inc', arg: pick(state.random, numbers), out });
}

export function randomQuery(random: Random): GeneratedQuery {
  const state: State = { random, entities: [], values: new Map(), clauses: [], counter: 0 };
  const patterns = 1 + int(random, 3);
  for (let i = 0; i < patterns; i++) addPattern(state);
  const extras = int(random, 3);
  for (let i = 0; i < extras; i++) {
    pick(random, [addPattern, addPredicate, addNot, addOr, addRule, addFunction, addPredicate])(state);
  }
  const usesRules = state.clauses.some((c) => c.kind === 'rule');
  const find = findSpec(state);
  const ordered = orderForDataScript(state.clauses);
  const shuffled = shuffle(random, state.clauses);
  const inputs = usesRules ? ':in $ % ' : '';
  return {
    factum: `[:find ${find} ${inputs}:where ${shuffled.map((c) => render(c, 'factum')).join(' ')}]`,
    datascript: `[:find ${find} ${inputs}:where ${ordered.map((c) => render(c, 'datascript')).join(' ')}]`,
    usesRules,
  };
}

function findSpec(state: State): string {
  const { random } = state;
  const variables = [...state.entities, ...state.values.keys()];
  const chosen = shuffle(random, variables).slice(0, 1 + int(random, Math.min(3, variables.length)));
  const numbers = [...state.values].filter(([, t]) => t === 'number').map(([v]) => v);
  if (random() < 0.25) {
    const target = numbers.length > 0 && random() < 0.6 ? pick(random, numbers) : pick(random, variables);
    const fn = numbers.includes(target) ? pick(random, ['count', 'sum', 'min', 'max', 'count-distinct']) : pick(random, ['count', 'count-distinct']);
    const groups = chosen.filter((v) => v !== target).slice(0, 1);
    return [...groups, `(${fn} ${target})`].join(' ');
  }
  return chosen.join(' ');
}

function shuffle<T>(random: Random, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = int(random, i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Patterns and rule calls first (binding), then functions, predicates, not and or. */
function orderForDataScript(clauses: readonly Clause[]): Clause[] {
  const rank = (c: Clause): number => (c.kind === 'pattern' ? 0 : c.kind === 'rule' ? 1 : c.kind === 'function' ? 2 : 3);
  return [...clauses].sort((a, b) => rank(a) - rank(b));
}

function attributeName(attribute: string, engine: 'factum' | 'datascript'): string {
  return engine === 'factum' ? `:t/${attribute}` : `"${attribute}"`;
}

function term(t: Term): string {
  return 'var' in t ? t.var : typeof t.value === 'string' ? `"${t.value}"` : String(t.value);
}

function render(clause: Clause, engine: 'factum' | 'datascript'): string {
  switch (clause.kind) {
    case 'pattern':
      return `[${clause.e} ${attributeName(clause.attribute, engine)} ${term(clause.v)}]`;
    case 'predicate':
      return `[(${engine === 'datascript' && clause.op === '!=' ? 'not=' : clause.op} ${clause.left} ${term(clause.right)})]`;
    case 'not':
      return `(${clause.join === null ? 'not' : `not-join [${clause.join.join(' ')}]`} ${clause.body.map((c) => render(c, engine)).join(' ')})`;
    case 'or':
      return `(or ${clause.branches.map((b) => (b.length === 1 ? render(b[0]!, engine) : `(and ${b.map((c) => render(c, engine)).join(' ')})`)).join(' ')})`;
    case 'rule':
      return `(${clause.name} ${clause.args.join(' ')})`;
    case 'function':
      return `[(${clause.fn} ${clause.arg}) ${clause.out}]`;
  }
}

export function rulesFor(engine: 'factum' | 'datascript'): string {
  const a = (name: string): string => attributeName(name, engine);
  return `[[(reach ?a ?b) [?a ${a('friend')} ?b]]
           [(reach ?a ?b) [?a ${a('friend')} ?c] (reach ?c ?b)]
           [(named ?e ?n) [?e ${a('name')} ?n]]
           [(named ?e ?n) [?e ${a('parent')} ?p] [?p ${a('name')} ?n]]]`;
}
