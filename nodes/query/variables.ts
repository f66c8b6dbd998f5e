//! Which variables a clause uses, binds and needs bound: the static facts the parser checks and
//! the planner schedules by.
import { fail } from '../util/errors.ts';
import { Sym } from '../values/values.ts';
import { show } from './show.ts';
import type { Argument, Binding, Clause, RuleVariables, Term, Variable } from './syntax.ts';
import { variable } from './syntax.ts';

function isVariableSymbol(x: unknown): x is Sym {
  return x instanceof Sym && x.fqn.length > 1 && x.fqn.charCodeAt(0) === 63;
}

// rule-vars = [variable+ | ([variable+] variable*)]
export function parseRuleVariables(form: unknown, context: unknown): RuleVariables {
  const items = Array.isArray(form) ? form : null;
  if (items === null) return fail('query/syntax', `Rule variables are [?a ?b] or [[?required] ?free]. Got: ${show(context)}.`, { form: context });
  const required: Variable[] = [];
  const free: Variable[] = [];
  items.forEach((item, i) => {
    if (i === 0 && Array.isArray(item)) {
      for (const x of item) required.push(expect(x, context));
    } else {
      free.push(expect(item, context));
    }
  });
  if (required.length + free.length === 0) fail('query/syntax', `Rule variables cannot be empty. Got: ${show(context)}.`, { form: context });
  return { required, free };
}

function expect(x: unknown, context: unknown): Variable {
  if (!isVariableSymbol(x)) fail('query/syntax', `Expected a variable in rule variables, got ${show(x)} in ${show(context)}.`, { form: context });
  return variable(x.fqn);
}

/** Every variable mentioned in clauses (for not-join and or-join only the joined ones count). */
export function collectVariables(clauses: readonly Clause[], into: Set<string> = new Set()): Set<string> {
  for (const clause of clauses) clauseVariables(clause, into);
  return into;
}

export function clauseVariables(clause: Clause, into: Set<string> = new Set()): Set<string> {
  switch (clause.kind) {
    case 'pattern':
    case 'rule-call':
      termVariables(clause.kind === 'pattern' ? clause.terms : clause.args, into);
      break;
    case 'predicate':
      argumentVariables(clause.args, into);
      break;
    case 'function':
      argumentVariables(clause.args, into);
      for (const v of bindingVariableNames(clause.binding)) into.add(v);
      break;
    case 'not':
      if (clause.variables !== null) for (const v of clause.variables) into.add(v.name);
      else collectVariables(clause.clauses, into);
      break;
    case 'or':
      if (clause.variables !== null) {
        for (const v of [...clause.variables.required, ...clause.variables.free]) into.add(v.name);
      } else {
        for (const branch of clause.branches) collectVariables(branch, into);
      }
      break;
  }
  return into;
}

export function termVariables(terms: readonly Term[], into: Set<string>): Set<string> {
  for (const t of terms) if (t.kind === 'variable') into.add(t.name);
  return into;
}

export function argumentVariables(args: readonly Argument[], into: Set<string>): Set<string> {
  for (const a of args) if (a.kind === 'variable') into.add(a.name);
  return into;
}

export function bindingVariableNames(binding: Binding): string[] {
  switch (binding.kind) {
    case 'bind-scalar':
      return [binding.variable.name];
    case 'bind-blank':
      return [];
    case 'bind-tuple':
      return binding.elements.flatMap(bindingVariableNames);
    case 'bind-collection':
      return bindingVariableNames(binding.element);
  }
}
