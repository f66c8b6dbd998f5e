//! Clauses of the parsed tree printed back as EDN text, for errors and explain output.
import { show } from './show.ts';
import type { Argument, Binding, Clause, Term } from './syntax.ts';

function term(t: Term | Argument): string {
  switch (t.kind) {
    case 'variable':
      return t.name;
    case 'blank':
      return '_';
    case 'source':
      return t.name;
    case 'constant':
      return show(t.value);
  }
}

function binding(b: Binding): string {
  switch (b.kind) {
    case 'bind-scalar':
      return b.variable.name;
    case 'bind-blank':
      return '_';
    case 'bind-tuple':
      return `[${b.elements.map(binding).join(' ')}]`;
    case 'bind-collection':
      return `[${binding(b.element)} ...]`;
  }
}

const source = (name: string): string => (name === '$' ? '' : name + ' ');

export function formatClause(clause: Clause): string {
  switch (clause.kind) {
    case 'pattern':
      return `[${source(clause.source)}${clause.terms.map(term).join(' ')}]`;
    case 'predicate':
      return `[(${[clause.name, ...clause.args.map(term)].join(' ')})]`;
    case 'function':
      return `[(${[clause.name, ...clause.args.map(term)].join(' ')}) ${binding(clause.binding)}]`;
    case 'rule-call':
      return `(${source(clause.source)}${[clause.name, ...clause.args.map(term)].join(' ')})`;
    case 'not': {
      const head = clause.variables === null ? 'not' : `not-join [${clause.variables.map((v) => v.name).join(' ')}]`;
      return `(${source(clause.source)}${head} ${clause.clauses.map(formatClause).join(' ')})`;
    }
    case 'or': {
      const vars = clause.variables;
      const head = vars === null ? 'or' : `or-join [${vars.required.length > 0 ? `[${vars.required.map((v) => v.name).join(' ')}] ` : ''}${vars.free.map((v) => v.name).join(' ')}]`;
      const branches = clause.branches.map((b) => (b.length === 1 ? formatClause(b[0]!) : `(and ${b.map(formatClause).join(' ')})`));
      return `(${source(clause.source)}${head} ${branches.join(' ')})`;
    }
  }
}
