//! A short printed form of query data for error messages and explain output (EDN-like).
import { BigDec, Keyword, List, Sym, Uri, Uuid } from '../values/values.ts';

export function show(form: unknown, depth = 0): string {
  if (depth > 4) return '…';
  if (form === null || form === undefined) return 'nil';
  if (typeof form === 'string') return JSON.stringify(form.length > 60 ? form.slice(0, 60) + '…' : form);
  if (typeof form === 'bigint') return `${form}N`;
  if (form instanceof Keyword || form instanceof Sym) return form.toString();
  if (form instanceof BigDec) return `${form.toString()}M`;
  if (form instanceof Date) return `#inst "${form.toISOString()}"`;
  if (form instanceof Uuid) return `#uuid "${form.text}"`;
  if (form instanceof Uri) return `#factum/uri "${form.text}"`;
  if (form instanceof List) return `(${items(form.items, depth)})`;
  if (Array.isArray(form)) return `[${items(form, depth)}]`;
  if (form instanceof Set) return `#{${items([...form], depth)}}`;
  if (form instanceof Map) {
    return `{${[...form].slice(0, 8).map(([k, v]) => `${show(k, depth + 1)} ${show(v, depth + 1)}`).join(', ')}}`;
  }
  if (form instanceof RegExp) return `#"${form.source}"`;
  if (typeof form === 'object' && Object.getPrototypeOf(form) === Object.prototype) {
    return `{${Object.entries(form).slice(0, 8).map(([k, v]) => `${k} ${show(v, depth + 1)}`).join(', ')}}`;
  }
  return String(form);
}

function items(values: readonly unknown[], depth: number): string {
  const shown = values.slice(0, 10).map((v) => show(v, depth + 1));
  if (values.length > 10) shown.push('…');
  return shown.join(' ');
}
