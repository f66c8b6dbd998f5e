//! The read interface of a db value: what query, pull and the client see. A db value is
//! immutable: every method returns the same answer for the same arguments, forever.
import type { Datom, IndexName } from '../datom/datom.ts';
import type { Keyword } from '../values/values.ts';

export type ValueType =
  | 'keyword' | 'symbol' | 'string' | 'boolean' | 'long' | 'bigint' | 'float' | 'double'
  | 'bigdec' | 'instant' | 'uuid' | 'uri' | 'ref' | 'tuple' | 'bytes';

/** An installed attribute, as the engine sees it. */
export interface Attribute {
  readonly id: number;
  readonly ident: Keyword;
  readonly valueType: ValueType;
  readonly cardinality: 'one' | 'many';
  readonly unique: 'identity' | 'value' | null;
  readonly isComponent: boolean;
  readonly noHistory: boolean;
  readonly indexed: boolean;
  /** Composite tuple: the attribute ids whose values it collects. */
  readonly tupleAttrs: readonly number[] | null;
  /** Homogeneous tuple element type. */
  readonly tupleType: ValueType | null;
  /** Heterogeneous tuple element types. */
  readonly tupleTypes: readonly ValueType[] | null;
  /** Attribute predicates, as fully qualified function symbols. */
  readonly preds: readonly string[];
  readonly doc: string | null;
}

/**
 * Something that names an entity: an entity id, an ident keyword (`:color/red`), or a lookup ref
 * `[attr, value]` on a unique attribute.
 */
export type EntityRef = number | Keyword | readonly [unknown, unknown];

export interface Database {
  /** The t of the newest transaction this db value contains. */
  readonly basisT: number;
  /** Set on `asOf` views: the t they are filtered to. */
  readonly asOfT: number | null;
  /** Set on `since` views. */
  readonly sinceT: number | null;
  /** True for `history()` views: datoms include retractions and every past assertion. */
  readonly isHistory: boolean;

  /**
   * Datoms of one index in index order, narrowed by leading components (e, a, v, tx for EAVT and
   * so on; entity and attribute components may be idents or lookup refs). Lazy: nothing is
   * materialised beyond what is iterated.
   */
  datoms(index: IndexName, ...components: unknown[]): Iterable<Datom>;

  /** AVET datoms of `attribute` with `start <= v < end` (null or undefined: unbounded). */
  indexRange(attribute: EntityRef, start?: unknown, end?: unknown): Iterable<Datom>;

  /** How many datoms `datoms(index, ...components)` would yield: exact on a current db, an upper bound on filtered views; cheap (for query planning). */
  count(index: IndexName, ...components: unknown[]): number;

  /** The attribute named by id or ident; undefined when there is none. */
  attribute(ref: number | Keyword): Attribute | undefined;

  /** Resolves an entity reference to its id; null when it names nothing. */
  entid(ref: EntityRef): number | null;

  /** The ident of an entity, if it has one. */
  ident(e: number): Keyword | null;

  asOf(t: number | Date): Database;
  since(t: number | Date): Database;
  history(): Database;
}
