//! Facts of one transaction keyed by [e a v], and values keyed by [e a], without building strings.
//!
//! A transaction looks facts up several times each (redundancy, conflicts, card-one), so these
//! maps sit on its hot path. Keys nest: entity id → attribute id → value key (`valueKey`, which
//! is consistent with `valuesEqual`; values of one attribute share a type, so value keys of one
//! attribute never collide). Facts keep the order they were first set in, like a Map.
import { valueKey } from '../values/compare.ts';
import type { Fact } from './apply.ts';

export class FactMap<F extends Fact> {
  private readonly byEntity = new Map<number, Map<number, Map<unknown, number>>>();
  /** Facts by position of first set; a deleted fact leaves null. */
  private readonly facts: Array<F | null> = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(e: number, a: number, v: unknown): boolean {
    return this.byEntity.get(e)?.get(a)?.has(valueKey(v)) ?? false;
  }

  get(e: number, a: number, v: unknown): F | undefined {
    const at = this.byEntity.get(e)?.get(a)?.get(valueKey(v));
    return at === undefined ? undefined : this.facts[at]!;
  }

  /** Adds a fact, or replaces the one with its [e a v] (which keeps its place). */
  set(fact: F): void {
    const values = this.valuesOf(fact.e, fact.attribute.id);
    const key = valueKey(fact.v);
    const at = values.get(key);
    if (at !== undefined) {
      this.facts[at] = fact;
      return;
    }
    values.set(key, this.facts.length);
    this.facts.push(fact);
    this.count++;
  }

  delete(e: number, a: number, v: unknown): void {
    const values = this.byEntity.get(e)?.get(a);
    const key = valueKey(v);
    const at = values?.get(key);
    if (at === undefined) return;
    values!.delete(key);
    this.facts[at] = null;
    this.count--;
  }

  /** The facts in order (a copy: the map may change while the caller walks it). */
  values(): F[] {
    const out: F[] = [];
    for (const fact of this.facts) if (fact !== null) out.push(fact);
    return out;
  }

  private valuesOf(e: number, a: number): Map<unknown, number> {
    let attributes = this.byEntity.get(e);
    if (attributes === undefined) {
      attributes = new Map();
      this.byEntity.set(e, attributes);
    }
    let values = attributes.get(a);
    if (values === undefined) {
      values = new Map();
      attributes.set(a, values);
    }
    return values;
  }
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
