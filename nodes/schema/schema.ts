//! Schema as data: the attributes and idents a db value knows, derived from its datoms.
//!
//! A Schema is immutable; a transaction that changes schema makes a new one (schema changes are
//! rare, so copying the maps is cheap enough and keeps every db value's schema fixed).
import type { Attribute, ValueType } from '../db/database.ts';
import { Keyword } from '../values/values.ts';

export class Schema {
  constructor(
    readonly attributes: ReadonlyMap<number, Attribute>,
    /** Every entity with a `:db/ident`, attributes included. */
    readonly idByIdent: ReadonlyMap<Keyword, number>,
    readonly identById: ReadonlyMap<number, Keyword>,
  ) {}

  /** Attributes found by the strings that named them (`'person/name'`, `':person/name'`), as they are asked for. */
  private readonly byName = new Map<string, Attribute>();

  attribute(ref: number | Keyword): Attribute | undefined {
    if (typeof ref === 'number') return this.attributes.get(ref);
    const id = this.idByIdent.get(ref);
    return id === undefined ? undefined : this.attributes.get(id);
  }

  /** The attribute an ident written as a string names (a leading colon or not), or undefined. */
  attributeNamed(name: string): Attribute | undefined {
    let attribute = this.byName.get(name);
    if (attribute === undefined) {
      attribute = this.attribute(Keyword.of(name));
      if (attribute !== undefined) this.byName.set(name, attribute);
    }
    return attribute;
  }

  with(changes: { attributes?: Iterable<Attribute>; idents?: Iterable<[number, Keyword | null]> }): Schema {
    const attributes = new Map(this.attributes);
    const idByIdent = new Map(this.idByIdent);
    const identById = new Map(this.identById);
    for (const [id, ident] of changes.idents ?? []) {
      const old = identById.get(id);
      if (old !== undefined && idByIdent.get(old) === id) idByIdent.delete(old);
      if (ident === null) identById.delete(id);
      else {
        identById.set(id, ident);
        idByIdent.set(ident, id);
      }
    }
    for (const attribute of changes.attributes ?? []) attributes.set(attribute.id, attribute);
    return new Schema(attributes, idByIdent, identById);
  }
}

/** The value type named by a `:db.type/...` keyword, or undefined. */
export function valueTypeOf(ident: Keyword | undefined | null): ValueType | undefined {
  if (!ident || ident.ns !== 'db.type') return undefined;
  return (valueTypeNames as readonly string[]).includes(ident.name) ? (ident.name as ValueType) : undefined;
}

export const valueTypeNames: readonly ValueType[] = [
  'keyword', 'symbol', 'string', 'boolean', 'long', 'bigint', 'float', 'double',
  'bigdec', 'instant', 'uuid', 'uri', 'ref', 'tuple', 'bytes',
];

export const k = (fqn: string): Keyword => Keyword.of(fqn);
