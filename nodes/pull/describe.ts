//! A short EDN-like printed form of a pattern fragment, for error messages.
import { Keyword, List, Sym } from '../values/values.ts';

const MAX_ITEMS = 8;

export function describeForm(form: unknown): string {
  if (form === null) return 'nil';
  if (form === undefined) return 'nothing';
  if (typeof form === 'string') return JSON.stringify(form.length > 80 ? form.slice(0, 80) + '…' : form);
  if (typeof form === 'bigint') return `${form}N`;
  if (typeof form === 'function') return `#function ${form.name || 'anonymous'}`;
  if (form instanceof Keyword || form instanceof Sym) return form.toString();
  if (form instanceof List) return `(${items(form.items)})`;
  if (Array.isArray(form)) return `[${items(form)}]`;
  if (form instanceof Map) return `{${entries([...form.entries()])}}`;
  if (typeof form === 'object' && Object.getPrototypeOf(form) === Object.prototype) {
    return `{${entries(Object.entries(form as object))}}`;
  }
  return String(form);
}

function items(values: readonly unknown[]): string {
  const shown = values.slice(0, MAX_ITEMS).map(describeForm).join(' ');
  return values.length > MAX_ITEMS ? shown + ' …' : shown;
}

function entries(pairs: readonly (readonly [unknown, unknown])[]): string {
  const shown = pairs.slice(0, MAX_ITEMS).map(([k, v]) => `${describeForm(k)} ${describeForm(v)}`).join(', ');
  return pairs.length > MAX_ITEMS ? shown + ', …' : shown;
}
