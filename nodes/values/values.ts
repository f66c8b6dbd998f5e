//! The JavaScript representation of every EDN and datom value. One representation per value,
//! unambiguous: a keyword is never a string, a symbol is never a string, a list is never an array.
//!
//!   EDN                JavaScript
//!   nil                null
//!   true / false       boolean
//!   "text"             string
//!   42                 number (a safe integer) — or bigint beyond 2^53
//!   42N                bigint
//!   1.5                number
//!   1.5M               BigDec (exact: unscaled bigint and scale)
//!   :ns/name           Keyword (interned: compare with ===)
//!   ns/name, ?x        Sym (interned)
//!   (a b)              List
//!   [a b]              Array
//!   {k v}              Map
//!   #{a b}             Set
//!   #inst "..."        Date
//!   #uuid "..."        Uuid
//!   #factum/uri "..."  Uri
//!   #factum/bytes "b64" Uint8Array
//!   #tag value         Tagged (any other tag)

export class Keyword {
  /** The text after the colon: `ns/name` or `name`. */
  readonly fqn: string;
  readonly ns: string | null;
  readonly name: string;

  private constructor(fqn: string) {
    this.fqn = fqn;
    const slash = fqn.indexOf('/');
    this.ns = slash > 0 ? fqn.slice(0, slash) : null;
    this.name = slash > 0 ? fqn.slice(slash + 1) : fqn;
    Object.freeze(this);
  }

  private static readonly interned = new Map<string, Keyword>();

  /** The keyword `:fqn`; a leading colon is accepted and ignored. Interned, so `===` compares. */
  static of(fqn: string): Keyword {
    const key = fqn.charCodeAt(0) === 58 /* : */ ? fqn.slice(1) : fqn;
    let k = Keyword.interned.get(key);
    if (k === undefined) {
      k = new Keyword(key);
      Keyword.interned.set(key, k);
    }
    return k;
  }

  toString(): string {
    return ':' + this.fqn;
  }

  toJSON(): string {
    return ':' + this.fqn;
  }
}

export class Sym {
  readonly fqn: string;
  readonly ns: string | null;
  readonly name: string;

  private constructor(fqn: string) {
    this.fqn = fqn;
    const slash = fqn.indexOf('/');
    this.ns = slash > 0 && fqn.length > 1 ? fqn.slice(0, slash) : null;
    this.name = this.ns === null ? fqn : fqn.slice(slash + 1);
    Object.freeze(this);
  }

  private static readonly interned = new Map<string, Sym>();

  static of(fqn: string): Sym {
    let s = Sym.interned.get(fqn);
    if (s === undefined) {
      s = new Sym(fqn);
      Sym.interned.set(fqn, s);
    }
    return s;
  }

  toString(): string {
    return this.fqn;
  }

  toJSON(): string {
    return this.fqn;
  }
}

/** An EDN list `(a b c)`: distinct from a vector, which is a plain array. */
export class List {
  readonly items: readonly unknown[];
  constructor(items: readonly unknown[]) {
    this.items = items;
  }
  get length(): number {
    return this.items.length;
  }
  [Symbol.iterator](): Iterator<unknown> {
    return this.items[Symbol.iterator]();
  }
}

/** An exact decimal: `unscaled * 10^-scale`. `1.50M` is unscaled 150n, scale 2. */
export class BigDec {
  readonly unscaled: bigint;
  readonly scale: number;

  constructor(unscaled: bigint, scale: number) {
    this.unscaled = unscaled;
    this.scale = scale;
    Object.freeze(this);
  }

  /** Parses `-12.340` (no exponent or with `e-3`); returns null when the text is not a decimal. */
  static parse(text: string): BigDec | null {
    const m = /^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (m === null) return null;
    const fraction = m[3] ?? '';
    let scale = fraction.length - (m[4] === undefined ? 0 : Number(m[4]));
    let digits = BigInt(m[2] + fraction);
    if (scale < 0) {
      digits *= 10n ** BigInt(-scale);
      scale = 0;
    }
    return new BigDec(m[1] === '-' ? -digits : digits, scale);
  }

  /** Compares numerically: 1.5M equals 1.50M here (the index orders them equal, as Java's compareTo). */
  compare(other: BigDec): number {
    const s = Math.max(this.scale, other.scale);
    const a = this.unscaled * 10n ** BigInt(s - this.scale);
    const b = other.unscaled * 10n ** BigInt(s - other.scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  toString(): string {
    const negative = this.unscaled < 0n;
    let digits = (negative ? -this.unscaled : this.unscaled).toString();
    if (this.scale > 0) {
      digits = digits.padStart(this.scale + 1, '0');
      digits = digits.slice(0, digits.length - this.scale) + '.' + digits.slice(digits.length - this.scale);
    }
    return (negative ? '-' : '') + digits;
  }

  toJSON(): string {
    return this.toString() + 'M';
  }
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class Uuid {
  /** Canonical lowercase text form. */
  readonly text: string;
  private constructor(text: string) {
    this.text = text;
    Object.freeze(this);
  }
  /** Returns null when the text is not a UUID. */
  static parse(text: string): Uuid | null {
    const lower = text.toLowerCase();
    return uuidPattern.test(lower) ? new Uuid(lower) : null;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

export class Uri {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
    Object.freeze(this);
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

/** An EDN tagged literal whose tag factum does not interpret. */
export class Tagged {
  constructor(
    readonly tag: string,
    readonly value: unknown,
  ) {
    Object.freeze(this);
  }
}

/** `kw('person/name')` or `kw(':person/name')`. */
export const kw = (fqn: string): Keyword => Keyword.of(fqn);
/** `sym('?e')`. */
export const sym = (fqn: string): Sym => Sym.of(fqn);
/** `list(sym('pull'), sym('?e'), [kw('person/name')])`. */
export const list = (...items: unknown[]): List => new List(items);
