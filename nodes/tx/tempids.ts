//! Resolution of entity positions: idents, lookup refs and ids first (against db-before), then
//! tempids by upsert, then new ids for the rest.
//!
//! Upsert: a tempid that asserts a `:db.unique/identity` value already held by an entity becomes
//! that entity. Tempids asserting the same new identity value become one new entity. A tempid
//! that would become two different existing entities is an upsert conflict. `"datomic.tx"` is the
//! transaction itself. A tempid that appears only as a value would name an entity with no
//! datoms, which Datomic rejects, and so does factum.
import type { Attribute } from '../db/database.ts';
import { currentRows, describe, type Db } from '../db/db.ts';
import { PART_DB, PART_USER, entityId } from '../datom/datom.ts';
import { ATTR } from '../schema/bootstrap.ts';
import { fail } from '../util/errors.ts';
import { valueKey } from '../values/compare.ts';
import { TempId, type Operation } from './forms.ts';

export interface Resolution {
  readonly operations: readonly Operation[];
  readonly named: ReadonlyMap<string, number>;
  readonly resolve: (x: unknown) => unknown;
  readonly nextUserN: number;
  readonly nextDbN: number;
}

export function resolveTempids(
  db: Db,
  operations: readonly Operation[],
  named: ReadonlyMap<string, TempId>,
  txId: number,
  entity: (e: unknown) => number,
  value: (attribute: Attribute, v: unknown) => unknown,
): Resolution {
  const txTempid = named.get('datomic.tx');
  const resolvedNow = (e: unknown) => (e instanceof TempId ? (e === txTempid ? txId : e) : entity(e));
  const resolvedValue = (attribute: Attribute, v: unknown) =>
    v instanceof TempId ? (v === txTempid ? txId : v) : value(attribute, v);

  const resolved: Operation[] = operations.map((operation) => {
    switch (operation.op) {
      case 'add':
        return { ...operation, e: resolvedNow(operation.e), v: resolvedValue(operation.attribute, operation.v) };
      case 'retract':
        if (operation.v instanceof TempId) {
          fail('transact/unresolved-tempid', `A retraction cannot name a tempid as its value (${describe(operation.v.name)}).`, { tempid: operation.v.name });
        }
        return { ...operation, e: resolvedNow(operation.e), v: operation.hasValue ? resolvedValue(operation.attribute, operation.v) : undefined };
      case 'cas':
        return { ...operation, e: resolvedNow(operation.e), v: resolvedValue(operation.attribute, operation.v) };
      case 'retractEntity':
      case 'ensure':
        return { ...operation, e: resolvedNow(operation.e) };
    }
  });

  const classes = new UnionFind();
  const existing = new Map<TempId, number>();
  const identityOwners = new Map<string, TempId>();
  const asEntity = new Set<TempId>();
  // New attributes are allocated in the db partition, keeping attribute ids small.
  const attributes = new Set<TempId>();
  for (const operation of resolved) {
    if (operation.e instanceof TempId && (operation.op === 'add' || operation.op === 'cas')) asEntity.add(operation.e);
    if (operation.op !== 'add' || !(operation.e instanceof TempId)) continue;
    if (operation.attribute.id === ATTR.valueType) attributes.add(operation.e);
    const { attribute, v } = operation;
    if (attribute.unique !== 'identity' || v instanceof TempId) continue;
    const key = `${attribute.id} ${String(valueKey(v))}`;
    const owner = identityOwners.get(key);
    if (owner !== undefined) classes.union(owner, operation.e);
    else identityOwners.set(key, operation.e);
    const rows = currentRows(db.state, 'avet', [attribute.id, v]);
    if (rows.length > 0) upsertInto(existing, operation.e, db.state.table.e(rows[0]!), attribute, v);
  }

  const idOfClass = new Map<TempId, number>();
  for (const [tempid, id] of existing) {
    const root = classes.find(tempid);
    const other = idOfClass.get(root);
    if (other !== undefined && other !== id) upsertConflict(tempid, other, id);
    idOfClass.set(root, id);
  }
  let nextUserN = db.state.nextUserN;
  let nextDbN = db.state.nextDbN;
  const idOf = (t: TempId): number => {
    const root = classes.find(t);
    let id = idOfClass.get(root);
    if (id === undefined) {
      id = attributes.has(t) ? entityId(PART_DB, nextDbN++) : entityId(PART_USER, nextUserN++);
      idOfClass.set(root, id);
    }
    return id;
  };
  const checkUsed = (t: TempId) => {
    if (!asEntity.has(t) && !idOfClass.has(classes.find(t))) {
      fail('transact/unresolved-tempid', `Tempid ${describe(t.name ?? '(map)')} is used only as a value; it must also be the entity of at least one assertion.`, { tempid: t.name });
    }
  };
  for (const operation of resolved) {
    if (operation.e instanceof TempId) idOf(operation.e);
  }
  const resolve = (x: unknown): unknown => {
    if (!(x instanceof TempId)) return x;
    checkUsed(x);
    return idOf(x);
  };
  const names = new Map<string, number>();
  for (const [name, tempid] of named) {
    if (tempid === txTempid) names.set(name, txId);
    else if (asEntity.has(tempid) || idOfClass.has(classes.find(tempid))) names.set(name, idOf(tempid));
  }
  return { operations: resolved, named: names, resolve, nextUserN, nextDbN };
}

function upsertInto(existing: Map<TempId, number>, tempid: TempId, id: number, attribute: Attribute, v: unknown): void {
  const previous = existing.get(tempid);
  if (previous !== undefined && previous !== id) upsertConflict(tempid, previous, id, attribute, v);
  existing.set(tempid, id);
}

function upsertConflict(tempid: TempId, a: number, b: number, attribute?: Attribute, v?: unknown): never {
  const via = attribute ? ` (through ${attribute.ident} ${describe(v)})` : '';
  return fail('transact/upsert-conflict', `Tempid ${describe(tempid.name ?? '(map)')} would upsert into two entities, ${a} and ${b}${via}.`, { tempid: tempid.name, entities: [a, b] });
}

class UnionFind {
  private readonly parent = new Map<TempId, TempId>();
  find(x: TempId): TempId {
    let root = x;
    for (let p = this.parent.get(root); p !== undefined; p = this.parent.get(root)) root = p;
    if (root !== x) this.parent.set(x, root);
    return root;
  }
  union(a: TempId, b: TempId): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(rb, ra);
  }
}
