// The checks cast.event, cast.alert and cast.metric make in the ion thread, so that a malformed
// map fails in the ion that cast it (with `ion/invalid-cast`) instead of reaching the node's log.
import { FactumError } from '../util/errors.ts';

/** Longest `msg` or metric name kept: a log line, not a document. */
const TEXT_MAX = 4096;

/**
 * The map to send for a cast of `kind`, or throws `ion/invalid-cast`: event and alert need a `msg`
 * string; a metric needs a `name` string and a finite number `value`, and may have `units`. An
 * Error among the values (an alert's `ex`) becomes `{ name, message, stack }`, which can travel.
 */
export function checkCast(kind: 'event' | 'alert' | 'metric', map: unknown): Record<string, unknown> {
  if (typeof map !== 'object' || map === null || Array.isArray(map) || (Object.getPrototypeOf(map) !== Object.prototype && Object.getPrototypeOf(map) !== null)) {
    invalid(kind, `expects a plain object, got ${kindOf(map)}`, {});
  }
  const fields = map as Record<string, unknown>;
  if (kind === 'metric') {
    const { name, value, units } = fields;
    if (typeof name !== 'string' || name === '' || name.length > TEXT_MAX) invalid(kind, `expects a name, a non-empty string of at most ${TEXT_MAX} characters, got ${describe(name)}`, { name: describe(name) });
    if (typeof value !== 'number' || !Number.isFinite(value)) invalid(kind, `expects a value, a finite number, got ${describe(value)} (metric ${name})`, { name, value: describe(value) });
    if (units !== undefined && (typeof units !== 'string' || units === '')) invalid(kind, `expects units to be a non-empty string such as 'count' or 'msec' when given, got ${describe(units)} (metric ${name})`, { name });
    const extra = Object.keys(fields).filter((key) => key !== 'name' && key !== 'value' && key !== 'units');
    if (extra.length > 0) invalid(kind, `takes name, value and units only, got also ${extra.join(', ')} (metric ${name}); put other details in a cast.event`, { name, extra });
    return units === undefined ? { name, value } : { name, value, units };
  }
  if (typeof fields.msg !== 'string' || fields.msg === '') invalid(kind, `expects a map with a msg, a non-empty string saying what happened, got msg ${describe(fields.msg)}`, { keys: Object.keys(fields) });
  if (fields.msg.length > TEXT_MAX) invalid(kind, `expects a msg of at most ${TEXT_MAX} characters, got ${fields.msg.length}; put the details in other keys`, { length: fields.msg.length });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) out[key] = value instanceof Error ? { name: value.name, message: value.message, stack: value.stack ?? null } : value;
  return out;
}

function invalid(kind: string, problem: string, data: Record<string, unknown>): never {
  throw new FactumError('ion/invalid-cast', `cast.${kind} ${problem}.`, data);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return typeof value;
  return `an instance of ${(value as object).constructor?.name ?? 'a class'}`;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value === 'bigint' ? `the bigint ${value}` : `a ${typeof value}`;
}
