//! Schema changes: a transaction that asserts or retracts schema attributes (`:db/valueType`,
//! `:db/cardinality`, `:db/unique`, ...) or idents produces a new Schema, after checking
//! Datomic's rules:
//!   - a new attribute needs :db/ident, :db/valueType and :db/cardinality;
//!   - :db/valueType and tuple definitions never change, and cannot be retracted;
//!   - cardinality many → one needs every entity to hold at most one value;
//!   - adding :db/unique needs the existing values to be unique already;
//!   - :db/isComponent only on ref attributes.
import type { Attribute, ValueType } from '../db/database.ts';
import { describe, type Db, type DbState } from '../db/db.ts';
import { currentFacts } from '../db/merged.ts';
import { ATTR, schemaAttributeIds } from '../schema/bootstrap.ts';
import type { Schema } from '../schema/schema.ts';
import { valueTypeOf } from '../schema/schema.ts';
import { fail } from '../util/errors.ts';
import { compareValues } from '../values/compare.ts';
import type { Keyword, Sym } from '../values/values.ts';
import type { Fact } from './apply.ts';

export function schemaChanges(db: Db, assertions: readonly Fact[], retractions: readonly Fact[]): Schema {
  const schema = db.state.schema;
  const touches = (fact: Fact): boolean => changesSchema(fact.attribute.id);
  if (!assertions.some(touches) && !retractions.some(touches)) return schema;
  const touched = new Set<number>();
  for (const fact of [...assertions, ...retractions]) if (touches(fact)) touched.add(fact.e);
  const attributes: Attribute[] = [];
  const idents: Array<[number, Keyword | null]> = [];
  // Composite tuples last: they may collect attributes installed by this same transaction.
  const ordered = [...touched].sort((x, y) => Number(isComposite(x)) - Number(isComposite(y)));
  function isComposite(e: number): boolean {
    return assertions.some((f) => f.e === e && f.attribute.id === ATTR.tupleAttrs);
  }
  const known = (k: Keyword): Attribute | undefined => db.attribute(k) ?? attributes.find((x) => x.ident === k);
  for (const e of ordered) {
    const after = valuesAfter(db.state, e, assertions, retractions);
    const ident = (after.get(ATTR.ident)?.[0] as Keyword | undefined) ?? null;
    idents.push([e, ident]);
    const old = schema.attributes.get(e);
    if (!after.has(ATTR.valueType)) {
      if (old !== undefined) illegal(old.ident, 'its :db/valueType cannot be retracted');
      if ([...after.keys()].some((a) => schemaAttributeIds.has(a) && a !== ATTR.doc)) {
        fail('schema/invalid-attribute', `Entity ${ident ?? e} has attribute properties but no :db/valueType; an attribute needs :db/ident, :db/valueType and :db/cardinality.`, { e, ident: ident?.toString() ?? null });
      }
      continue;
    }
    const attribute = buildAttribute(db, e, ident, after, known);
    if (old !== undefined) checkChange(db.state, old, attribute);
    else checkNewAttribute(db.state, attribute);
    attributes.push(attribute);
  }
  return schema.with({ attributes, idents });
}

/** Whether a datom of attribute `a` changes the schema (an ident, or a property of an attribute). */
export function changesSchema(a: number): boolean {
  return a === ATTR.ident || schemaAttributeIds.has(a);
}

/** The values of each attribute of entity `e` once the transaction applies. */
function valuesAfter(state: DbState, e: number, assertions: readonly Fact[], retractions: readonly Fact[]): Map<number, unknown[]> {
  const after = new Map<number, unknown[]>();
  const retracted = retractions.filter((f) => f.e === e);
  for (const { a, v } of currentFacts(state, 'eavt', [e])) {
    if (retracted.some((f) => f.attribute.id === a && compareValues(f.v, v) === 0)) continue;
    after.set(a, [...(after.get(a) ?? []), v]);
  }
  for (const fact of assertions) {
    if (fact.e !== e) continue;
    const a = fact.attribute.id;
    after.set(a, fact.attribute.cardinality === 'one' ? [fact.v] : [...(after.get(a) ?? []), fact.v]);
  }
  return after;
}

function buildAttribute(db: Db, e: number, ident: Keyword | null, after: Map<number, unknown[]>, known: (k: Keyword) => Attribute | undefined): Attribute {
  const identName = ident?.toString() ?? String(e);
  if (ident === null) fail('schema/invalid-attribute', `Attribute ${e} needs a :db/ident.`, { e });
  const enumName = (a: number): Keyword | null => {
    const v = after.get(a)?.[0];
    return v === undefined ? null : db.ident(v as number);
  };
  const valueType = valueTypeOf(enumName(ATTR.valueType));
  if (valueType === undefined) {
    fail('schema/invalid-attribute', `${identName} has :db/valueType ${describe(enumName(ATTR.valueType))}; expected one of :db.type/string, :db.type/long, :db.type/ref, ...`, { ident: identName });
  }
  const cardinalityName = enumName(ATTR.cardinality);
  if (cardinalityName === null || cardinalityName.ns !== 'db.cardinality') {
    fail('schema/invalid-attribute', `${identName} needs :db/cardinality :db.cardinality/one or :db.cardinality/many.`, { ident: identName });
  }
  const uniqueName = enumName(ATTR.unique);
  if (uniqueName !== null && uniqueName.ns !== 'db.unique') {
    fail('schema/invalid-attribute', `${identName} has :db/unique ${uniqueName}; expected :db.unique/identity or :db.unique/value.`, { ident: identName });
  }
  const isComponent = after.get(ATTR.isComponent)?.[0] === true;
  // Datomic's schema reference, :db/unique: "To add a uniqueness constraint to an attribute: The
  // attribute must have a :db/cardinality of :db.cardinality/one". Checked on the attribute as it
  // will be, so it covers installing one, adding :db/unique, and changing a unique one to many.
  if (uniqueName !== null && cardinalityName.name === 'many') {
    fail('schema/invalid-attribute', `${identName} has :db/unique ${uniqueName} and :db/cardinality :db.cardinality/many; a unique attribute must be :db.cardinality/one.`, { ident: identName, unique: uniqueName.toString(), cardinality: cardinalityName.toString() });
  }
  if (isComponent && valueType !== 'ref') {
    fail('schema/invalid-attribute', `${identName} is :db/isComponent but its type is ${valueType}; components must be refs.`, { ident: identName });
  }
  const tuple = tupleDefinition(known, identName, valueType, after);
  return Object.freeze({
    id: e,
    ident,
    valueType,
    cardinality: cardinalityName.name as 'one' | 'many',
    unique: (uniqueName?.name as 'identity' | 'value' | undefined) ?? null,
    isComponent,
    noHistory: after.get(ATTR.noHistory)?.[0] === true,
    indexed: true,
    ...tuple,
    preds: (after.get(ATTR.preds) ?? []).map((s) => (s as Sym).fqn),
    doc: (after.get(ATTR.doc)?.[0] as string | undefined) ?? null,
  });
}

function tupleDefinition(known: (k: Keyword) => Attribute | undefined, identName: string, valueType: ValueType, after: Map<number, unknown[]>) {
  const tupleAttrs = after.get(ATTR.tupleAttrs)?.[0] as readonly Keyword[] | undefined;
  const tupleType = after.get(ATTR.tupleType)?.[0] as Keyword | undefined;
  const tupleTypes = after.get(ATTR.tupleTypes)?.[0] as readonly Keyword[] | undefined;
  const given = [tupleAttrs, tupleType, tupleTypes].filter((x) => x !== undefined).length;
  if (valueType !== 'tuple') {
    if (given > 0) fail('schema/invalid-attribute', `${identName} has tuple properties but :db/valueType ${valueType}; use :db.type/tuple.`, { ident: identName });
    return { tupleAttrs: null, tupleType: null, tupleTypes: null };
  }
  if (given !== 1) {
    fail('schema/invalid-attribute', `Tuple attribute ${identName} needs exactly one of :db/tupleAttrs, :db/tupleType or :db/tupleTypes.`, { ident: identName });
  }
  const scalarType = (k: Keyword | null | undefined): ValueType => {
    const type = valueTypeOf(k ?? null);
    if (type === undefined || type === 'tuple') fail('schema/invalid-attribute', `Tuple attribute ${identName} has element type ${describe(k)}; expected a scalar :db.type/...`, { ident: identName });
    return type;
  };
  if (tupleAttrs !== undefined) {
    if (tupleAttrs.length < 2 || tupleAttrs.length > 8) fail('schema/invalid-attribute', `Composite tuple ${identName} must collect 2 to 8 attributes, got ${tupleAttrs.length}.`, { ident: identName });
    const ids = tupleAttrs.map((k) => {
      const attribute = known(k);
      if (attribute === undefined || attribute.valueType === 'tuple' || attribute.cardinality !== 'one') {
        fail('schema/invalid-attribute', `Composite tuple ${identName} collects ${describe(k)}, which must be an existing cardinality-one, non-tuple attribute.`, { ident: identName, attribute: String(k) });
      }
      return attribute.id;
    });
    return { tupleAttrs: ids, tupleType: null, tupleTypes: null };
  }
  if (tupleType !== undefined) return { tupleAttrs: null, tupleType: scalarType(tupleType), tupleTypes: null };
  if (tupleTypes!.length < 2 || tupleTypes!.length > 8) fail('schema/invalid-attribute', `Tuple ${identName} must have 2 to 8 :db/tupleTypes.`, { ident: identName });
  return { tupleAttrs: null, tupleType: null, tupleTypes: tupleTypes!.map(scalarType) };
}

function illegal(ident: Keyword, why: string): never {
  return fail('schema/illegal-change', `Cannot change attribute ${ident}: ${why}.`, { attribute: ident.toString() });
}

function checkNewAttribute(_state: DbState, _attribute: Attribute): void {
  // A new attribute has no data yet: nothing to check against.
}

function checkChange(state: DbState, old: Attribute, next: Attribute): void {
  if (old.valueType !== next.valueType) illegal(old.ident, `its :db/valueType is ${old.valueType} and can never change`);
  const sameList = (x: readonly unknown[] | null, y: readonly unknown[] | null) => JSON.stringify(x) === JSON.stringify(y);
  if (!sameList(old.tupleAttrs, next.tupleAttrs) || old.tupleType !== next.tupleType || !sameList(old.tupleTypes, next.tupleTypes)) {
    illegal(old.ident, 'a tuple definition can never change');
  }
  if (old.cardinality === 'many' && next.cardinality === 'one') {
    let previous = -1;
    for (const { e } of currentFacts(state, 'aevt', [old.id])) {
      if (e === previous) illegal(old.ident, `entity ${e} holds several values, so it cannot become cardinality-one; retract the extra values first`);
      previous = e;
    }
  }
  if (next.unique !== null && old.unique === null) {
    let previous: { v: unknown } | null = null;
    for (const { v } of currentFacts(state, 'avet', [old.id])) {
      if (previous !== null && compareValues(previous.v, v) === 0) illegal(old.ident, `value ${describe(v)} is held by several entities, so it cannot become unique`);
      previous = { v };
    }
  }
}
