//! What pull reads from a db value: the datoms of one entity, the values of one attribute of an
//! entity, and the entities that refer to one through an attribute.
//!
//! Two readers: one over the public `Database` interface serves every db value (asOf and since
//! views filter inside `datoms`); one over the memory index of a plain (unfiltered) engine db
//! value walks the index trees and reads the datom table's columns directly, making no datom
//! objects and no generators. Both return the same data; pull picks the direct one when it can.
import { Cursor, type Probe } from '../btree/int-tree.ts';
import type { Database } from '../db/database.ts';
import { Db } from '../db/db.ts';
import type { DatomTable } from '../db/datom-table.ts';
import { compareValues } from '../values/compare.ts';
import type { Keyword } from '../values/values.ts';

export interface EntityDatoms {
  /** Attribute ids, in EAVT order (so grouped by attribute). */
  readonly attributes: readonly number[];
  /** The value of each datom, parallel to `attributes`. */
  readonly values: readonly unknown[];
}

export interface EntityReader {
  /** Every current datom of entity `e`; only those of `wanted` attributes when it is given. */
  entity(e: number, wanted?: ReadonlyMap<number, unknown> | null): EntityDatoms;
  /** The values of attribute `a` of entity `e`, in index order. */
  values(e: number, a: number): readonly unknown[];
  /** The entities whose ref attribute `a` holds `target`, in index order. */
  referrers(target: number, a: number): readonly number[];
  /** The entity whose unique attribute `a` holds `value` (already resolved for refs), or null. */
  lookup(a: number, value: unknown): number | null;
  ident(e: number): Keyword | null;
}

export class DatabaseReader implements EntityReader {
  constructor(private readonly db: Database) {}

  entity(e: number, wanted: ReadonlyMap<number, unknown> | null = null): EntityDatoms {
    const attributes: number[] = [];
    const values: unknown[] = [];
    for (const datom of this.db.datoms('eavt', e)) {
      if (wanted !== null && !wanted.has(datom.a)) continue;
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

  lookup(a: number, value: unknown): number | null {
    return this.db.entid([a, value]);
  }

  ident(e: number): Keyword | null {
    return this.db.ident(e);
  }
}

/** Reads the current trees of a plain engine db value directly. */
export class MemoryIndexReader implements EntityReader {
  private readonly table: DatomTable;

  constructor(private readonly db: Db) {
    this.table = db.state.table;
  }

  entity(e: number, wanted: ReadonlyMap<number, unknown> | null = null): EntityDatoms {
    const table = this.table;
    const probe: Probe = (row) => (e <= table.e(row) ? -1 : 1);
    const cursor = new Cursor(this.db.state.current.eavt, probe);
    const attributes: number[] = [];
    const values: unknown[] = [];
    for (let row = cursor.next(); row !== -1 && table.e(row) === e; row = cursor.next()) {
      const a = table.a(row);
      if (wanted !== null && !wanted.has(a)) continue;
      attributes.push(a);
      values.push(table.v(row));
    }
    return { attributes, values };
  }

  values(e: number, a: number): readonly unknown[] {
    const table = this.table;
    const probe: Probe = (row) => {
      const re = table.e(row);
      return e < re ? -1 : e > re ? 1 : a <= table.a(row) ? -1 : 1;
    };
    const cursor = new Cursor(this.db.state.current.eavt, probe);
    const values: unknown[] = [];
    for (let row = cursor.next(); row !== -1 && table.e(row) === e && table.a(row) === a; row = cursor.next()) values.push(table.v(row));
    return values;
  }

  referrers(target: number, a: number): readonly number[] {
    const table = this.table;
    const probe: Probe = (row) => {
      const v = table.v(row) as number;
      return target < v ? -1 : target > v ? 1 : a <= table.a(row) ? -1 : 1;
    };
    const cursor = new Cursor(this.db.state.current.vaet, probe);
    const entities: number[] = [];
    for (let row = cursor.next(); row !== -1 && table.v(row) === target && table.a(row) === a; row = cursor.next()) entities.push(table.e(row));
    return entities;
  }

  lookup(a: number, value: unknown): number | null {
    const table = this.table;
    const probe: Probe = (row) => {
      const ra = table.a(row);
      return a < ra ? -1 : a > ra ? 1 : compareValues(value, table.v(row)) <= 0 ? -1 : 1;
    };
    const row = new Cursor(this.db.state.current.avet, probe).peek();
    return row !== -1 && table.a(row) === a && compareValues(value, table.v(row)) === 0 ? table.e(row) : null;
  }

  ident(e: number): Keyword | null {
    return this.db.ident(e);
  }
}

/** The fastest reader that is exact for this db value. */
export function readerFor(db: Database): EntityReader {
  return db instanceof Db && !db.isFiltered && db.state.base === null ? new MemoryIndexReader(db) : new DatabaseReader(db);
}
