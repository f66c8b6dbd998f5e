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
import { SegmentNotResident } from '../btree/durable-tree.ts';
import type { Database, EntityRef } from '../db/database.ts';
import { FactumError, fail, isFactumError } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import { describeForm } from './describe.ts';
import { readerFor, type EntityReader } from './entity-reader.ts';
import { toPattern, type PatternInput } from './pattern-input.ts';
import { planFor, wildcardStep, WILDCARD_PATTERN, type Plan, type Step } from './plan.ts';
import type { Xform } from './xform.ts';

/** A pulled entity. */
export type PullResult = Record<string, unknown>;

/** Pulls `pattern` for one entity named by an entity id, an ident or a lookup ref. */
export function pull(db: Database, pattern: PatternInput, eid: EntityRef): PullResult {
  const puller = pullerOf(db);
  return puller.pull(planFor(db, toPattern(pattern)), puller.resolve(eid));
}

/** One idle Puller per db value, reused by pull after pull (a Puller busy in an xform is not). */
const idlePullers = new WeakMap<Database, Puller>();

function pullerOf(db: Database): Puller {
  const cached = idlePullers.get(db);
  if (cached !== undefined && !cached.busy) return cached;
  const puller = new Puller(db);
  idlePullers.set(db, puller);
  return puller;
}

/** Pulls `pattern` for each entity, in order. */
export function pullMany(db: Database, pattern: PatternInput, eids: readonly EntityRef[]): PullResult[] {
  if (!Array.isArray(eids)) {
    fail('pull/invalid-entity', `pullMany takes an array of entity ids, idents or lookup refs, got ${describeForm(eids)}.`, { value: eids });
  }
  const puller = new Puller(db);
  const plan = planFor(db, toPattern(pattern));
  return eids.map((eid) => puller.pull(plan, puller.resolve(eid)));
}

/**
 * A function pulling `pattern` from `db` for any entity: the pattern is parsed and planned once,
 * for callers that pull many entities one at a time (the query engine's `(pull ?e pattern)`).
 */
export function pullerFor(db: Database, pattern: PatternInput): (eid: EntityRef) => PullResult {
  const puller = new Puller(db);
  const plan = planFor(db, toPattern(pattern));
  return (eid) => {
    const free = puller.busy ? new Puller(db) : puller;
    return free.pull(plan, free.resolve(eid));
  };
}

/** Resolves an entity id, ident or lookup ref; names of nothing and malformed refs are errors. */
export function resolveEntity(db: Database, eid: EntityRef, reader: EntityReader | null = null): number {
  if (typeof eid === 'number') {
    if (Number.isSafeInteger(eid) && eid >= 0) return eid;
  } else if (eid instanceof Keyword) {
    return db.entid(eid) ?? notFound(eid);
  } else if (Array.isArray(eid) && eid.length === 2) {
    return resolveLookupRef(db, eid[0], eid[1], reader);
  }
  return fail('pull/invalid-entity', `pull takes an entity id (a non-negative integer), an ident keyword or a lookup ref [attribute value], got ${describeForm(eid)}.`, { value: eid });
}

function resolveLookupRef(db: Database, attributeRef: unknown, value: unknown, reader: EntityReader | null): number {
  const ident = attributeRef instanceof Keyword ? attributeRef : typeof attributeRef === 'string' ? Keyword.of(attributeRef) : null;
  const attribute = ident === null ? undefined : db.attribute(ident);
  if (attribute === undefined) {
    return fail('pull/unknown-attribute', `Lookup ref [${describeForm(attributeRef)} ${describeForm(value)}] names no installed attribute.`, { value: [attributeRef, value] });
  }
  if (attribute.unique === null) {
    return fail('pull/invalid-entity', `Lookup ref [${attribute.ident} ${describeForm(value)}] needs a :db/unique attribute; ${attribute.ident} is not unique.`, { value: [attributeRef, value] });
  }
  const direct = reader !== null && (attribute.valueType !== 'ref' || typeof value === 'number');
  const e = direct ? reader.lookup(attribute.id, value) : db.entid([attribute.id, value]);
  return e ?? notFound([attributeRef, value]);
}

function notFound(eid: unknown): never {
  return fail('pull/entity-not-found', `${describeForm(eid)} names no entity in this db value.`, { value: eid });
}

/** A pulled entity waiting to be filled in: `result` is already linked into its parent. */
interface EntityTask {
  readonly kind: 'entity';
  readonly plan: Plan;
  readonly e: number;
  readonly result: PullResult;
  readonly depths: Depths;
}

/** Leaves an entity: it is no longer on the path. */
interface ExitTask {
  readonly kind: 'exit';
}

const EXIT: ExitTask = Object.freeze({ kind: 'exit' });

/** Applies an attribute's xform once the entities under it are filled in. */
interface XformTask {
  readonly kind: 'xform';
  readonly result: PullResult;
  readonly key: string;
  readonly xform: Xform;
}

type Task = EntityTask | ExitTask | XformTask;

/**
 * How many times each recursive step has been followed on the path to an entity: a list shared
 * by the entities below, newest first (an older entry for the same step is shadowed).
 */
interface DepthEntry {
  readonly step: Step;
  readonly depth: number;
  readonly next: Depths;
}
type Depths = DepthEntry | null;

function depthOf(depths: Depths, step: Step): number {
  for (let entry = depths; entry !== null; entry = entry.next) if (entry.step === step) return entry.depth;
  return 0;
}

/**
 * One pull (or pullMany). The walk is a depth-first traversal with an explicit stack, so a deep
 * recursion (a long chain of refs) cannot overflow the JS stack:
 *
 *   entity task   fill in the entity's attributes; each ref to descend into gets an empty map
 *                 linked into the result now, and an entity task of its own on the stack
 *   exit task     pushed before an entity's children, so it runs after all of them: the entity
 *                 leaves the path
 *   xform task    pushed before an attribute's children, so it runs after they are filled in
 */
export class Puller {
  private readonly reader: EntityReader;
  private readonly stack: Task[] = [];
  /**
   * Entities on the path from the root to the entity being pulled. An array searched linearly:
   * paths are short, and entity ids (beyond 2^31) hash slowly as Map keys.
   */
  private readonly path: number[] = [];

  constructor(private readonly db: Database) {
    if (db.isHistory) {
      fail('pull/history-db', 'pull cannot read a history db: use a current, asOf or since db value, or query the history with datoms or q.', {});
    }
    this.reader = readerFor(db);
  }

  resolve(eid: EntityRef): number {
    return resolveEntity(this.db, eid, this.reader);
  }

  /** True while a pull runs (an xform may start another pull, which needs its own Puller). */
  busy = false;

  pull(plan: Plan, e: number): PullResult {
    const result: PullResult = {};
    const stack = this.stack;
    stack.length = 0;
    this.path.length = 0;
    stack.push({ kind: 'entity', plan, e, result, depths: null });
    this.busy = true;
    try {
      while (stack.length > 0) {
        const task = stack.pop()!;
        if (task.kind === 'entity') this.entity(task);
        else if (task.kind === 'exit') this.path.pop();
        else task.result[task.key] = applyXform(task.xform, task.result[task.key]);
      }
    } finally {
      this.busy = false;
    }
    return result;
  }

  private entity(task: EntityTask): void {
    const { plan, e, result } = task;
    this.path.push(e);
    this.stack.push(EXIT);
    if (plan.scan) this.scan(task);
    else for (const step of plan.forward) this.putAll(task, step, this.reader.values(e, step.attribute.id));
    for (const step of plan.reverse) this.putAll(task, step, this.reader.referrers(e, step.attribute.id));
    for (const id of plan.ids) result[id.key] = id.xform === null ? e : applyXform(id.xform, e);
    for (const step of plan.defaults) if (!(step.key in result)) result[step.key] = step.default;
  }

  /** Walks all the entity's datoms once, attribute by attribute, giving each to its steps. */
  private scan(task: EntityTask): void {
    const { plan, e } = task;
    if (plan.wildcard) task.result['db/id'] = e;
    const { attributes, values } = this.reader.entity(e, plan.wildcard ? null : plan.forwardById);
    let start = 0;
    while (start < attributes.length) {
      const a = attributes[start]!;
      let end = start + 1;
      while (end < attributes.length && attributes[end] === a) end++;
      const steps = plan.forwardById.get(a);
      if (steps !== undefined) for (const step of steps) this.put(task, step, values, start, end);
      else if (plan.wildcard) this.put(task, wildcardStep(this.db, a), values, start, end);
      start = end;
    }
  }

  private putAll(task: EntityTask, step: Step, values: readonly unknown[]): void {
    this.put(task, step, values, 0, values.length);
  }

  /** Sets the step's key from `values[start..end)` (none: the key stays absent). */
  private put(task: EntityTask, step: Step, values: readonly unknown[], start: number, end: number): void {
    if (start === end) return;
    const nesting = step.nesting;
    let depths = task.depths;
    if (nesting.kind === 'recursion') {
      const depth = depthOf(depths, step);
      if (nesting.depth !== null && depth >= nesting.depth) return;
      depths = { step, depth: depth + 1, next: depths };
    }
    const descends = step.isRef && nesting.kind !== 'ref';
    if (step.xform !== null && descends) this.stack.push({ kind: 'xform', result: task.result, key: step.key, xform: step.xform });
    let value: unknown;
    if (!step.many) value = this.render(step, values[start], depths);
    else {
      const stop = Math.min(end, start + step.limit);
      if (!step.isRef) value = values.slice(start, stop);
      else {
        const out = new Array<unknown>(stop - start);
        for (let i = start; i < stop; i++) out[i - start] = this.render(step, values[i], depths);
        value = out;
      }
    }
    task.result[step.key] = step.xform === null || descends ? value : applyXform(step.xform, value);
  }

  private render(step: Step, value: unknown, depths: Depths): unknown {
    if (!step.isRef) return value;
    const target = value as number;
    const nesting = step.nesting;
    switch (nesting.kind) {
      case 'ref':
        return this.reference(target);
      case 'plan':
        return this.descend(nesting.plan, target, depths);
      case 'recursion':
        return this.path.includes(target) ? this.reference(target) : this.descend(nesting.plan, target, depths);
      case 'full':
        return this.path.includes(target) ? this.reference(target) : this.descend(planFor(this.db, WILDCARD_PATTERN), target, depths);
    }
  }

  private descend(plan: Plan, target: number, depths: Depths): PullResult {
    const result: PullResult = {};
    this.stack.push({ kind: 'entity', plan, e: target, result, depths });
    return result;
  }

  private reference(target: number): PullResult {
    const ident = this.reader.ident(target);
    return ident === null ? { 'db/id': target } : { 'db/id': target, 'db/ident': ident };
  }
}

function applyXform(xform: Xform, value: unknown): unknown {
  try {
    return xform.apply(value);
  } catch (error) {
    if (isFactumError(error) || error instanceof SegmentNotResident) throw error;
    throw new FactumError('pull/xform-failed', `The :xform ${xform.name} threw on ${describeForm(value)}: ${String((error as Error)?.message ?? error)}`, { xform: xform.name, value }, { cause: error });
  }
}
