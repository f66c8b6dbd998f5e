//! What pull reads from a db value: the datoms of one entity, the values of one attribute of an
//! entity, and the entities that refer to one through an attribute. One reader over the public
//! `Database` interface serves every db value (asOf and since views filter inside `datoms`).
import type { Database } from '../db/database.ts';
import type { Keyword } from '../values/values.ts';

export interface EntityDatoms {
  /** Attribute ids, in EAVT order (so grouped by attribute). */
  readonly attributes: readonly number[];
  /** The value of each datom, parallel to `attributes`. */
  readonly values: readonly unknown[];
}

export interface EntityReader {
  /** Every current datom of entity `e`. */
  entity(e: number): EntityDatoms;
  /** The values of attribute `a` of entity `e`, in index order. */
  values(e: number, a: number): readonly unknown[];
  /** The entities whose ref attribute `a` holds `target`, in index order. */
  referrers(target: number, a: number): readonly number[];
  ident(e: number): Keyword | null;
}

export class DatabaseReader implements EntityReader {
  constructor(private readonly db: Database) {}

  entity(e: number): EntityDatoms {
    const attributes: number[] = [];
    const values: unknown[] = [];
    for (const datom of this.db.datoms('eavt', e)) {
      attributes.push(datom.a);
      values.push(datom.v);
    }
    return { attributes, values };
  }

  values(e: number, a: number): readonly unknown[] {
    const values: unknown[] = [];
    for (const datom of this.db.datoms('eavt', e, a)) values.push(datom.v);
    return values;
  }

  referrers(target: number, a: number): readonly number[] {
    const entities: number[] = [];
    for (const datom of this.db.datoms('vaet', target, a)) entities.push(datom.e);
    return entities;
  }

  ident(e: number): Keyword | null {
    return this.db.ident(e);
  }
}
