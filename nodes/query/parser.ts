//! The query parser: EDN data (as `readEdn` returns it, or the same built in JS) into the tree of
//! syntax.ts. It checks the grammar only; what depends on the inputs (bound variables, sources,
//! rules) is checked by the engine. Every error is `query/syntax` (or a more specific query code)
//! and carries the offending form in `data.form`.
//!
//! Grammar (Datomic's), each rule repeated above the function that parses it:
//!   query        = [:find find-spec return-map? with? inputs? where?]  |  {:find [...] :in [...] ...}
//!   variable     = symbol starting with ?      src-var = symbol starting with $
//!   rules-var    = %                           plain-symbol = any other symbol
//!   JS data: section names may be strings (":find" or "find"); an attribute given as a string is
//!   read as a keyword when the pattern runs against a db value.
import { fail } from '../util/errors.ts';
import { Keyword, List, Sym } from '../values/values.ts';
import { show } from './show.ts';
import type {
  Argument, Binding, Clause, FindElement, FindSpec, Input, OrClause, NotClause, PatternClause, Query,
  ReturnMap, RuleBranch, RuleCallClause, RuleSet, RuleVariables, Term, Variable,
} from './syntax.ts';
import { blank, constant, variable } from './syntax.ts';
import { bindingVariableNames, collectVariables, parseRuleVariables } from './variables.ts';

const sectionNames = ['find', 'keys', 'strs', 'syms', 'with', 'in', 'where', 'timeout', 'offset', 'limit'] as const;
type SectionName = (typeof sectionNames)[number];
type Sections = Partial<Record<SectionName, readonly unknown[]>>;

export function syntaxError(message: string, form: unknown): never {
  return fail('query/syntax', `${message} Got: ${show(form)}.`, { form });
}

/** Parses a query given as data: a vector `[:find ...]`, a Map or a plain object `{find: [...]}`. */
export function parseQuery(form: unknown): Query {
  const sections = toSections(form);
  if (sections.find === undefined) syntaxError('A query needs a :find section.', form);
  const find = parseFindSpec(sections.find);
  const returnMap = parseReturnMap(sections, find);
  const withVariables = (sections.with ?? []).map((x) => expectVariable(x, ':with takes variables.'));
  const inputs = sections.in === undefined ? [{ kind: 'in-source', name: '$' } as const] : sections.in.map(parseInput);
  const where = (sections.where ?? []).map(parseClause);
  const query: Query = { find, returnMap, with: withVariables, inputs, where };
  checkFindBound(query, form);
  return query;
}

/** Normalises the vector and map forms into sections keyed by name. */
function toSections(form: unknown): Sections {
  if (Array.isArray(form)) return vectorSections(form);
  const entries: [unknown, unknown][] = form instanceof Map ? [...form] : isPlainObject(form) ? Object.entries(form) : [];
  if (entries.length === 0) syntaxError('A query is a vector [:find ... :where ...] or a map {:find [...] :where [...]}.', form);
  const sections: Sections = {};
  for (const [key, value] of entries) {
    const name = sectionName(key);
    if (name === null) syntaxError(`Unknown query section ${show(key)}; expected one of :${sectionNames.join(' :')}.`, form);
    if (name === 'timeout' || name === 'offset' || name === 'limit') continue;
    if (!Array.isArray(value)) syntaxError(`The :${name} section of a map query must be a vector.`, value);
    sections[name] = value;
  }
  return sections;
}

function vectorSections(form: readonly unknown[]): Sections {
  const sections: Sections = {};
  let current: SectionName | null = null;
  let items: unknown[] = [];
  for (const item of form) {
    const name = item instanceof Keyword || typeof item === 'string' ? sectionName(item) : null;
    if (name !== null) {
      if (current !== null) sections[current] = items;
      if (sections[name] !== undefined) syntaxError(`The section :${name} appears twice.`, form);
      current = name;
      items = [];
    } else if (current === null) {
      syntaxError('A query vector must start with :find.', form);
    } else {
      items.push(item);
    }
  }
  if (current !== null) sections[current] = items;
  return sections;
}

function sectionName(key: unknown): SectionName | null {
  const text = key instanceof Keyword ? key.fqn : typeof key === 'string' ? (key.startsWith(':') ? key.slice(1) : key) : null;
  return text !== null && (sectionNames as readonly string[]).includes(text) ? (text as SectionName) : null;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && Object.getPrototypeOf(x) === Object.prototype;
}

// find-spec = ':find' (find-rel | find-coll | find-tuple | find-scalar)
// find-rel = find-elem+   find-coll = [find-elem '...']   find-scalar = find-elem '.'   find-tuple = [find-elem+]
export function parseFindSpec(items: readonly unknown[]): FindSpec {
  if (items.length === 0) syntaxError(':find needs at least one element.', items);
  if (items.length === 2 && isSymbol(items[1], '.')) return { kind: 'find-scalar', element: parseFindElement(items[0]) };
  if (items.length === 1 && Array.isArray(items[0])) {
    const inner = items[0];
    if (inner.length === 2 && isSymbol(inner[1], '...')) return { kind: 'find-collection', element: parseFindElement(inner[0]) };
    if (inner.length === 0) syntaxError('A tuple find spec needs at least one element.', inner);
    return { kind: 'find-tuple', elements: inner.map(parseFindElement) };
  }
  return { kind: 'find-relation', elements: items.map(parseFindElement) };
}

// find-elem = (variable | pull-expr | aggregate)
// pull-expr = ('pull' src-var? variable pattern)   aggregate = (aggregate-fn-name fn-arg+)
function parseFindElement(form: unknown): FindElement {
  if (isVariable(form)) return { kind: 'find-variable', variable: variable(form.fqn) };
  const items = listItems(form);
  if (items === null || items.length < 2 || !(items[0] instanceof Sym)) {
    return syntaxError('A :find element is a variable, (pull ?e pattern) or an aggregate like (count ?x).', form);
  }
  const name = items[0].fqn;
  if (name === 'pull') return parsePull(items, form);
  const last = items[items.length - 1];
  if (!isVariable(last)) syntaxError(`The aggregate (${name} ...) must end with a variable.`, form);
  const constants = items.slice(1, -1).map((x) => {
    if (x instanceof Sym) syntaxError(`Arguments before the variable of (${name} ...) must be constants.`, form);
    return x;
  });
  return { kind: 'find-aggregate', name, constants, variable: variable(last.fqn) };
}

function parsePull(items: readonly unknown[], form: unknown): FindElement {
  const rest = items.slice(1);
  const source = isSource(rest[0]) ? (rest.shift() as Sym).fqn : '$';
  if (rest.length !== 2 || !isVariable(rest[0])) syntaxError('A pull expression is (pull src-var? ?e pattern).', form);
  const patternForm = rest[1];
  const pattern = isVariable(patternForm) || isPlainSymbol(patternForm)
    ? variable((patternForm as Sym).fqn)
    : { kind: 'pattern', value: patternForm } as const;
  return { kind: 'find-pull', source, variable: variable((rest[0] as Sym).fqn), pattern };
}

// return-map = (':keys' | ':strs' | ':syms') symbol+   (one per find element of a relation)
function parseReturnMap(sections: Sections, find: FindSpec): ReturnMap | null {
  const kinds = (['keys', 'strs', 'syms'] as const).filter((k) => sections[k] !== undefined);
  if (kinds.length === 0) return null;
  if (kinds.length > 1) syntaxError('Use only one of :keys, :strs and :syms.', kinds);
  const kind = kinds[0]!;
  const names = sections[kind]!.map((x) => {
    if (x instanceof Sym || x instanceof Keyword) return x.fqn;
    if (typeof x === 'string') return x;
    return syntaxError(`:${kind} takes symbols.`, x);
  });
  const arity = find.kind === 'find-relation' || find.kind === 'find-tuple' ? find.elements.length : 1;
  if (find.kind === 'find-scalar' || find.kind === 'find-collection') {
    syntaxError(`:${kind} needs a relation or tuple find spec.`, sections[kind]);
  }
  if (names.length !== arity) {
    fail('query/wrong-arity', `:${kind} names ${names.length} keys but :find has ${arity} elements.`, { form: sections[kind] });
  }
  return { kind, names };
}

// inputs = ':in' (src-var | binding | pattern-name | rules-var)+
function parseInput(form: unknown): Input {
  if (isSource(form)) return { kind: 'in-source', name: form.fqn };
  if (isSymbol(form, '%')) return { kind: 'in-rules' };
  if (isPlainSymbol(form)) return { kind: 'in-binding', binding: { kind: 'bind-scalar', variable: variable(form.fqn) } };
  return { kind: 'in-binding', binding: parseBinding(form) };
}

// binding = bind-scalar | bind-tuple | bind-coll | bind-rel
// bind-scalar = variable   bind-tuple = [(binding | '_')+]   bind-coll = [binding '...']   bind-rel = [[...]]
export function parseBinding(form: unknown): Binding {
  if (isVariable(form)) return { kind: 'bind-scalar', variable: variable(form.fqn) };
  if (isSymbol(form, '_')) return { kind: 'bind-blank' };
  if (Array.isArray(form) && form.length > 0) {
    if (form.length === 2 && isSymbol(form[1], '...')) return { kind: 'bind-collection', element: parseBinding(form[0]) };
    if (form.length === 1 && Array.isArray(form[0])) {
      return { kind: 'bind-collection', element: parseBinding(form[0]) };
    }
    return { kind: 'bind-tuple', elements: form.map(parseBinding) };
  }
  return syntaxError('A binding is ?x, [?x ?y], [?x ...] or [[?x ?y]].', form);
}

// clause = not-clause | not-join-clause | or-clause | or-join-clause | expression-clause
// expression-clause = data-pattern | pred-expr | fn-expr | rule-expr
export function parseClause(form: unknown): Clause {
  if (Array.isArray(form)) {
    if (form.length > 0 && form[0] instanceof List) return parseExpression(form);
    return parsePattern(form);
  }
  const items = listItems(form);
  if (items === null || items.length === 0) {
    return syntaxError('A :where clause is a data pattern [...], an expression [(f ...)], or a list (not ...), (or ...), (rule ...).', form);
  }
  const rest = [...items];
  const source = isSource(rest[0]) ? (rest.shift() as Sym).fqn : '$';
  const head = rest[0];
  if (!(head instanceof Sym)) return syntaxError('A list clause starts with not, not-join, or, or-join or a rule name.', form);
  switch (head.fqn) {
    case 'not':
      return parseNot(source, null, rest.slice(1), form);
    case 'not-join':
      if (!Array.isArray(rest[1])) syntaxError('not-join takes a vector of variables first.', form);
      return parseNot(source, (rest[1] as unknown[]).map((x) => expectVariable(x, 'not-join variables must be variables.')), rest.slice(2), form);
    case 'or':
      return parseOr(source, null, rest.slice(1), form);
    case 'or-join':
      return parseOr(source, parseRuleVariables(rest[1], form), rest.slice(2), form);
    case 'and':
      return syntaxError('(and ...) may appear only directly inside or / or-join.', form);
    default:
      return parseRuleCall(source, head, rest.slice(1), form);
  }
}

// data-pattern = [src-var? (variable | constant | '_')+]
function parsePattern(form: readonly unknown[]): PatternClause {
  const rest = [...form];
  const source = isSource(rest[0]) ? (rest.shift() as Sym).fqn : '$';
  if (rest.length === 0 || rest.length > 5) syntaxError('A data pattern has 1 to 5 elements [e a v tx added].', form);
  const terms = rest.map((x) => parseTerm(x));
  return { kind: 'pattern', source, terms };
}

function parseTerm(form: unknown): Term {
  if (isVariable(form)) return variable(form.fqn);
  if (isSymbol(form, '_')) return blank;
  if (form instanceof Sym) syntaxError('A plain symbol cannot stand in a data pattern; use ?var, _ or a constant.', form);
  return constant(form);
}

// pred-expr = [(pred fn-arg+)]      fn-expr = [(fn fn-arg+) binding]
function parseExpression(form: readonly unknown[]): Clause {
  const call = (form[0] as List).items;
  if (call.length === 0 || !(call[0] instanceof Sym)) syntaxError('An expression clause starts with a function symbol.', form);
  const name = (call[0] as Sym).fqn;
  const args = call.slice(1).map(parseArgument);
  if (form.length === 1) return { kind: 'predicate', name, args };
  if (form.length === 2) return { kind: 'function', name, args, binding: parseBinding(form[1]) };
  return syntaxError('An expression clause is [(f args...)] or [(f args...) binding].', form);
}

// fn-arg = (variable | constant | src-var)
function parseArgument(form: unknown): Argument {
  if (isVariable(form)) return variable(form.fqn);
  if (isSource(form)) return { kind: 'source', name: form.fqn };
  if (isSymbol(form, '_')) syntaxError('_ cannot be an argument of a function.', form);
  return constant(form);
}

// not-clause = (src-var? not clause+)   not-join-clause = (src-var? not-join [variable+] clause+)
function parseNot(source: string, variables: Variable[] | null, body: readonly unknown[], form: unknown): NotClause {
  if (body.length === 0) syntaxError('not needs at least one clause.', form);
  if (variables !== null && variables.length === 0) syntaxError('not-join needs at least one variable.', form);
  return { kind: 'not', source, variables, clauses: body.map(parseClause) };
}

// or-clause = (src-var? or (clause | and-clause)+)   or-join-clause = (src-var? or-join rule-vars (clause | and-clause)+)
// and-clause = (and clause+)
function parseOr(source: string, variables: RuleVariables | null, body: readonly unknown[], form: unknown): OrClause {
  if (body.length === 0) syntaxError('or needs at least one branch.', form);
  const branches = body.map((branch) => {
    const items = listItems(branch);
    if (items !== null && items.length > 0 && isSymbol(items[0], 'and')) {
      if (items.length === 1) syntaxError('and needs at least one clause.', branch);
      return items.slice(1).map(parseClause);
    }
    return [parseClause(branch)];
  });
  const clause: OrClause = { kind: 'or', source, variables, branches };
  if (variables === null) checkOrVariables(clause, form);
  return clause;
}

/** Datomic: every branch of an `or` must use the same set of variables. */
function checkOrVariables(clause: OrClause, form: unknown): void {
  const sets = clause.branches.map((branch) => [...collectVariables(branch)].sort().join(' '));
  if (sets.some((s) => s !== sets[0])) {
    fail('query/invalid-or', `All branches of an or must use the same variables (use or-join otherwise). Got: ${show(form)}.`, { form, variables: sets });
  }
}

// rule-expr = (src-var? rule-name (variable | constant | '_')+)
function parseRuleCall(source: string, head: Sym, args: readonly unknown[], form: unknown): RuleCallClause {
  if (args.length === 0) syntaxError(`The rule call (${head.fqn}) needs at least one argument.`, form);
  return { kind: 'rule-call', source, name: head.fqn, args: args.map((x) => parseTerm(x)) };
}

// rule = [[rule-head clause+]+]    rule-head = (rule-name rule-vars)    rule-name = plain-symbol
// rule-vars = [variable+ | ([variable+] variable*)]
export function parseRules(form: unknown): RuleSet {
  if (!Array.isArray(form)) return syntaxError('Rules are a vector of rules [[(name ?a ...) clause ...] ...].', form);
  const rules = new Map<string, RuleBranch[]>();
  for (const rule of form) {
    if (!Array.isArray(rule) || rule.length < 2) syntaxError('A rule is [(name ?a ...) clause+].', rule);
    const head = listItems(rule[0]) ?? (Array.isArray(rule[0]) ? rule[0] : null);
    if (head === null || head.length < 2 || !isPlainSymbol(head[0])) syntaxError('A rule head is (name ?var ...).', rule[0]);
    const name = (head![0] as Sym).fqn;
    const variables = parseRuleVariables(head!.slice(1), rule[0]);
    const branch: RuleBranch = { name, variables, clauses: rule.slice(1).map(parseClause) };
    const branches = rules.get(name) ?? [];
    const arity = variables.required.length + variables.free.length;
    const first = branches[0];
    if (first !== undefined && first.variables.required.length + first.variables.free.length !== arity) {
      fail('query/wrong-arity', `Every branch of rule ${name} must take the same number of arguments. Got: ${show(rule[0])}.`, { form: rule[0] });
    }
    branches.push(branch);
    rules.set(name, branches);
  }
  return rules;
}

/** Variables of :find and :with must be bound by :where or :in. */
function checkFindBound(query: Query, form: unknown): void {
  const bound = collectVariables(query.where);
  for (const input of query.inputs) if (input.kind === 'in-binding') for (const v of bindingVariableNames(input.binding)) bound.add(v);
  const needed: Variable[] = [...query.with];
  const elements = query.find.kind === 'find-relation' || query.find.kind === 'find-tuple' ? query.find.elements : [query.find.element];
  for (const element of elements) {
    needed.push(element.variable);
    if (element.kind === 'find-pull' && element.pattern.kind === 'variable') needed.push(element.pattern);
  }
  for (const v of needed) {
    if (!bound.has(v.name)) {
      fail('query/unbound-variable', `The variable ${v.name} in :find or :with is not bound by :where or :in.`, { variable: v.name, form });
    }
  }
}

// ---- small predicates on forms ----

export function isVariable(x: unknown): x is Sym {
  return x instanceof Sym && x.fqn.length > 1 && x.fqn.charCodeAt(0) === 63; /* ? */
}
export function isSource(x: unknown): x is Sym {
  return x instanceof Sym && x.fqn.charCodeAt(0) === 36; /* $ */
}
function isSymbol(x: unknown, name: string): boolean {
  return x instanceof Sym && x.fqn === name;
}
function isPlainSymbol(x: unknown): x is Sym {
  if (!(x instanceof Sym)) return false;
  const name = x.fqn;
  return !isVariable(x) && !isSource(x) && name !== '_' && name !== '%' && name !== '...' && name !== '.';
}
function listItems(x: unknown): readonly unknown[] | null {
  return x instanceof List ? x.items : null;
}
export function expectVariable(x: unknown, message: string): Variable {
  if (!isVariable(x)) syntaxError(message, x);
  return variable((x as Sym).fqn);
}
