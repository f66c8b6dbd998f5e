//! The built-in schema every database starts with, in the db partition, installed at t 0.
//!
//! Ids are fixed forever (they are stored in every log and segment): append new entries at the
//! end of `entries`, never reorder or remove one.
import type { Attribute, ValueType } from '../db/database.ts';
import { Keyword } from '../values/values.ts';
import { Schema, valueTypeNames } from './schema.ts';

interface AttributeEntry {
  readonly ident: string;
  readonly valueType: ValueType;
  readonly cardinality?: 'one' | 'many';
  readonly unique?: 'identity' | 'value';
  readonly tupleType?: ValueType;
  readonly doc: string;
}

type Entry = AttributeEntry | { readonly ident: string; readonly doc?: string };

const entries: readonly Entry[] = [
  { ident: 'db.part/db', doc: 'The partition of schema entities.' },
  { ident: 'db/ident', valueType: 'keyword', unique: 'identity', doc: 'The unique name of an entity.' },
  { ident: 'db/valueType', valueType: 'ref', doc: 'The type of the values of an attribute.' },
  { ident: 'db/cardinality', valueType: 'ref', doc: 'Whether an attribute holds one value or many per entity.' },
  { ident: 'db/unique', valueType: 'ref', doc: 'Makes values of an attribute unique: :db.unique/identity or :db.unique/value.' },
  { ident: 'db/isComponent', valueType: 'boolean', doc: 'Ref attributes whose targets are parts of the entity.' },
  { ident: 'db/noHistory', valueType: 'boolean', doc: 'Keep no history of an attribute\'s past values.' },
  { ident: 'db/doc', valueType: 'string', doc: 'Documentation of an entity.' },
  { ident: 'db/tupleAttrs', valueType: 'tuple', tupleType: 'keyword', doc: 'The attributes a composite tuple collects.' },
  { ident: 'db/tupleType', valueType: 'keyword', doc: 'The element type of a homogeneous tuple.' },
  { ident: 'db/tupleTypes', valueType: 'tuple', tupleType: 'keyword', doc: 'The element types of a heterogeneous tuple.' },
  { ident: 'db.attr/preds', valueType: 'symbol', cardinality: 'many', doc: 'Predicates every value of an attribute must satisfy.' },
  { ident: 'db.entity/attrs', valueType: 'keyword', cardinality: 'many', doc: 'Attributes an entity spec requires.' },
  { ident: 'db.entity/preds', valueType: 'symbol', cardinality: 'many', doc: 'Predicates an entity spec requires.' },
  { ident: 'db/ensure', valueType: 'ref', cardinality: 'many', doc: 'Entity specs a transaction checks an entity against.' },
  { ident: 'db/txInstant', valueType: 'instant', doc: 'When a transaction was committed.' },
  { ident: 'db.part/tx', doc: 'The partition of transactions.' },
  { ident: 'db.part/user', doc: 'The partition of user entities.' },
  ...valueTypeNames.map((name) => ({ ident: `db.type/${name}` })),
  { ident: 'db.cardinality/one' },
  { ident: 'db.cardinality/many' },
  { ident: 'db.unique/identity' },
  { ident: 'db.unique/value' },
  { ident: 'db/add', doc: 'Asserts a datom.' },
  { ident: 'db/retract', doc: 'Retracts a datom, or every value of an attribute.' },
  { ident: 'db/retractEntity', doc: 'Retracts an entity, its components, and refs to it.' },
  { ident: 'db/cas', doc: 'Compare-and-swap of a cardinality-one attribute.' },
];

export const bootstrapIds = new Map<string, number>(entries.map((entry, id) => [entry.ident, id]));

/** The id of a built-in entity; throws for a name that is not built in (a bug). */
export function builtinId(ident: string): number {
  const id = bootstrapIds.get(ident);
  if (id === undefined) throw new Error(`no built-in entity ${ident}`);
  return id;
}

export const ATTR = {
  ident: builtinId('db/ident'),
  valueType: builtinId('db/valueType'),
  cardinality: builtinId('db/cardinality'),
  unique: builtinId('db/unique'),
  isComponent: builtinId('db/isComponent'),
  noHistory: builtinId('db/noHistory'),
  doc: builtinId('db/doc'),
  tupleAttrs: builtinId('db/tupleAttrs'),
  tupleType: builtinId('db/tupleType'),
  tupleTypes: builtinId('db/tupleTypes'),
  preds: builtinId('db.attr/preds'),
  entityAttrs: builtinId('db.entity/attrs'),
  entityPreds: builtinId('db.entity/preds'),
  ensure: builtinId('db/ensure'),
  txInstant: builtinId('db/txInstant'),
} as const;

/** The attribute ids whose datoms define schema. */
export const schemaAttributeIds: ReadonlySet<number> = new Set([
  ATTR.valueType, ATTR.cardinality, ATTR.unique, ATTR.isComponent, ATTR.noHistory,
  ATTR.tupleAttrs, ATTR.tupleType, ATTR.tupleTypes, ATTR.preds, ATTR.doc,
]);

function isAttributeEntry(entry: Entry): entry is AttributeEntry {
  return 'valueType' in entry;
}

/** The bootstrap datoms as [e, a, v] triples, in EAVT order. */
export function bootstrapTriples(): Array<[number, number, unknown]> {
  const triples: Array<[number, number, unknown]> = [];
  entries.forEach((entry, id) => {
    triples.push([id, ATTR.ident, Keyword.of(entry.ident)]);
    if (isAttributeEntry(entry)) {
      triples.push([id, ATTR.valueType, builtinId(`db.type/${entry.valueType}`)]);
      triples.push([id, ATTR.cardinality, builtinId(`db.cardinality/${entry.cardinality ?? 'one'}`)]);
      if (entry.unique) triples.push([id, ATTR.unique, builtinId(`db.unique/${entry.unique}`)]);
      if (entry.tupleType) triples.push([id, ATTR.tupleType, Keyword.of(`db.type/${entry.tupleType}`)]);
    }
    if (entry.doc) triples.push([id, ATTR.doc, entry.doc]);
  });
  return triples.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

export function bootstrapSchema(): Schema {
  const attributes = new Map<number, Attribute>();
  const idByIdent = new Map<Keyword, number>();
  const identById = new Map<number, Keyword>();
  entries.forEach((entry, id) => {
    const ident = Keyword.of(entry.ident);
    idByIdent.set(ident, id);
    identById.set(id, ident);
    if (!isAttributeEntry(entry)) return;
    attributes.set(id, Object.freeze({
      id, ident, valueType: entry.valueType, cardinality: entry.cardinality ?? 'one',
      unique: entry.unique ?? null, isComponent: false, noHistory: false, indexed: true,
      tupleAttrs: null, tupleType: entry.tupleType ?? null, tupleTypes: null, preds: [], doc: entry.doc,
    }));
  });
  return new Schema(attributes, idByIdent, identById);
}

/** The first entity number a database allocates in the db partition (after the built-ins). */
export const firstFreeDbN = entries.length;
