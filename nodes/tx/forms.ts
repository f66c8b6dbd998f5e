//! Expands tx-data into primitive operations.
//!
//!   tx-data   := [form*]
//!   form      := [:db/add e a v] | [:db/retract e a v?] | [:db/retractEntity e]
//!              | [:db/cas e a old new] | [fn-ident arg*] | map
//!   map       := {:db/id e?, attr value, :ns/_attr e-or-map, ...}   (Map or plain object)
//!
//! Maps become `add` operations; a map without `:db/id` gets a fresh tempid; nested maps under a
//! ref attribute become entities of their own (they must be components or carry a unique
//! attribute, else nothing could ever find them). Transaction functions are called here with
//! db-before and their results expanded in turn. Entity and value positions stay unresolved:
//! tempids, idents and lookup refs are resolved together in transact.ts.
import { SegmentNotResident } from '../btree/durable-tree.ts';
import type { Attribute } from '../db/database.ts';
import { describe, type Db } from '../db/db.ts';
import { FactumError, fail } from '../util/errors.ts';
import { Keyword, List } from '../values/values.ts';
import { txFunction } from './functions.ts';
import { ATTR } from '../schema/bootstrap.ts';

/** A tempid: user strings map to one TempId each per transaction; maps without :db/id get fresh ones. */
export class TempId {
  constructor(readonly name: string | null) {}
}

export type Operation =
  | { readonly op: 'add'; readonly e: unknown; readonly attribute: Attribute; readonly v: unknown }
  | { readonly op: 'retract'; readonly e: unknown; readonly attribute: Attribute; readonly v: unknown; readonly hasValue: boolean }
  | { readonly op: 'retractEntity'; readonly e: unknown }
  | { readonly op: 'cas'; readonly e: unknown; readonly attribute: Attribute; readonly old: unknown; readonly v: unknown }
  | { readonly op: 'ensure'; readonly e: unknown; readonly spec: unknown };

const FUNCTION_DEPTH_MAX = 32;

/** The empty list of operations, shared: never pushed to. */
const noOperations: Operation[] = [];

const noTempids: ReadonlyMap<string, TempId> = new Map();

export class FormExpander {
  /** Made on the first operation with room for just it: most transactions hold one or a few. */
  operations: Operation[] = noOperations;
  /** Made on the first tempid: many transactions name none. */
  private tempids: Map<string, TempId> | null = null;

  constructor(private readonly db: Db) {}

  /** Tempids named by user strings, in first-use order. */
  namedTempids(): ReadonlyMap<string, TempId> {
    return this.tempids ?? noTempids;
  }

  expand(txData: unknown, depth = 0): void {
    const forms = txData instanceof List ? txData.items : txData;
    if (!Array.isArray(forms)) {
      fail('transact/malformed', `tx-data must be a vector (array) of forms, got ${describe(txData)}.`, { value: txData });
    }
    for (const form of forms) this.expandForm(form, depth);
  }

  private expandForm(form: unknown, depth: number): void {
    if (Array.isArray(form) || form instanceof List) return this.expandList(form instanceof List ? form.items : form, depth);
    if (isMapForm(form)) {
      this.expandMap(form);
      return;
    }
    fail('transact/malformed', `A tx-data form must be a list like [:db/add e a v] or a map, got ${describe(form)}.`, { form });
  }

  private expandList(form: readonly unknown[], depth: number): void {
    const op = operationName(form[0]);
    if (op === null) fail('transact/malformed', `A list form starts with an operation keyword like :db/add, got ${describe(form)}.`, { form });
    switch (op) {
      case 'db/add':
        checkArity(form, 4, '[:db/add e a v]');
        this.add(this.entity(form[1]), this.db.requireAttribute(form[2]), form[3]);
        return;
      case 'db/retract': {
        if (form.length !== 3 && form.length !== 4) fail('transact/malformed', `[:db/retract e a v?] takes 2 or 3 arguments, got ${describe(form)}.`, { form });
        const attribute = this.db.requireAttribute(form[2]);
        this.push({ op: 'retract', e: this.entity(form[1]), attribute, v: form[3], hasValue: form.length === 4 });
        return;
      }
      case 'db/retractEntity':
      case 'db.fn/retractEntity':
        checkArity(form, 2, '[:db/retractEntity e]');
        this.push({ op: 'retractEntity', e: this.entity(form[1]) });
        return;
      case 'db/cas':
      case 'db.fn/cas': {
        checkArity(form, 5, '[:db/cas e a old new]');
        const attribute = this.db.requireAttribute(form[2]);
        if (attribute.cardinality !== 'one') {
          fail('transact/malformed', `:db/cas works on cardinality-one attributes only; ${attribute.ident} is cardinality-many.`, { attribute: attribute.ident.toString() });
        }
        this.push({ op: 'cas', e: this.entity(form[1]), attribute, old: form[3], v: form[4] });
        return;
      }
      default:
        this.callFunction(op, form.slice(1), depth);
    }
  }

  private callFunction(name: string, args: unknown[], depth: number): void {
    const fn = txFunction(name);
    if (fn === undefined) {
      fail('transact/unknown-function', `No transaction function :${name} is registered; register it with registerTxFunction("${name}", fn) or deploy it as an ion.`, { function: name });
    }
    if (depth >= FUNCTION_DEPTH_MAX) {
      fail('transact/function-failed', `Transaction functions nested more than ${FUNCTION_DEPTH_MAX} deep (at :${name}); a function probably calls itself.`, { function: name });
    }
    let result: unknown;
    try {
      result = fn(this.db, ...args);
    } catch (error) {
      if (error instanceof FactumError || error instanceof SegmentNotResident) throw error;
      throw new FactumError('transact/function-failed', `Transaction function :${name} threw: ${(error as Error)?.message ?? String(error)}`, { function: name }, { cause: error });
    }
    this.expand(result, depth + 1);
  }

  /** Expands a map form and returns its entity (given :db/id or a fresh tempid). */
  private expandMap(form: MapForm): unknown {
    const entries = mapEntries(form);
    const idEntry = entries.find(([key]) => key === DB_ID);
    const e = idEntry !== undefined ? this.entity(idEntry[1]) : new TempId(null);
    if (entries.length === (idEntry ? 1 : 0)) {
      fail('transact/malformed', `A map form needs at least one attribute besides :db/id, got ${describe(form)}.`, { form });
    }
    for (const [key, value] of entries) {
      if (key === DB_ID) continue;
      if (key.name.startsWith('_')) {
        this.expandReverse(e, key, value);
        continue;
      }
      const attribute = this.db.requireAttribute(key);
      for (const v of valuesOf(attribute, value)) {
        if (attribute.id === ATTR.ensure) this.push({ op: 'ensure', e, spec: v });
        else if (isMapForm(v)) this.add(e, attribute, this.nested(attribute, v));
        else this.add(e, attribute, v);
      }
    }
    return e;
  }

  private expandReverse(e: unknown, key: Keyword, value: unknown): void {
    const attribute = this.db.requireAttribute(Keyword.of(`${key.ns}/${key.name.slice(1)}`));
    if (attribute.valueType !== 'ref') {
      fail('transact/malformed', `Reverse attribute ${key} names ${attribute.ident}, which is not a ref attribute.`, { attribute: key.toString() });
    }
    const sources = Array.isArray(value) && !isLookupRef(value) ? value : [value];
    for (const source of sources) {
      const from = isMapForm(source) ? this.expandMap(source) : this.entity(source);
      this.add(from, attribute, e);
    }
  }

  private nested(attribute: Attribute, form: MapForm): unknown {
    if (attribute.valueType !== 'ref') {
      fail('value/wrong-type', `A nested map is only allowed under a ref attribute; ${attribute.ident} is a ${attribute.valueType}.`, { attribute: attribute.ident.toString(), value: form });
    }
    const entries = mapEntries(form);
    const reachable = attribute.isComponent || entries.some(([key]) => key === DB_ID || this.db.attribute(key)?.unique != null);
    if (!reachable) {
      fail('transact/unreachable-entity', `A nested map under ${attribute.ident} must be a component or carry a :db/id or unique attribute, or nothing could find it: ${describe(form)}.`, { attribute: attribute.ident.toString(), value: form });
    }
    return this.expandMap(form);
  }

  private add(e: unknown, attribute: Attribute, v: unknown): void {
    this.push({ op: 'add', e, attribute, v: this.tempidOrValue(attribute, v) });
  }

  private push(operation: Operation): void {
    if (this.operations === noOperations) this.operations = [operation];
    else this.operations.push(operation);
  }

  /** In entity position a string is a tempid. */
  entity(e: unknown): unknown {
    if (typeof e === 'string') return this.tempid(e);
    return e;
  }

  private tempidOrValue(attribute: Attribute, v: unknown): unknown {
    return attribute.valueType === 'ref' && typeof v === 'string' ? this.tempid(v) : v;
  }

  private tempid(name: string): TempId {
    const tempids = (this.tempids ??= new Map());
    let t = tempids.get(name);
    if (t === undefined) {
      t = new TempId(name);
      tempids.set(name, t);
    }
    return t;
  }
}

type MapForm = ReadonlyMap<unknown, unknown> | Readonly<Record<string, unknown>>;

const DB_ID = Keyword.of('db/id');

function isMapForm(x: unknown): x is MapForm {
  return x instanceof Map || (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype);
}

function mapEntries(form: MapForm): Array<[Keyword, unknown]> {
  const raw: Array<[unknown, unknown]> = form instanceof Map ? [...form] : Object.entries(form);
  return raw.map(([key, value]) => {
    if (key instanceof Keyword) return [key, value];
    if (typeof key === 'string' && key.length > 0) return [Keyword.of(key), value];
    return fail('transact/malformed', `Map form keys must be attribute keywords, got ${describe(key)}.`, { key });
  });
}

function checkArity(form: readonly unknown[], n: number, shape: string): void {
  if (form.length !== n) fail('transact/malformed', `${shape} takes ${n - 1} arguments, got ${describe(form)}.`, { form });
}

function operationName(x: unknown): string | null {
  if (x instanceof Keyword) return x.fqn;
  if (typeof x === 'string' && x.length > 1 && x.includes('/')) return x.startsWith(':') ? x.slice(1) : x;
  return null;
}

function isLookupRef(x: readonly unknown[]): boolean {
  return x.length === 2 && (x[0] instanceof Keyword || (typeof x[0] === 'string' && x[0].includes('/'))) && !Array.isArray(x[1]);
}

/** The values a map entry asserts: a collection for cardinality-many, else the one value. */
function valuesOf(attribute: Attribute, value: unknown): readonly unknown[] {
  if (attribute.cardinality === 'one') return [value];
  if (value instanceof Set) return [...value];
  if (!Array.isArray(value)) return [value];
  if (attribute.valueType === 'tuple') return value.every(Array.isArray) ? value : [value];
  return value;
}
