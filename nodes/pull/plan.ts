//! Pull plans: a parsed pattern resolved against one schema.
//!
//! Parsing knows no schema; a plan knows each attribute's id, cardinality, type and whether it is
//! a component, and what to do with the entities a ref reaches:
//!
//!   ref          render `{ 'db/id': n }` (and `'db/ident'` when the target has one)
//!   plan         pull the target with a nested plan (a map spec's pattern)
//!   recursion    pull the target with the enclosing plan again, up to a depth
//!   full         pull the target with `[*]` (a component named without a pattern)
//!
//! Plans are cached per (schema, pattern): a schema never changes once made (a transaction that
//! changes schema makes a new one), so a plan is valid for every db value sharing its schema.
import type { Attribute, Database } from '../db/database.ts';
import { fail } from '../util/errors.ts';
import { Keyword } from '../values/values.ts';
import { describeForm } from './describe.ts';
import { DEFAULT_LIMIT, parsePattern, type AttributeSpec, type PullPattern } from './pattern.ts';
import type { Xform } from './xform.ts';

export type Nesting =
  | { readonly kind: 'ref' }
  | { readonly kind: 'plan'; readonly plan: Plan }
  | { readonly kind: 'recursion'; readonly depth: number | null; readonly plan: Plan }
  | { readonly kind: 'full' };

/** One attribute (forward or reverse) of a plan. */
export interface Step {
  readonly attribute: Attribute;
  readonly reverse: boolean;
  readonly key: string;
  /** True when the result is an array: forward cardinality many, reverse of a non-component. */
  readonly many: boolean;
  /** Values beyond this many are dropped (Infinity: none). */
  readonly limit: number;
  readonly hasDefault: boolean;
  readonly default: unknown;
  readonly xform: Xform | null;
  readonly isRef: boolean;
  readonly nesting: Nesting;
}

/** `:db/id` named in a pattern. */
export interface IdStep {
  readonly key: string;
  readonly xform: Xform | null;
}

export interface Plan {
  readonly pattern: PullPattern;
  wildcard: boolean;
  ids: IdStep[];
  forward: Step[];
  reverse: Step[];
  /** Explicit forward steps by attribute id: under a wildcard they replace the default step. */
  forwardById: Map<number, Step[]>;
  /** The steps with a `:default`, forward and reverse. */
  defaults: Step[];
  /** Read all of an entity's datoms in one index walk rather than seek each attribute. */
  scan: boolean;
}

const ID = Keyword.of('db/id');
const SCAN_FROM_ATTRIBUTES = 2;
const REF: Nesting = Object.freeze({ kind: 'ref' });
const FULL: Nesting = Object.freeze({ kind: 'full' });
/** `[*]`: how a component named without a pattern is pulled. */
export const WILDCARD_PATTERN = parsePattern(Object.freeze(['*']));

/** Plans by schema (or by db value when the db exposes no schema object), then by pattern. */
const plans = new WeakMap<object, Map<PullPattern, Plan>>();
/** Default steps for attributes reached by a wildcard, per schema. */
const wildcardSteps = new WeakMap<object, Map<number, Step>>();

/** The identity under which plans for this db value can be shared. */
export function schemaKey(db: Database): object {
  const schema = (db as { schema?: unknown }).schema;
  return typeof schema === 'object' && schema !== null ? schema : db;
}

export function planFor(db: Database, pattern: PullPattern): Plan {
  const key = schemaKey(db);
  let byPattern = plans.get(key);
  if (byPattern === undefined) {
    byPattern = new Map();
    plans.set(key, byPattern);
  }
  let plan = byPattern.get(pattern);
  if (plan === undefined) {
    plan = compile(db, pattern);
    byPattern.set(pattern, plan);
  }
  return plan;
}

function compile(db: Database, pattern: PullPattern): Plan {
  const plan: Plan = { pattern, wildcard: pattern.wildcard, ids: [], forward: [], reverse: [], forwardById: new Map(), defaults: [], scan: pattern.wildcard };
  for (const spec of pattern.attributes) {
    if (spec.attribute === ID && !spec.reverse) {
      plan.ids.push(idStep(spec));
      continue;
    }
    const step = compileStep(db, spec, plan);
    if (step.hasDefault) plan.defaults.push(step);
    if (step.reverse) plan.reverse.push(step);
    else {
      plan.forward.push(step);
      const steps = plan.forwardById.get(step.attribute.id);
      if (steps === undefined) plan.forwardById.set(step.attribute.id, [step]);
      else steps.push(step);
    }
  }
  // One walk over the entity's datoms beats a seek per attribute once two or more are named
  // (entities rarely hold many more datoms than a pattern names).
  plan.scan ||= plan.forward.length >= SCAN_FROM_ATTRIBUTES;
  return plan;
}

function idStep(spec: AttributeSpec): IdStep {
  if (spec.nested !== null) {
    fail('pull/not-a-ref', `:db/id is not a ref attribute; it cannot take a nested pattern or recursion.`, { form: spec.key });
  }
  return { key: spec.key, xform: spec.xform };
}

function compileStep(db: Database, spec: AttributeSpec, enclosing: Plan): Step {
  const attribute = db.attribute(spec.attribute);
  if (attribute === undefined) {
    const written = spec.reverse ? spec.key : spec.attribute.fqn;
    return fail('pull/unknown-attribute', `Unknown attribute :${written} in pull pattern: no attribute is installed with ident ${spec.attribute}.`, { attribute: spec.attribute, form: `:${written}` });
  }
  const isRef = attribute.valueType === 'ref';
  if (!isRef && (spec.reverse || spec.nested !== null)) {
    const use = spec.reverse ? `the reverse attribute :${spec.key}` : `a nested pattern on ${attribute.ident}`;
    fail('pull/not-a-ref', `Pull pattern uses ${use}, but ${attribute.ident} has value type ${attribute.valueType}; only ref attributes can be navigated.`, { attribute: attribute.ident, form: describeForm(spec.attribute) });
  }
  const many = spec.reverse ? !attribute.isComponent : attribute.cardinality === 'many';
  return {
    attribute,
    reverse: spec.reverse,
    key: spec.key,
    many,
    limit: spec.limit === null ? Infinity : (spec.limit ?? DEFAULT_LIMIT),
    hasDefault: spec.hasDefault,
    default: spec.default,
    xform: spec.xform,
    isRef,
    nesting: nestingOf(db, spec, attribute, enclosing),
  };
}

function nestingOf(db: Database, spec: AttributeSpec, attribute: Attribute, enclosing: Plan): Nesting {
  const nested = spec.nested;
  if (nested === null) return !spec.reverse && attribute.isComponent ? FULL : REF;
  if (nested.kind === 'recursion') return { kind: 'recursion', depth: nested.depth, plan: enclosing };
  return { kind: 'plan', plan: planFor(db, nested.pattern) };
}

/** The step a wildcard uses for an attribute the pattern does not name. */
export function wildcardStep(db: Database, attributeId: number): Step {
  const key = schemaKey(db);
  let steps = wildcardSteps.get(key);
  if (steps === undefined) {
    steps = new Map();
    wildcardSteps.set(key, steps);
  }
  let step = steps.get(attributeId);
  if (step === undefined) {
    const attribute = db.attribute(attributeId);
    if (attribute === undefined) {
      return fail('pull/unknown-attribute', `Datom names attribute id ${attributeId}, which is not installed.`, { attribute: attributeId });
    }
    const isRef = attribute.valueType === 'ref';
    step = {
      attribute,
      reverse: false,
      key: attribute.ident.fqn,
      many: attribute.cardinality === 'many',
      limit: DEFAULT_LIMIT,
      hasDefault: false,
      default: undefined,
      xform: null,
      isRef,
      nesting: isRef && attribute.isComponent ? FULL : REF,
    };
    steps.set(attributeId, step);
  }
  return step;
}
