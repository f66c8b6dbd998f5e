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
  // Made once the facts outnumber SCAN_FACTS_MAX: most transactions are small.
  private byEntity: Map<number, Map<number, Slot>> | null = null;
  /** Facts by position of first set; a deleted fact leaves null. Made on the first set, with room for just it. */
  private facts: Array<F | null> = noFacts as Array<F | null>;
  private count = 0;
  /** values(), until the map next changes. */
  private listed: F[] | null = null;

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
    this.listed = null;
    const a = fact.attribute.id;
    const key = valueKey(fact.v);
    if (this.byEntity === null) {
      // Few facts: a scan of them, no maps (most transactions are small).
      const at = this.scan(fact.e, a, key);
      if (at !== -1) {
        this.facts[at] = fact;
        return;
      }
      if (this.facts === noFacts) {
        this.facts = [fact];
        this.count++;
        return;
      }
      if (this.facts.length < SCAN_FACTS_MAX) {
        this.facts.push(fact);
        this.count++;
        return;
      }
      this.byEntity = new Map();
      this.facts.forEach((f, at) => f !== null && this.index(f, at)); // not for-of: see tempids.ts
    }
    const at = this.find(fact.e, a, key);
    if (at !== -1) {
      this.facts[at] = fact;
      return;
    }
    this.index(fact, this.facts.length);
    this.facts.push(fact);
    this.count++;
  }

  /** Enters the fact at position `at` (not yet in the maps) into the maps. */
  private index(fact: F, at: number): void {
    const a = fact.attribute.id;
    const key = valueKey(fact.v);
    const byEntity = this.byEntity!;
    let attributes = byEntity.get(fact.e);
    if (attributes === undefined) {
      attributes = new Map();
      byEntity.set(fact.e, attributes);
    }
    const slot = attributes.get(a);
    if (slot === undefined) {
      attributes.set(a, at);
    } else if (typeof slot === 'number') {
      attributes.set(a, new Map<unknown, number>([[valueKey(this.facts[slot]!.v), slot], [key, at]]));
    } else {
      slot.set(key, at);
    }
  }

  delete(e: number, a: number, v: unknown): void {
    this.listed = null;
    if (this.byEntity === null) {
      const at = this.scan(e, a, valueKey(v));
      if (at === -1) return;
      this.facts[at] = null;
      this.count--;
      return;
    }
    const attributes = this.byEntity.get(e);
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

  /**
   * The facts in order: a list made once per change of the map, so a caller may keep walking it
   * while the map changes, and callers in between share it.
   */
  values(): readonly F[] {
    if (this.listed !== null) return this.listed;
    const facts = this.facts;
    const out = new Array<F>(this.count);
    let at = 0;
    for (let k = 0; k < facts.length; k++) if (facts[k] !== null) out[at++] = facts[k]!;
    return (this.listed = out);
  }

  private find(e: number, a: number, key: unknown): number {
    if (this.byEntity === null) return this.scan(e, a, key);
    const slot = this.byEntity.get(e)?.get(a);
    if (slot === undefined) return -1;
    if (typeof slot === 'number') return sameKey(valueKey(this.facts[slot]!.v), key) ? slot : -1;
    return slot.get(key) ?? -1;
  }

  private scan(e: number, a: number, key: unknown): number {
    const facts = this.facts;
    for (let at = 0; at < facts.length; at++) {
      const fact = facts[at]!;
      if (fact !== null && fact.e === e && fact.attribute.id === a && sameKey(valueKey(fact.v), key)) return at;
    }
    return -1;
  }
}

/** The empty list of facts, shared: never pushed to. */
const noFacts: Array<Fact | null> = [];

/** Up to this many facts are kept in a list and found by scanning it; more are indexed by maps. */
const SCAN_FACTS_MAX = 32;

/** Key equality as a Map's (SameValueZero): NaN equals NaN. */
function sameKey(x: unknown, y: unknown): boolean {
  return x === y || (x !== x && y !== y);
}

/** A value per [e a] (card-one values asserted in a transaction): a scanned list while small, then maps. */
export class EntityAttributeMap<T> {
  private byEntity: Map<number, Map<number, T>> | null = null;
  /** e, a, value, e, a, value, ...: the list, made on the first set (many transactions set nothing here). */
  private listed: unknown[] | null = null;

  has(e: number, a: number): boolean {
    return this.byEntity === null ? this.scan(e, a) !== -1 : (this.byEntity.get(e)?.has(a) ?? false);
  }

  get(e: number, a: number): T | undefined {
    if (this.byEntity !== null) return this.byEntity.get(e)?.get(a);
    const at = this.scan(e, a);
    return at === -1 ? undefined : (this.listed![at + 2] as T);
  }

  set(e: number, a: number, value: T): void {
    if (this.byEntity === null) {
      const listed = this.listed;
      if (listed === null) {
        this.listed = [e, a, value];
        return;
      }
      const at = this.scan(e, a);
      if (at !== -1) {
        listed[at + 2] = value;
        return;
      }
      if (listed.length < 3 * SCAN_FACTS_MAX) {
        listed.push(e, a, value);
        return;
      }
      this.byEntity = new Map();
      for (let k = 0; k < listed.length; k += 3) this.put(listed[k] as number, listed[k + 1] as number, listed[k + 2] as T);
    }
    this.put(e, a, value);
  }

  private put(e: number, a: number, value: T): void {
    let attributes = this.byEntity!.get(e);
    if (attributes === undefined) {
      attributes = new Map();
      this.byEntity!.set(e, attributes);
    }
    attributes.set(a, value);
  }

  /** The position of [e a] in the list, or -1. */
  private scan(e: number, a: number): number {
    const listed = this.listed;
    if (listed === null) return -1;
    for (let k = 0; k < listed.length; k += 3) if (listed[k] === e && listed[k + 1] === a) return k;
    return -1;
  }
}
