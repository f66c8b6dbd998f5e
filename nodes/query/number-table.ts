//! Hash tables keyed by non-negative integers below 2^53 (entity ids, interned row keys), open
//! addressing with linear probing over typed arrays: no boxed entries, no per-entry garbage,
//! which is what the row sets of recursive rules spend their time on with Map and Set.
//!
//!   keys    Float64Array   EMPTY (-1) where free
//!   values  Int32Array     (NumberMap only) the value stored with each key
//!
//! The load factor is kept at or below 1/2, so a probe ends quickly at a free slot.

const EMPTY = -1;
const INITIAL_CAPACITY = 16;
/** Tables start with no storage (many row sets stay empty or tiny); the first add allocates. */
const NO_KEYS: Float64Array = new Float64Array(0);

function slotOf(key: number, mask: number): number {
  // Mix the high and low 32 bits, then spread them (Fibonacci hashing).
  const low = key >>> 0;
  const high = (key / 4294967296) >>> 0;
  return (Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b) >>> 0) & mask;
}

function emptyKeys(capacity: number): Float64Array {
  return new Float64Array(capacity).fill(EMPTY);
}

/** A set of integers in [0, 2^53). */
export class NumberSet {
  private keys: Float64Array = NO_KEYS;
  size = 0;

  /** Adds the key; false when it was already in the set. */
  add(key: number): boolean {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = keys.length - 1;
    let slot = slotOf(key, mask);
    for (;;) {
      const k = keys[slot]!;
      if (k === key) return false;
      if (k === EMPTY) break;
      slot = (slot + 1) & mask;
    }
    keys[slot] = key;
    this.size++;
    return true;
  }

  /** Every key, in no particular order. */
  values(): number[] {
    const out: number[] = [];
    for (const k of this.keys) if (k !== EMPTY) out.push(k);
    return out;
  }

  private grow(): void {
    const old = this.keys;
    this.keys = emptyKeys(Math.max(INITIAL_CAPACITY, old.length * 2));
    this.size = 0;
    for (const k of old) if (k !== EMPTY) this.add(k);
  }
}

/** A map from integers in [0, 2^53) to int32 values; `get` answers -1 for a missing key. */
export class NumberMap {
  private keys: Float64Array = NO_KEYS;
  private values = new Int32Array(0);
  size = 0;

  get(key: number): number {
    if (this.size === 0) return -1;
    const keys = this.keys;
    const mask = keys.length - 1;
    let slot = slotOf(key, mask);
    for (;;) {
      const k = keys[slot]!;
      if (k === key) return this.values[slot]!;
      if (k === EMPTY) return -1;
      slot = (slot + 1) & mask;
    }
  }

  /** Sets the value of a key not in the map. */
  setNew(key: number, value: number): void {
    if ((this.size + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys;
    const mask = keys.length - 1;
    let slot = slotOf(key, mask);
    while (keys[slot] !== EMPTY) slot = (slot + 1) & mask;
    keys[slot] = key;
    this.values[slot] = value;
    this.size++;
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const capacity = Math.max(INITIAL_CAPACITY, oldKeys.length * 2);
    this.keys = emptyKeys(capacity);
    this.values = new Int32Array(capacity);
    this.size = 0;
    for (let i = 0; i < oldKeys.length; i++) if (oldKeys[i] !== EMPTY) this.setNew(oldKeys[i]!, oldValues[i]!);
  }
}

/** True when a value can key a NumberSet or NumberMap. */
export function isTableKey(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
