//! Binding forms: how a value (an :in input, or a function's result) becomes rows of variables.
//!
//!   ?x          scalar      the value itself
//!   [?a ?b]     tuple       elements by position (_ skips one)
//!   [?x ...]    collection  one row per element
//!   [[?a ?b]]   relation    a collection of tuples
//!
//! A variable named twice in one binding must get equal values.
import { fail } from '../util/errors.ts';
import { valuesEqual } from '../values/compare.ts';
import { List } from '../values/values.ts';
import type { Relation } from './relation.ts';
import { show } from './show.ts';
import type { Binding } from './syntax.ts';
import { bindingVariableNames } from './variables.ts';

/** What to do with a value that does not fit its binding form. */
export type Misfit = 'fail' | 'skip';

/** The rows a value gives under a binding, over the binding's distinct variables. */
export function bindValue(binding: Binding, value: unknown, misfit: Misfit): Relation {
  const columns = [...new Set(bindingVariableNames(binding))];
  const rows: unknown[][] = [];
  const row = new Array<unknown>(columns.length).fill(undefined);
  const assigned = new Array<boolean>(columns.length).fill(false);
  const walk = (b: Binding, v: unknown, next: () => void): void => {
    switch (b.kind) {
      case 'bind-blank':
        next();
        return;
      case 'bind-scalar': {
        const i = columns.indexOf(b.variable.name);
        if (assigned[i]) {
          if (valuesEqual(row[i], v)) next();
          return;
        }
        row[i] = v;
        assigned[i] = true;
        next();
        assigned[i] = false;
        return;
      }
      case 'bind-tuple': {
        const elements = sequence(v);
        if (elements === null || elements.length < b.elements.length) {
          if (misfit === 'fail') {
            fail('query/invalid-input', `Expected a tuple of ${b.elements.length} values for the binding, got ${show(v)}.`, { value: v });
          }
          return;
        }
        const step = (k: number): void => {
          if (k === b.elements.length) next();
          else walk(b.elements[k]!, elements[k], () => step(k + 1));
        };
        step(0);
        return;
      }
      case 'bind-collection': {
        const elements = sequence(v);
        if (elements === null) {
          if (misfit === 'fail') fail('query/invalid-input', `Expected a collection for the binding [... ...], got ${show(v)}.`, { value: v });
          return;
        }
        for (const element of elements) if (misfit === 'fail' || element !== null) walk(b.element, element, next);
        return;
      }
    }
  };
  walk(binding, value, () => rows.push(row.slice()));
  return { columns, rows, distinct: !hasCollection(binding) };
}

function hasCollection(binding: Binding): boolean {
  return binding.kind === 'bind-collection' || (binding.kind === 'bind-tuple' && binding.elements.some(hasCollection));
}

function sequence(v: unknown): readonly unknown[] | null {
  if (Array.isArray(v)) return v;
  if (v instanceof List) return v.items;
  if (v instanceof Set) return [...v];
  if (v !== null && typeof v === 'object' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function' && !(v instanceof Map)) {
    return [...(v as Iterable<unknown>)];
  }
  return null;
}
