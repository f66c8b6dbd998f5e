//! Facts of one transaction keyed by [e a v], and values keyed by [e a], without building strings.
//!
//! A transaction looks facts up several times each (redundancy, conflicts, card-one), so these
//! maps sit on its hot path. Keys nest: entity id → attribute id → value key (`valueKey`, which
//! is consistent with `valuesEqual`; values of one attribute share a type, so value keys of one
//! attribute never collide). Facts keep the order they were first set in, like a Map.
import { valueKey } from '../values/compare.ts';
import type { Fact } from './apply.ts';

/** The facts of one [e a]: the position of the only one, or positions by value key. */
type Slot = number | Map<unknown, number>;

export class FactMap<F extends Fact> {
  // Made on first set: many transactions never retract, so their retraction map stays empty.
  private byEntity: Map<number, Map<number, Slot>> | null = null;
  /** Facts by position of first set; a deleted fact leaves null. */
  private readonly facts: Array<F | null> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(e: number, a: number, v: unknown): boolean {
    return this.count > 0 && this.find(e, a, valueKey(v)) !== -1;
  }

  get(e: number, a: number, v: unknown): F | undefined {
    const at = this.find(e, a, valueKey(v));
    return at === -1 ? undefined : this.facts[at]!;
  }

  /** Adds a fact, or replaces the one with its [e a v] (which keeps its place). */
  set(fact: F): void {
    const a = fact.attribute.id;
    const key = valueKey(fact.v);
    this.byEntity ??= new Map();
    let attributes = this.byEntity.get(fact.e);
    if (attributes === undefined) {
      attributes = new Map();
      this.byEntity.set(fact.e, attributes);
    }
    const slot = attributes.get(a);
    const at = this.facts.length;
    if (slot === undefined) {
      attributes.set(a, at);
    } else if (typeof slot === 'number') {
      const only = valueKey(this.facts[slot]!.v);
      if (sameKey(only, key)) {
        this.facts[slot] = fact;
        return;
      }
      attributes.set(a, new Map<unknown, number>([[only, slot], [key, at]]));
    } else {
      const existing = slot.get(key);
      if (existing !== undefined) {
        this.facts[existing] = fact;
        return;
      }
      slot.set(key, at);
    }
    this.facts.push(fact);
    this.count++;
  }

  delete(e: number, a: number, v: unknown): void {
    const attributes = this.byEntity?.get(e);
    const slot = attributes?.get(a);
    if (slot === undefined) return;
    const key = valueKey(v);
    let at: number;
    if (typeof slot === 'number') {
      if (!sameKey(valueKey(this.facts[slot]!.v), key)) return;
      attributes!.delete(a);
      at = slot;
    } else {
      const found = slot.get(key);
      if (found === undefined) return;
      slot.delete(key);
      at = found;
    }
    this.facts[at] = null;
    this.count--;
  }

  /** The facts in order (a copy: the map may change while the caller walks it). */
  values(): F[] {
    const out: F[] = [];
    for (const fact of this.facts) if (fact !== null) out.push(fact);
    return out;
  }

  private find(e: number, a: number, key: unknown): number {
    if (this.byEntity === null) return -1;
    const slot = this.byEntity.get(e)?.get(a);
    if (slot === undefined) return -1;
    if (typeof slot === 'number') return sameKey(valueKey(this.facts[slot]!.v), key) ? slot : -1;
    return slot.get(key) ?? -1;
  }
}

/** Key equality as a Map's (SameValueZero): NaN equals NaN. */
function sameKey(x: unknown, y: unknown): boolean {
  return x === y || (x !== x && y !== y);
}

/** A value per [e a] (card-one values asserted in a transaction). */
export class EntityAttributeMap<T> {
  private readonly byEntity = new Map<number, Map<number, T>>();

  has(e: number, a: number): boolean {
    return this.byEntity.get(e)?.has(a) ?? false;
  }

  get(e: number, a: number): T | undefined {
    return this.byEntity.get(e)?.get(a);
  }

  set(e: number, a: number, value: T): void {
    let attributes = this.byEntity.get(e);
    if (attributes === undefined) {
      attributes = new Map();
      this.byEntity.set(e, attributes);
    }
    attributes.set(a, value);
  }
}
