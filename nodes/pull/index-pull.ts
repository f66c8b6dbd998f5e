//! indexPull: walks one attribute's datoms in AVET or AEVT order from a start position and pulls
//! the entity of each datom, as Datomic's `index-pull`.
//!
//!   start [a]          every datom of a          (avet: by value then entity; aevt: by entity)
//!   start [a v] (avet) datoms of a from value v; [a v e] from (v, e)
//!   start [a e] (aevt) datoms of a from entity e; [a e v] from (e, v)
//!
//! `reverse` walks backwards from the start position (inclusive) to the attribute's first datom.
//! The walk never leaves the attribute. `offset` datoms are skipped, then at most `limit` pulled.
import type { Database, Datom, EntityRef } from '../db/index.ts';
import { fail } from '../util/errors.ts';
import { compareValues } from '../values/compare.ts';
import { Keyword } from '../values/values.ts';
import { describeForm } from './describe.ts';
import { toPattern, type PatternInput } from './pattern-input.ts';
import { planFor } from './plan.ts';
import { Puller, resolveEntity, type PullResult } from './pull.ts';

export interface IndexPullOptions {
  /** `'avet'` or `'aevt'` (a keyword or `':avet'` also works). */
  readonly index: string | Keyword;
  /** The pull pattern applied to each datom's entity. */
  readonly selector: PatternInput;
  /** `[attribute]`, then optionally the next components of the index. */
  readonly start: readonly unknown[];
  readonly reverse?: boolean;
  readonly offset?: number;
  readonly limit?: number;
}

type Position = (datom: Datom) => number;

export function indexPull(db: Database, options: IndexPullOptions): PullResult[] {
  const index = indexName(options.index);
  const { start } = options;
  if (!Array.isArray(start) || start.length < 1 || start.length > 3) {
    fail('pull/invalid-index-pull', `indexPull :start is [attribute] followed by up to two components of the ${index} index, got ${describeForm(start)}.`, { start });
  }
  const offset = count(options.offset, 'offset', 0);
  const limit = count(options.limit, 'limit', Infinity);
  const attribute = db.attribute(attributeKeyword(start[0]));
  if (attribute === undefined) {
    return fail('pull/unknown-attribute', `indexPull :start names no installed attribute: ${describeForm(start[0])}.`, { start });
  }
  const from = resolveStart(db, index, start.slice(1), attribute.valueType === 'ref');
  const position = positionOf(from);
  const datoms = options.reverse === true
    ? walkBackward(db.datoms(index, attribute.id), position)
    : walkForward(seek(db, attribute.id, from), position);
  const puller = new Puller(db);
  const plan = planFor(db, toPattern(options.selector));
  const results: PullResult[] = [];
  let skipped = 0;
  for (const datom of datoms) {
    if (results.length >= limit) break;
    if (skipped < offset) {
      skipped++;
      continue;
    }
    results.push(puller.pull(plan, datom.e));
  }
  return results;
}

function indexName(index: unknown): 'avet' | 'aevt' {
  const name = index instanceof Keyword ? index.fqn : typeof index === 'string' ? index.replace(/^:/, '') : null;
  if (name === 'avet' || name === 'aevt') return name;
  return fail('pull/invalid-index-pull', `indexPull :index must be :avet or :aevt, got ${describeForm(index)}.`, { index });
}

function attributeKeyword(ref: unknown): Keyword | number {
  if (ref instanceof Keyword || typeof ref === 'number') return ref;
  if (typeof ref === 'string' && ref !== '') return Keyword.of(ref);
  return fail('pull/invalid-index-pull', `indexPull :start begins with an attribute, got ${describeForm(ref)}.`, { start: ref });
}

function count(value: unknown, name: string, absent: number): number {
  if (value === undefined || value === null) return absent;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return fail('pull/invalid-index-pull', `indexPull :${name} must be a non-negative integer, got ${describeForm(value)}.`, { [name]: value });
}

/** The start components after the attribute, resolved: entities as ids, ref values as ids. */
interface Start {
  readonly index: 'avet' | 'aevt';
  readonly hasValue: boolean;
  readonly value: unknown;
  readonly entity: number | undefined;
}

function resolveStart(db: Database, index: 'avet' | 'aevt', components: readonly unknown[], isRef: boolean): Start {
  const entity = (ref: unknown): number => resolveEntity(db, ref as EntityRef);
  const value = (v: unknown): unknown => (isRef && typeof v !== 'number' ? entity(v) : v);
  const [first, second] = components;
  if (index === 'avet') {
    return { index, hasValue: components.length > 0, value: components.length > 0 ? value(first) : undefined, entity: components.length > 1 ? entity(second) : undefined };
  }
  return { index, hasValue: components.length > 1, value: components.length > 1 ? value(second) : undefined, entity: components.length > 0 ? entity(first) : undefined };
}

/** Compares a datom with the start position: negative when the datom comes before it. */
function positionOf(start: Start): Position {
  const byEntity = (d: Datom): number => (start.entity === undefined ? 0 : d.e - start.entity);
  const byValue = (d: Datom): number => (start.hasValue ? compareValues(d.v, start.value) : 0);
  return start.index === 'avet' ? (d) => byValue(d) || byEntity(d) : (d) => byEntity(d) || byValue(d);
}

/** The attribute's datoms from near the start: AVET seeks to the start value. */
function seek(db: Database, attribute: number, start: Start): Iterable<Datom> {
  if (start.index === 'avet' && start.hasValue) return db.indexRange(attribute, start.value);
  return db.datoms(start.index, attribute);
}

function* walkForward(datoms: Iterable<Datom>, position: Position): Generator<Datom> {
  let started = false;
  for (const datom of datoms) {
    if (!started && position(datom) < 0) continue;
    started = true;
    yield datom;
  }
}

function* walkBackward(datoms: Iterable<Datom>, position: Position): Generator<Datom> {
  const before: Datom[] = [];
  for (const datom of datoms) {
    if (position(datom) > 0) break;
    before.push(datom);
  }
  for (let i = before.length - 1; i >= 0; i--) yield before[i]!;
}
