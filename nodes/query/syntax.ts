//! The parsed form of a Datalog query: an immutable tree, a tagged union on `kind` for every
//! node that has variants. The parser (parser.ts) builds it from EDN data; the engine reads it.
//!
//! Variables are kept by name (`?e`), sources by name (`$`, `$db`), rules by name.

/** `?x`: a logic variable. */
export interface Variable {
  readonly kind: 'variable';
  readonly name: string;
}
/** A literal value in a clause (string, number, keyword, lookup ref vector, ...). */
export interface Constant {
  readonly kind: 'constant';
  readonly value: unknown;
}
/** `_`: matches anything, binds nothing. */
export interface Blank {
  readonly kind: 'blank';
}
/** `$` or `$name` used as an argument of a function or predicate. */
export interface SourceArgument {
  readonly kind: 'source';
  readonly name: string;
}

export type Term = Variable | Constant | Blank;
export type Argument = Variable | Constant | SourceArgument;

// ---- binding forms (`:in` and function outputs) ----

export interface BindScalar {
  readonly kind: 'bind-scalar';
  readonly variable: Variable;
}
export interface BindBlank {
  readonly kind: 'bind-blank';
}
export interface BindTuple {
  readonly kind: 'bind-tuple';
  readonly elements: readonly Binding[];
}
export interface BindCollection {
  readonly kind: 'bind-collection';
  readonly element: Binding;
}
export type Binding = BindScalar | BindBlank | BindTuple | BindCollection;

// ---- :in ----

export interface InSource {
  readonly kind: 'in-source';
  readonly name: string;
}
export interface InRules {
  readonly kind: 'in-rules';
}
export interface InBinding {
  readonly kind: 'in-binding';
  readonly binding: Binding;
}
export type Input = InSource | InRules | InBinding;

// ---- :find ----

export interface FindVariable {
  readonly kind: 'find-variable';
  readonly variable: Variable;
}
export interface FindAggregate {
  readonly kind: 'find-aggregate';
  /** The aggregate function's name (`count`, `max`, `my.ns/agg`). */
  readonly name: string;
  /** Constant arguments before the variable (`(max 3 ?x)` has [3]). */
  readonly constants: readonly unknown[];
  readonly variable: Variable;
}
export interface FindPull {
  readonly kind: 'find-pull';
  readonly source: string;
  readonly variable: Variable;
  /** The pull pattern as data, or the variable naming an input that holds it. */
  readonly pattern: { readonly kind: 'pattern'; readonly value: unknown } | Variable;
}
export type FindElement = FindVariable | FindAggregate | FindPull;

export interface FindRelation {
  readonly kind: 'find-relation';
  readonly elements: readonly FindElement[];
}
export interface FindCollection {
  readonly kind: 'find-collection';
  readonly element: FindElement;
}
export interface FindTuple {
  readonly kind: 'find-tuple';
  readonly elements: readonly FindElement[];
}
export interface FindScalar {
  readonly kind: 'find-scalar';
  readonly element: FindElement;
}
export type FindSpec = FindRelation | FindCollection | FindTuple | FindScalar;

/** `:keys`, `:strs` or `:syms`: relation rows become objects with these keys. */
export interface ReturnMap {
  readonly kind: 'keys' | 'strs' | 'syms';
  readonly names: readonly string[];
}

// ---- :where ----

export interface PatternClause {
  readonly kind: 'pattern';
  readonly source: string;
  /** e a v tx added; 1 to 5 terms. */
  readonly terms: readonly Term[];
}
export interface PredicateClause {
  readonly kind: 'predicate';
  readonly name: string;
  readonly args: readonly Argument[];
}
export interface FunctionClause {
  readonly kind: 'function';
  readonly name: string;
  readonly args: readonly Argument[];
  readonly binding: Binding;
}
export interface RuleCallClause {
  readonly kind: 'rule-call';
  readonly source: string;
  readonly name: string;
  readonly args: readonly Term[];
}
export interface NotClause {
  readonly kind: 'not';
  readonly source: string;
  /** For `not-join`, the variables named; null for `not` (they are inferred). */
  readonly variables: readonly Variable[] | null;
  readonly clauses: readonly Clause[];
}
export interface OrClause {
  readonly kind: 'or';
  readonly source: string;
  /** For `or-join`: required and free variables; null for `or`. */
  readonly variables: RuleVariables | null;
  /** Each branch is a conjunction (a single clause or the clauses of an `(and ...)`). */
  readonly branches: readonly (readonly Clause[])[];
}
export type Clause = PatternClause | PredicateClause | FunctionClause | RuleCallClause | NotClause | OrClause;

export interface RuleVariables {
  /** Variables that must be bound when the rule or or-join is called (`[?x]` in the head). */
  readonly required: readonly Variable[];
  readonly free: readonly Variable[];
}

export interface RuleBranch {
  readonly name: string;
  readonly variables: RuleVariables;
  readonly clauses: readonly Clause[];
}

/** All branches of every rule, by name. */
export type RuleSet = ReadonlyMap<string, readonly RuleBranch[]>;

export interface Query {
  readonly find: FindSpec;
  readonly returnMap: ReturnMap | null;
  readonly with: readonly Variable[];
  readonly inputs: readonly Input[];
  readonly where: readonly Clause[];
}

export const variable = (name: string): Variable => ({ kind: 'variable', name });
export const constant = (value: unknown): Constant => ({ kind: 'constant', value });
export const blank: Blank = { kind: 'blank' };
