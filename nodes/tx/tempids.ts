//! Resolution of entity positions: idents, lookup refs and ids first (against db-before), then
//! tempids by upsert, then new ids for the rest.
//!
//! Upsert: a tempid that asserts a `:db.unique/identity` value already held by an entity becomes
//! that entity. Tempids asserting the same new identity value become one new entity. A tempid
//! that would become two different existing entities is an upsert conflict. `"datomic.tx"` is the
//! transaction itself. A tempid that appears only as a value would name an entity with no
//! datoms, which Datomic rejects, and so does factum.
import type { Attribute } from '../db/database.ts';
import { describe, type Db } from '../db/db.ts';
import { currentFacts } from '../db/merged.ts';
import { PART_DB, PART_USER, entityId } from '../datom/datom.ts';
import { ATTR } from '../schema/bootstrap.ts';
import { fail } from '../util/errors.ts';
import { valueKey } from '../values/compare.ts';
import { TempId, type Operation } from './forms.ts';

export interface Resolution {
  readonly operations: readonly Operation[];
  readonly named: ReadonlyMap<string, number>;
  /** A tempid's entity id; anything else unchanged. */
  resolve(x: unknown): unknown;
  readonly nextUserN: number;
  readonly nextDbN: number;
}

// One class instead of closures: transactions are small and many, and each closure made per
// transaction costs an allocation (and a name definition under tsx/esbuild's keepNames).
export function resolveTempids(db: Db, operations: readonly Operation[], named: ReadonlyMap<string, TempId>, txId: number, coercion: Coercion): Resolution {
  if (named.size === 0 && !operations.some(hasTempid)) return new PlainResolution(db, operations, coercion);
  return new TempidResolution(db, operations, named, txId, coercion);
}

/** How the transaction resolves entity positions other than tempids, and coerces values (refs but tempids included). */
export interface Coercion {
  entity(e: unknown): number;
  value(attribute: Attribute, v: unknown): unknown;
}

function hasTempid(operation: Operation): boolean {
  return operation.e instanceof TempId || ('v' in operation && operation.v instanceof TempId);
}

interface Resolver {
  resolvedNow(e: unknown): unknown;
  resolvedValue(attribute: Attribute, v: unknown): unknown;
}

/** An operation with its entity and value positions resolved as far as they can be before tempids get ids. */
function resolvedOperation(operation: Operation, resolver: Resolver): Operation {
  switch (operation.op) {
    case 'add': {
      const e = resolver.resolvedNow(operation.e);
      const v = resolver.resolvedValue(operation.attribute, operation.v);
      // An id and a value as given (the usual case) need no new operation.
      return e === operation.e && v === operation.v ? operation : { op: 'add', e, attribute: operation.attribute, v };
    }
    case 'retract':
      if (operation.v instanceof TempId) {
        fail('transact/unresolved-tempid', `A retraction cannot name a tempid as its value (${describe(operation.v.name)}).`, { tempid: operation.v.name });
      }
      return { ...operation, e: resolver.resolvedNow(operation.e), v: operation.hasValue ? resolver.resolvedValue(operation.attribute, operation.v) : undefined };
    case 'cas':
      return { ...operation, e: resolver.resolvedNow(operation.e), v: resolver.resolvedValue(operation.attribute, operation.v) };
    case 'retractEntity':
    case 'ensure':
      return { ...operation, e: resolver.resolvedNow(operation.e) };
  }
}

/** Resolution of a transaction that names no tempid (most small ones): nothing to upsert or allocate. */
class PlainResolution implements Resolution, Resolver {
  readonly operations: Operation[];
  readonly named: ReadonlyMap<string, number> = noNames;
  readonly nextUserN: number;
  readonly nextDbN: number;

  constructor(
    db: Db,
    operations: readonly Operation[],
    private readonly coercion: Coercion,
  ) {
    this.nextUserN = db.state.nextUserN;
    this.nextDbN = db.state.nextDbN;
    this.operations = new Array<Operation>(operations.length);
    for (let k = 0; k < operations.length; k++) this.operations[k] = resolvedOperation(operations[k]!, this);
  }

  resolve(x: unknown): unknown {
    return x;
  }

  resolvedNow(e: unknown): unknown {
    return this.coercion.entity(e);
  }

  resolvedValue(attribute: Attribute, v: unknown): unknown {
    return this.coercion.value(attribute, v);
  }
}

const noNames: ReadonlyMap<string, number> = new Map();

class TempidResolution implements Resolution, Resolver {
  readonly operations: Operation[];
  readonly named = new Map<string, number>();
  nextUserN: number;
  nextDbN: number;
  private readonly txTempid: TempId | undefined;
  private readonly classes = new UnionFind();
  private readonly idOfClass = new Map<TempId, number>();
  private readonly asEntity = new Set<TempId>();
  // New attributes are allocated in the db partition, keeping attribute ids small.
  private readonly attributes = new Set<TempId>();

  constructor(
    db: Db,
    operations: readonly Operation[],
    named: ReadonlyMap<string, TempId>,
    private readonly txId: number,
    private readonly coercion: Coercion,
  ) {
    this.txTempid = named.get('datomic.tx');
    this.nextUserN = db.state.nextUserN;
    this.nextDbN = db.state.nextDbN;
    this.operations = operations.map((operation) => resolvedOperation(operation, this));
    const existing = this.upserts(db);
    // Indexed loops and forEach here and in transact.ts: V8 (Node 20) fell into a deoptimization
    // loop at the statement after a for-of over these arrays and maps, tens of thousands of times
    // per run (`node --trace-deopt` shows it).
    existing.forEach((id, tempid) => {
      const root = this.classes.find(tempid);
      const other = this.idOfClass.get(root);
      if (other !== undefined && other !== id) upsertConflict(tempid, other, id);
      this.idOfClass.set(root, id);
    });
    this.operations.forEach((operation) => operation.e instanceof TempId && this.idOf(operation.e));
    named.forEach((tempid, name) => {
      if (tempid === this.txTempid) this.named.set(name, txId);
      else if (this.asEntity.has(tempid) || this.idOfClass.has(this.classes.find(tempid))) this.named.set(name, this.idOf(tempid));
    });
  }

  resolve(x: unknown): unknown {
    if (!(x instanceof TempId)) return x;
    if (!this.asEntity.has(x) && !this.idOfClass.has(this.classes.find(x))) {
      fail('transact/unresolved-tempid', `Tempid ${describe(x.name ?? '(map)')} is used only as a value; it must also be the entity of at least one assertion.`, { tempid: x.name });
    }
    return this.idOf(x);
  }

  resolvedNow(e: unknown): unknown {
    return e instanceof TempId ? (e === this.txTempid ? this.txId : e) : this.coercion.entity(e);
  }

  resolvedValue(attribute: Attribute, v: unknown): unknown {
    return v instanceof TempId ? (v === this.txTempid ? this.txId : v) : this.coercion.value(attribute, v);
  }

  /** Tempids that assert a :db.unique/identity value: same value, one class; held value, that entity. */
  private upserts(db: Db): Map<TempId, number> {
    const existing = new Map<TempId, number>();
    let identityOwners: Map<string, TempId> | null = null;
    for (const operation of this.operations) {
      if (!(operation.e instanceof TempId)) continue;
      if (operation.op === 'cas') this.asEntity.add(operation.e);
      if (operation.op !== 'add') continue;
      this.asEntity.add(operation.e);
      if (operation.attribute.id === ATTR.valueType) this.attributes.add(operation.e);
      const { attribute, v } = operation;
      if (attribute.unique !== 'identity' || v instanceof TempId) continue;
      const key = `${attribute.id} ${String(valueKey(v))}`;
      identityOwners ??= new Map();
      const owner = identityOwners.get(key);
      if (owner !== undefined) this.classes.union(owner, operation.e);
      else identityOwners.set(key, operation.e);
      const facts = currentFacts(db.state, 'avet', [attribute.id, v]);
      if (facts.length > 0) upsertInto(existing, operation.e, facts[0]!.e, attribute, v);
    }
    return existing;
  }

  private idOf(t: TempId): number {
    const root = this.classes.find(t);
    let id = this.idOfClass.get(root);
    if (id === undefined) {
      id = this.attributes.has(t) ? entityId(PART_DB, this.nextDbN++) : entityId(PART_USER, this.nextUserN++);
      this.idOfClass.set(root, id);
    }
    return id;
  }
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
