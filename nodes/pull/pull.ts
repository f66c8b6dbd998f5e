//! Pull: builds a map of one entity's data from a pattern, following refs as the pattern says.
//!
//! Results are plain JS objects keyed by attribute name without the colon
//! (`{ 'db/id': 17, 'person/name': 'Ann', 'person/_friend': [{ 'db/id': 18 }] }`), or by the
//! `:as` alias (a string verbatim, a keyword as its fqn). Datomic's semantics, where they differ
//! from DataScript's:
//!
//! - An entity with none of the pattern's attributes pulls as `{}`, never null; `[*]` always
//!   gives at least `{ 'db/id': e }`.
//! - A ref not expanded is `{ 'db/id': n }`, plus `'db/ident'` when the target has an ident (as
//!   Datomic Cloud returns enum refs: `{ 'db/id': 35, 'db/ident': kw('db.cardinality/one') }`).
//! - Component entities are pulled in full (as `[*]`) under `*` and when the component attribute
//!   is named without a pattern. A reverse component ref is a single map, not an array.
//! - Recursion (`{:a n}`, `{:a ...}`) re-applies the enclosing pattern; an entity already on the
//!   path from the root (the root included) is rendered `{ 'db/id': n }` instead, so cycles end.
//!   When the depth is spent the attribute is left out.
//! - Cardinality-many values (and reverse refs) are limited to 1000 unless `:limit` says
//!   otherwise (`nil`: all), in index order. `:xform` applies to the pulled value, not to a
//!   `:default`.
//! - An ident or lookup ref that names no entity is an error (`pull/entity-not-found`), as is
//!   pulling from a history db (`pull/history-db`).
//!
//! Invariant: pull reads only; it never changes the db value or the cached plans' meaning.
import type { Database, EntityRef } from '../db/database.ts';
import { FactumError, fail, isFactumError } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import { describeForm } from './describe.ts';
import { DatabaseReader, type EntityReader } from './entity-reader.ts';
import { toPattern, type PatternInput } from './pattern-input.ts';
import { planFor, wildcardStep, WILDCARD_PATTERN, type Plan, type Step } from './plan.ts';

/** A pulled entity. */
export type PullResult = Record<string, unknown>;

/** Pulls `pattern` for one entity named by an entity id, an ident or a lookup ref. */
export function pull(db: Database, pattern: PatternInput, eid: EntityRef): PullResult {
  const puller = new Puller(db);
  return puller.pull(planFor(db, toPattern(pattern)), resolveEntity(db, eid));
}

/** Pulls `pattern` for each entity, in order. */
export function pullMany(db: Database, pattern: PatternInput, eids: readonly EntityRef[]): PullResult[] {
  if (!Array.isArray(eids)) {
    fail('pull/invalid-entity', `pullMany takes an array of entity ids, idents or lookup refs, got ${describeForm(eids)}.`, { value: eids });
  }
  const puller = new Puller(db);
  const plan = planFor(db, toPattern(pattern));
  return eids.map((eid) => puller.pull(plan, resolveEntity(db, eid)));
}

/** Resolves an entity id, ident or lookup ref; names of nothing and malformed refs are errors. */
export function resolveEntity(db: Database, eid: EntityRef): number {
  if (typeof eid === 'number') {
    if (Number.isSafeInteger(eid) && eid >= 0) return eid;
  } else if (eid instanceof Keyword) {
    return db.entid(eid) ?? notFound(eid);
  } else if (Array.isArray(eid) && eid.length === 2) {
    return resolveLookupRef(db, eid[0], eid[1]);
  }
  return fail('pull/invalid-entity', `pull takes an entity id (a non-negative integer), an ident keyword or a lookup ref [attribute value], got ${describeForm(eid)}.`, { value: eid });
}

function resolveLookupRef(db: Database, attributeRef: unknown, value: unknown): number {
  const ident = attributeRef instanceof Keyword ? attributeRef : typeof attributeRef === 'string' ? Keyword.of(attributeRef) : null;
  const attribute = ident === null ? undefined : db.attribute(ident);
  if (attribute === undefined) {
    return fail('pull/unknown-attribute', `Lookup ref [${describeForm(attributeRef)} ${describeForm(value)}] names no installed attribute.`, { value: [attributeRef, value] });
  }
  if (attribute.unique === null) {
    return fail('pull/invalid-entity', `Lookup ref [${attribute.ident} ${describeForm(value)}] needs a :db/unique attribute; ${attribute.ident} is not unique.`, { value: [attributeRef, value] });
  }
  return db.entid([attribute.id, value]) ?? notFound([attributeRef, value]);
}

function notFound(eid: unknown): never {
  return fail('pull/entity-not-found', `${describeForm(eid)} names no entity in this db value.`, { value: eid });
}

/** One pull (or pullMany): the reader, and the path and recursion depths of the current walk. */
export class Puller {
  private readonly reader: EntityReader;
  /** Entities on the path from the root to the entity being pulled. */
  private readonly path = new Set<number>();
  /** How deep each recursive step is on the current path. */
  private readonly depths = new Map<Step, number>();

  constructor(private readonly db: Database) {
    if (db.isHistory) {
      fail('pull/history-db', 'pull cannot read a history db: use a current, asOf or since db value, or query the history with datoms or q.', {});
    }
    this.reader = new DatabaseReader(db);
  }

  pull(plan: Plan, e: number): PullResult {
    this.path.add(e);
    try {
      return this.entity(plan, e);
    } finally {
      this.path.delete(e);
    }
  }

  private entity(plan: Plan, e: number): PullResult {
    const result: PullResult = {};
    if (plan.wildcard) this.wildcard(plan, e, result);
    else for (const step of plan.forward) this.put(result, step, this.reader.values(e, step.attribute.id));
    for (const step of plan.reverse) this.put(result, step, this.reader.referrers(e, step.attribute.id));
    for (const id of plan.ids) result[id.key] = id.xform === null ? e : applyXform(id.xform, e);
    this.defaults(plan, result);
    return result;
  }

  private wildcard(plan: Plan, e: number, result: PullResult): void {
    result['db/id'] = e;
    const { attributes, values } = this.reader.entity(e);
    let start = 0;
    while (start < attributes.length) {
      const a = attributes[start]!;
      let end = start + 1;
      while (end < attributes.length && attributes[end] === a) end++;
      const step = plan.forwardById.get(a) ?? wildcardStep(this.db, a);
      this.put(result, step, start === 0 && end === values.length ? values : values.slice(start, end));
      start = end;
    }
  }

  private defaults(plan: Plan, result: PullResult): void {
    for (const step of plan.forward) if (step.hasDefault && !(step.key in result)) result[step.key] = step.default;
    for (const step of plan.reverse) if (step.hasDefault && !(step.key in result)) result[step.key] = step.default;
  }

  /** Sets the step's key from the values found (none: the key stays absent). */
  private put(result: PullResult, step: Step, values: readonly unknown[]): void {
    if (values.length === 0) return;
    const nesting = step.nesting;
    let depth = 0;
    if (nesting.kind === 'recursion') {
      depth = this.depths.get(step) ?? 0;
      if (nesting.depth !== null && depth >= nesting.depth) return;
      this.depths.set(step, depth + 1);
    }
    try {
      const value = step.many ? this.renderMany(step, values) : this.render(step, values[0]);
      result[step.key] = step.xform === null ? value : applyXform(step.xform, value);
    } finally {
      if (nesting.kind === 'recursion') this.depths.set(step, depth);
    }
  }

  private renderMany(step: Step, values: readonly unknown[]): unknown[] {
    const n = Math.min(values.length, step.limit);
    const out = new Array<unknown>(n);
    if (!step.isRef) {
      for (let i = 0; i < n; i++) out[i] = values[i];
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = this.render(step, values[i]);
    return out;
  }

  private render(step: Step, value: unknown): unknown {
    if (!step.isRef) return value;
    const target = value as number;
    const nesting = step.nesting;
    switch (nesting.kind) {
      case 'ref':
        return this.reference(target);
      case 'plan':
        return this.descend(nesting.plan, target);
      case 'recursion':
        return this.path.has(target) ? this.reference(target) : this.descend(nesting.plan, target);
      case 'full':
        return this.path.has(target) ? this.reference(target) : this.descend(planFor(this.db, WILDCARD_PATTERN), target);
    }
  }

  private descend(plan: Plan, target: number): PullResult {
    if (this.path.has(target)) return this.entity(plan, target);
    this.path.add(target);
    try {
      return this.entity(plan, target);
    } finally {
      this.path.delete(target);
    }
  }

  private reference(target: number): PullResult {
    const ident = this.reader.ident(target);
    return ident === null ? { 'db/id': target } : { 'db/id': target, 'db/ident': ident };
  }
}

function applyXform(xform: { readonly name: string; readonly apply: (v: unknown) => unknown }, value: unknown): unknown {
  try {
    return xform.apply(value);
  } catch (error) {
    if (isFactumError(error)) throw error;
    throw new FactumError('pull/xform-failed', `The :xform ${xform.name} threw on ${describeForm(value)}: ${String((error as Error)?.message ?? error)}`, { xform: xform.name, value }, { cause: error });
  }
}
