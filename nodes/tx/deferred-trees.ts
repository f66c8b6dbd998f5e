//! The four index trees of a db state, brought up to date when read rather than per transaction.
//!
//! A transaction hands its rows over (inserted, removed) and each tree keeps a chain of pending
//! batches. The first read of a tree applies its whole chain as one sorted batch, which costs far
//! less per row than one path copy per transaction, and caches the result. A transaction's own
//! lookups (EAVT for card-one and redundancy checks, AVET for unique values, VAET for
//! retractEntity) read the tree as last applied and scan a short chain beside it (`rowsMatching`),
//! so a run of small transactions applies each tree once per many transactions, not once each.
//!
//!   root of the newest tree built ◄── pending [rows of t 7] → [rows of t 6] → [rows of t 5] → null
//!
//! Each state owns its chain head; chains share their tails, and applying one never changes a
//! batch, so every db value sees exactly its own transactions. Rows are unique: a row is inserted
//! once and removed at most once, after it was inserted.
import type { IndexName } from '../datom/datom.ts';
import { CHUNK_BITS, CHUNK_MASK, type Chunk, type DatomTable } from '../db/datom-table.ts';
import { Leaf, insertSorted, type Branch, rebuilt, removeSorted, type Compare, type Node } from '../btree/int-tree.ts';
import { treeRows, type LookupTrees, type Trees } from '../db/db.ts';
import { rowMatches } from '../db/index-order.ts';
import { valuesEqual } from '../values/compare.ts';
import { integerOrder, stableOrder } from '../util/stable-order.ts';
import { AssertionError } from '../util/assert.ts';

interface Pending {
  /**
   * The batch's rows are the first `inserts` of `insert` and the first `removes` of `remove`. A
   * transaction's batch owns exactly its arrays. A flattened batch's arrays have room to grow, and
   * may have been filled past its counts by a newer flattening of the same chain (`appended`).
   */
  readonly insert: readonly number[];
  readonly inserts: number;
  readonly remove: readonly number[];
  readonly removes: number;
  /** A flattened batch's: how far its arrays are filled, shared with every batch over them. Else null. */
  readonly insertFill: Fill | null;
  readonly removeFill: Fill | null;
  readonly previous: Pending | null;
  /** Rows in this batch and every earlier one of the chain. */
  readonly rows: number;
  /**
   * Whether this batch and every earlier one insert only (assertion row, its retraction row)
   * pairs, as a history batch does: the retraction sorts right after its assertion in every
   * history order (nothing of that fact happened between them), so only assertions need sorting.
   */
  readonly paired: boolean;
  /** Batches in the chain, this one included. */
  readonly batches: number;
  /** Rows of the chain's flattened batches. */
  readonly flatRows: number;
  /** The chain's newest flattened batch (this batch, if it is one), else null. */
  readonly flat: Pending | null;
  /** The smallest row the chain inserts, Infinity when none. */
  readonly firstInserted: number;
  /**
   * Whether a removal may cancel a row the chain inserts: a batch removes a row no older than a
   * row inserted before it. When false, every removed row was in the tree before the chain.
   */
  readonly cancels: boolean;
  /**
   * The entities of this batch's rows as a 32-bit mask, bit `e & 31` for entity `e`: an entity
   * lookup skips a batch without its bit (`entityBit`). Made for the batches of current EAVT, the
   * only ones entity lookups read; all bits for the others and for flattened batches.
   */
  readonly entities: number;
}

/** The rows an array of flattened batches holds (the array has room past them). */
interface Fill {
  used: number;
}

/**
 * A chain is never applied before its tree is read: applying it early would merge it into the
 * tree, and merging again and again costs more than sorting once (comparisons read rows all over
 * the table). To bound what an unread chain holds, it is flattened: its net rows become one batch,
 * unsorted, and a pending row then costs what a row of the tree does (a number in an array). A
 * chain whose removals may cancel rows it inserted is copied whole into one batch once it has more
 * batches than this, or than an eighth of the rows of its flattened batches, so each row is copied
 * a bounded number of times (the flat batch grows by an eighth). Other chains, see below.
 */
const FLATTEN_BATCHES_MIN = 1024;

/**
 * A chain none of whose removals cancels an insert is flattened sooner, once it has more batches
 * than this after its newest flattened batch: their rows are appended to that batch's arrays in
 * place, or to a new flattened batch (`appended`). Each row is copied once, and batches live
 * briefly, which the garbage collector likes.
 */
const APPEND_BATCHES_MIN = 48;

/**
 * A lookup reads through a pending chain of at most this many rows instead of applying it: a
 * short scan costs less than applying (path-copying) the tree after every small transaction.
 */
const LOOKUP_CHAIN_ROWS_MAX = 64;

const indexes: readonly IndexName[] = ['eavt', 'aevt', 'avet', 'vaet'];
const VAET = 3;

export class DeferredTrees implements LookupTrees {
  private constructor(
    private readonly table: DatomTable,
    private readonly orders: Readonly<Record<IndexName, Compare>>,
    /** History trees: rows of one fact, its assertions and retractions, tie until their t. */
    private readonly inTime: boolean,
    private readonly roots: Node[],
    private readonly pending: Array<Pending | null>,
  ) {}

  /** The trees after one transaction's rows (VAET takes the rows of ref attributes only). */
  static after(
    trees: Trees,
    table: DatomTable,
    orders: Readonly<Record<IndexName, Compare>>,
    inTime: boolean,
    remove: readonly number[],
    removeRefs: readonly number[],
    insert: readonly number[],
    insertRefs: readonly number[],
    paired: boolean,
  ): Trees {
    // Nothing for these trees (the history of a transaction that retracts nothing): the same trees.
    if (insert.length === 0 && remove.length === 0 && trees instanceof DeferredTrees && trees.table === table) return trees;
    const roots = new Array<Node>(4);
    const pending = new Array<Pending | null>(4);
    for (let i = 0; i < 4; i++) {
      const inserted = i === VAET ? insertRefs : insert;
      const removed = i === VAET ? removeRefs : remove;
      const chain = trees instanceof DeferredTrees ? trees.pending[i]! : null;
      roots[i] = trees instanceof DeferredTrees ? trees.roots[i]! : trees[indexes[i]!];
      // EAVT, AEVT and AVET take the same rows. Those whose chains are one (applied at the same
      // state, or never) share their new batch too: one flattening, one object, serves them all.
      if (i > 0 && i !== VAET && chain === (trees instanceof DeferredTrees ? trees.pending[i - 1]! : null)) {
        pending[i] = pending[i - 1]!;
        continue;
      }
      const rows = inserted.length + removed.length;
      if (rows === 0) {
        pending[i] = chain;
        continue;
      }
      const before = chain?.firstInserted ?? Infinity;
      const firstInserted = Math.min(before, firstRow(inserted));
      let cancels = chain?.cancels ?? false;
      if (!cancels) for (let k = 0; k < removed.length; k++) if (removed[k]! >= before) cancels = true;
      const batch: Pending = {
        insert: inserted,
        inserts: inserted.length,
        remove: removed,
        removes: removed.length,
        insertFill: null,
        removeFill: null,
        previous: chain,
        rows: rows + (chain?.rows ?? 0),
        paired: paired && removed.length === 0 && (chain === null || chain.paired),
        batches: 1 + (chain?.batches ?? 0),
        flatRows: chain?.flatRows ?? 0,
        flat: chain?.flat ?? null,
        firstInserted,
        cancels,
        entities: i === 0 && !inTime ? entityMask(table, inserted, removed) : ALL_ENTITIES,
      };
      pending[i] = flattenedIfDue(batch);
    }
    return new DeferredTrees(table, orders, inTime, roots, pending);
  }

  get eavt(): Node {
    return this.tree(0);
  }
  get aevt(): Node {
    return this.tree(1);
  }
  get avet(): Node {
    return this.tree(2);
  }
  get vaet(): Node {
    return this.tree(3);
  }

  /**
   * Rows whose leading components equal `components`, in index order. With a short pending
   * chain they are read from the tree as last applied plus a scan of the chain, so a run of
   * small transactions, each looking up what it changes, does not apply the tree every time.
   */
  rowsMatching(index: IndexName, components: readonly unknown[]): number[] {
    if (index === 'eavt' && components.length <= 2 && typeof components[0] === 'number' && (components.length === 1 || typeof components[1] === 'number')) {
      return this.entityRows(components[0], components.length === 2 ? (components[1] as number) : -1);
    }
    const i = indexes.indexOf(index);
    const chain = this.pending[i]!;
    if (chain === null || chain.rows > LOOKUP_CHAIN_ROWS_MAX) return treeRows(this.tree(i), this.table, index, components);
    const rows = treeRows(this.roots[i]!, this.table, index, components);
    const table = this.table;
    return withPending(rows, chain, ALL_ENTITIES, this.orders[index], (row) => rowMatches(table, index, components, row));
  }

  /**
   * EAVT rows of entity `e`, of attribute `a` alone when `a` is not negative: rowsMatching's
   * lookup for the one a transaction makes most (card-one replacement, redundancy, retractEntity),
   * comparing the table's columns inline instead of through probes and a cursor.
   */
  private entityRows(e: number, a: number): number[] {
    let chain: Pending | null = this.pending[0]!;
    if (chain !== null && chain.rows > LOOKUP_CHAIN_ROWS_MAX) {
      this.tree(0);
      chain = null;
    }
    const chunks = this.table.chunks;
    const rows: number[] = [];
    const root = this.roots[0]!;
    if (root.size > 0) entityRowsInto(root, chunks, e, a, rows);
    if (chain === null) return rows;
    return withPending(rows, chain, entityBit(e), this.orders.eavt, (row) => {
      const chunk = chunks[row >>> CHUNK_BITS]!;
      const at = row & CHUNK_MASK;
      return chunk.e[at] === e && (a < 0 || chunk.a[at] === a);
    });
  }

  private tree(i: number): Node {
    const chain = this.pending[i]!;
    if (chain !== null) {
      const index = indexes[i]!;
      this.roots[i] = applyPending(this.roots[i]!, chain, this.orders[index], this.table, index, this.inTime);
      this.pending[i] = null;
    }
    return this.roots[i]!;
  }
}

/**
 * The rows a lookup found in a tree as last applied (`rows`, in order), with the rows of its
 * pending chain that `matches` added and removed, in the tree's order; batches whose entity mask
 * lacks every bit of `entities` have none. A row is inserted once and removed at most once after,
 * so the order of batches does not matter.
 */
function withPending(rows: number[], chain: Pending, entities: number, cmp: Compare, matches: (row: number) => boolean): number[] {
  let inserted = false;
  for (let batch: Pending | null = chain; batch !== null; batch = batch.previous) {
    if ((batch.entities & entities) === 0) continue;
    const insert = batch.insert;
    for (let k = 0; k < batch.inserts; k++) {
      if (matches(insert[k]!)) {
        rows.push(insert[k]!);
        inserted = true;
      }
    }
  }
  for (let batch: Pending | null = chain; batch !== null; batch = batch.previous) {
    if ((batch.entities & entities) === 0) continue;
    const remove = batch.remove;
    for (let k = 0; k < batch.removes; k++) {
      const row = remove[k]!;
      if (!matches(row)) continue;
      const at = rows.indexOf(row);
      if (at < 0) throw new AssertionError(`pending removal of row ${row}, which is in neither the tree nor the chain`);
      rows.splice(at, 1);
    }
  }
  if (inserted && rows.length > 1) rows.sort(cmp);
  return rows;
}

/** Every entity's bit: a lookup that does not name one entity reads every batch. */
const ALL_ENTITIES = -1;

/** Entity `e`'s bit in a batch's entity mask. */
function entityBit(e: number): number {
  return 1 << (e & 31);
}

/** The entity mask of a batch's rows. */
function entityMask(table: DatomTable, inserted: readonly number[], removed: readonly number[]): number {
  const chunks = table.chunks;
  let mask = 0;
  for (let k = 0; k < inserted.length; k++) mask |= entityBit(chunks[inserted[k]! >>> CHUNK_BITS]!.e[inserted[k]! & CHUNK_MASK]!);
  for (let k = 0; k < removed.length; k++) mask |= entityBit(chunks[removed[k]! >>> CHUNK_BITS]!.e[removed[k]! & CHUNK_MASK]!);
  return mask;
}

/**
 * Appends the EAVT rows of entity `e` (and attribute `a` when not negative) under `node` to
 * `out`; false once a row past them was met. EAVT orders by entity id, then attribute id.
 */
function entityRowsInto(node: Node, chunks: readonly Chunk[], e: number, a: number, out: number[]): boolean {
  if (node instanceof Leaf) {
    const keys = node.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (beforeEntity(keys[mid]!, chunks, e, a)) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < keys.length; k++) {
      const row = keys[k]!;
      const chunk = chunks[row >>> CHUNK_BITS]!;
      const at = row & CHUNK_MASK;
      if (chunk.e[at] !== e || (a >= 0 && chunk.a[at] !== a)) return false;
      out.push(row);
    }
    return true;
  }
  const children = (node as Branch).children;
  let lo = 0;
  let hi = children.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (beforeEntity(children[mid]!.maxKey, chunks, e, a)) lo = mid + 1;
    else hi = mid;
  }
  for (let c = lo; c < children.length; c++) if (!entityRowsInto(children[c]!, chunks, e, a, out)) return false;
  return true;
}

/** Whether EAVT row `row` sorts before every row of entity `e` (and attribute `a`, when not negative). */
function beforeEntity(row: number, chunks: readonly Chunk[], e: number, a: number): boolean {
  const chunk = chunks[row >>> CHUNK_BITS]!;
  const at = row & CHUNK_MASK;
  const x = chunk.e[at]!;
  return x < e || (x === e && a >= 0 && chunk.a[at]! < a);
}

/** Applies a chain of batches, oldest first in effect: a row both inserted and removed never enters. */
function applyPending(root: Node, chain: Pending, cmp: Compare, table: DatomTable, index: IndexName, inTime: boolean): Node {
  const { inserted, removed } = netRows(chain);
  if (removed.length === 0 && inserted.length >= RADIX_ROWS_MIN) return insertSorted(root, insertsSorted(chain, inserted, cmp, table, index, inTime), cmp);
  if (removed.length > 0 && removed.length * REBUILD_SHARE >= root.size) {
    // Removing a large share of the tree: one linear rebuild, no sort of the removed rows.
    const gone = new Uint8Array(table.length);
    for (const row of removed) gone[row] = 1;
    return rebuilt(root, (row) => gone[row] === 1, removed.length, sortedRows(inserted, cmp, table, index, inTime), cmp);
  }
  if (removed.length > 0) root = removeSorted(root, sortedRows(removed, cmp, table, index, inTime), cmp);
  if (inserted.length > 0) root = insertSorted(root, sortedRows(inserted, cmp, table, index, inTime), cmp);
  return root;
}

/** The chain, or its batches as one flattened batch when it has grown long (see FLATTEN_BATCHES_MIN, APPEND_BATCHES_MIN). */
function flattenedIfDue(chain: Pending): Pending {
  if (!chain.cancels) return chain.batches - (chain.flat?.batches ?? 0) > APPEND_BATCHES_MIN ? appended(chain, chain.flat) : chain;
  return chain.batches > Math.max(FLATTEN_BATCHES_MIN, chain.flatRows >> 3) ? flattened(chain) : chain;
}

/** The chain as one batch of its net rows, in chain order (oldest first). */
function flattened(chain: Pending): Pending {
  // New arrays, the flattened batch's own (a chain flattened has more than one batch), not the
  // ones netRows keeps: rows may be appended to a flattened batch's arrays in place.
  const { inserted, removed } = chainNetRows(chain);
  const firstInserted = firstRow(inserted);
  return flatBatch(chain, null, inserted as number[], { used: inserted.length }, removed as number[], { used: removed.length }, firstInserted);
}

/**
 * The chain, none of whose removals cancels an insert, with its newer batches (those after its
 * newest flattened batch) flattened: their rows appended in place to the flattened batch's arrays
 * when those have room and nobody filled them further since, else into a new flattened batch
 * whose arrays have room for as many rows again, after the old one. Rows are copied once, and a
 * chain holds a few flattened batches of doubling size.
 */
function appended(chain: Pending, flat: Pending | null): Pending {
  const batches: Pending[] = [];
  let inserts = 0;
  let removes = 0;
  for (let batch = chain; batch !== flat; batch = batch.previous!) {
    batches.push(batch);
    inserts += batch.inserts;
    removes += batch.removes;
  }
  const inPlace =
    flat !== null &&
    flat.insertFill!.used === flat.inserts &&
    flat.removeFill!.used === flat.removes &&
    flat.inserts + inserts <= flat.insert.length &&
    flat.removes + removes <= flat.remove.length;
  const insert = inPlace ? (flat.insert as number[]) : new Array<number>(roomFor(inserts, flat?.insert.length ?? 0));
  const remove = inPlace ? (flat.remove as number[]) : new Array<number>(roomFor(removes, flat?.remove.length ?? 0));
  const insertFill = inPlace ? flat.insertFill! : { used: 0 };
  const removeFill = inPlace ? flat.removeFill! : { used: 0 };
  let i = insertFill.used;
  let r = removeFill.used;
  for (let k = batches.length - 1; k >= 0; k--) {
    const batch = batches[k]!;
    for (let n = 0; n < batch.inserts; n++) insert[i++] = batch.insert[n]!;
    for (let n = 0; n < batch.removes; n++) remove[r++] = batch.remove[n]!;
  }
  insertFill.used = i;
  removeFill.used = r;
  return flatBatch(chain, inPlace ? flat.previous : flat, insert, insertFill, remove, removeFill, chain.firstInserted);
}

/** The smallest of the rows, Infinity when there are none. */
function firstRow(rows: readonly number[]): number {
  let first = Infinity;
  for (let k = 0; k < rows.length; k++) if (rows[k]! < first) first = rows[k]!;
  return first;
}

/** Room for a new flattened batch's array: its rows, and as many again as it or the one before holds. */
function roomFor(rows: number, before: number): number {
  return rows === 0 ? 0 : Math.max(1024, 2 * rows, 2 * before);
}

/**
 * A flattened batch after `previous` (older flattened batches, or null), holding the rest of the
 * chain's net rows: the first `used` of `insert` and of `remove`.
 */
function flatBatch(chain: Pending, previous: Pending | null, insert: number[], insertFill: Fill, remove: number[], removeFill: Fill, firstInserted: number): Pending {
  const rows = insertFill.used + removeFill.used;
  const batch: Pending = {
    insert,
    inserts: insertFill.used,
    remove,
    removes: removeFill.used,
    insertFill,
    removeFill,
    previous,
    rows: rows + (previous?.rows ?? 0),
    paired: chain.paired,
    batches: 1 + (previous?.batches ?? 0),
    flatRows: rows + (previous?.flatRows ?? 0),
    flat: null,
    firstInserted,
    cancels: false,
    entities: ALL_ENTITIES,
  };
  (batch as { flat: Pending | null }).flat = batch;
  return batch;
}

/**
 * The rows a large chain of inserts gave the EAVT and AEVT trees of one state, by the chain's
 * newest batch: the three trees of a state take the same rows in every batch (the very arrays),
 * so a chain with the same newest batch, batch count and rows holds the same rows. Kept as long
 * as that batch lives.
 */
const siblingOrders = new WeakMap<readonly number[], { batches: number; rows: number; eavt: readonly number[] | null; aevt: readonly number[] | null }>();

/**
 * The rows a large chain of inserts inserts, in the order of `index`: history pairs sort their
 * assertions only. AEVT and AVET take theirs from the order a sibling tree already sorted the
 * same rows into, when there is one: AEVT is EAVT regrouped stably by attribute, AVET is AEVT
 * ordered stably by value within each attribute (ties keep entity, then time, order), each one
 * linear pass instead of a sort. VAET (the rows of refs only) sorts its own.
 */
function insertsSorted(chain: Pending, inserted: readonly number[], cmp: Compare, table: DatomTable, index: IndexName, inTime: boolean): readonly number[] {
  const sort = (): readonly number[] => (chain.paired ? sortedPairs(inserted, cmp, table, index) : sortedRows(inserted, cmp, table, index, inTime));
  if (index === 'vaet') return sort();
  let known = siblingOrders.get(chain.insert);
  if (known === undefined || known.batches !== chain.batches || known.rows !== chain.rows) {
    known = { batches: chain.batches, rows: chain.rows, eavt: null, aevt: null };
    siblingOrders.set(chain.insert, known);
  }
  if (index === 'eavt') return (known.eavt = sort());
  if (index === 'aevt') return (known.aevt = (known.eavt === null ? null : groupByAttribute(known.eavt, table)) ?? sort());
  if (known.aevt === null) return sort();
  const avet = known.aevt.slice();
  // History pairs stay together: each (assertion, retraction) is ordered as a unit by its value.
  orderByValueWithinAttribute(avet, table, chain.paired ? 2 : 1);
  return avet;
}

interface NetRows {
  readonly inserted: readonly number[];
  readonly removed: readonly number[];
}

/**
 * The net rows of chains of more than one batch, kept while the chain lives: the trees of a state
 * that share a chain (EAVT, AEVT, AVET) apply the same rows, copied out of the chain once.
 */
const netRowsOf = new WeakMap<Pending, NetRows>();

/**
 * What a chain changes in its tree: rows it inserts, and rows of the tree it removes, in arrays
 * never to be changed (the callers' too: they read them).
 */
function netRows(chain: Pending): NetRows {
  // One transaction removes only rows already in the tree: nothing cancels out. A flattened
  // batch's arrays may grow for a newer flattening: its rows are copied out.
  if (chain.previous === null) {
    return chain.insertFill === null ? { inserted: chain.insert, removed: chain.remove } : { inserted: chain.insert.slice(0, chain.inserts), removed: chain.remove.slice(0, chain.removes) };
  }
  let net = netRowsOf.get(chain);
  if (net === undefined) {
    net = chainNetRows(chain);
    netRowsOf.set(chain, net);
  }
  return net;
}

/** netRows of a chain of more than one batch. */
function chainNetRows(chain: Pending): NetRows {
  const batches: Pending[] = [];
  let inserts = 0;
  let removes = 0;
  for (let batch: Pending | null = chain; batch !== null; batch = batch.previous) {
    batches.push(batch);
    inserts += batch.inserts;
    removes += batch.removes;
  }
  // Rows are appended in order, so a removed row older than every row the chain inserts was in
  // the tree before the chain: it leaves the tree. Only removals of rows the chain inserted (a
  // fact asserted and retracted within the chain) cancel out, against their insertion.
  const firstInserted = chain.firstInserted;
  const removed = new Array<number>(removes);
  let cancelled: Set<number> | null = null;
  let r = 0;
  for (let k = batches.length - 1; k >= 0; k--) {
    const batch = batches[k]!;
    for (let n = 0; n < batch.removes; n++) {
      const row = batch.remove[n]!;
      if (row < firstInserted) removed[r++] = row;
      else (cancelled ??= new Set()).add(row);
    }
  }
  removed.length = r;
  // Into arrays of their final size (growing one by push copies a large chain over and over).
  const inserted = new Array<number>(inserts - (cancelled?.size ?? 0));
  let at = 0;
  for (let k = batches.length - 1; k >= 0; k--) {
    const batch = batches[k]!;
    for (let n = 0; n < batch.inserts; n++) {
      const row = batch.insert[n]!;
      if (cancelled === null || !cancelled.has(row)) inserted[at++] = row;
    }
  }
  if (at !== inserted.length) throw new AssertionError(`a pending chain cancels ${inserts - at} of its own rows, but removes ${cancelled?.size ?? 0} of them`);
  return { inserted, removed };
}

/** A chain removing at least 1/8 of a tree's rows rebuilds it (int-tree.ts `rebuilt`). */
const REBUILD_SHARE = 8;

const GROUPING_ROWS_MIN = 64;
const RADIX_ROWS_MIN = 512;
/**
 * EAVT batches of this many rows or more, in a few runs of ascending entities (as an applied
 * lookup chain's removals come: one entity's rows a transaction), are ordered by merging the runs
 * before the comparator settles each entity's rows, instead of by comparisons only.
 */
const ENTITY_ORDER_ROWS_MIN = 32;
const ENTITY_RUNS_MAX = 16;
/**
 * EAVT batches in many short runs that interleave at most this many ascending sequences of
 * entities (a run of small transactions: each one's entity rows, and its transaction entity's
 * row) are ordered by merging those sequences.
 */
const ENTITY_PILES_MAX = 4;
const ATTRIBUTE_RANGE_MAX = 1 << 16;

/** What a large batch can be pre-sorted by before the comparator settles ties. */
type Lead = 'e' | 'a' | 'ae' | 'v';

const leads: Record<IndexName, Lead> = { eavt: 'e', aevt: 'ae', avet: 'a', vaet: 'v' };

/**
 * The rows in the comparator's order: `rows` itself when already in order, else a new array.
 * Large batches are first ordered by their leading numeric components with stable radix and
 * counting passes (entity ids, ref values, attribute ids are integers), so the comparator only
 * settles rows that tie on those (AVET: rows of one attribute, by value). `inTime` is true for
 * the history trees, where the rows of one fact tie until their t. Exported for its tests.
 */
export function sortedRows(rows: readonly number[], cmp: Compare, table: DatomTable, index: IndexName, inTime: boolean): readonly number[] {
  const n = rows.length;
  if (n < 2) return rows;
  if (n === 2) return cmp(rows[0]!, rows[1]!) > 0 ? [rows[1]!, rows[0]!] : rows;
  const lead = leads[index];
  if (n >= RADIX_ROWS_MIN && lead === 'a') {
    const grouped = groupByAttribute(rows, table);
    if (grouped !== null) {
      orderByEntityWithinAttribute(grouped, table);
      orderByValueWithinAttribute(grouped, table);
      // A current tree holds a fact once: only history rows can tie on e a v.
      return inTime ? settleTies(grouped, true, cmp, table, 'aev') : grouped;
    }
  }
  if (n >= RADIX_ROWS_MIN && lead === 'ae') {
    const grouped = groupByAttribute(rows, table);
    if (grouped !== null) {
      orderByEntityWithinAttribute(grouped, table);
      return settleTies(grouped, true, cmp, table, lead);
    }
  }
  if (lead === 'e' && n >= ENTITY_ORDER_ROWS_MIN) {
    const ordered = n >= RADIX_ROWS_MIN || entityRuns(rows, table, ENTITY_RUNS_MAX) <= ENTITY_RUNS_MAX ? byEntity(rows, table) : byEntityPiles(rows, table);
    if (ordered !== null) return settleTies(ordered, ordered !== rows, cmp, table, lead);
  }
  if (n >= RADIX_ROWS_MIN && lead === 'v' && rows.every((row) => isEntityId(table.v(row)))) {
    const ordered = radixByInteger(rows, (row) => table.v(row) as number);
    return settleTies(ordered, ordered !== rows, cmp, table, lead);
  }
  const copy = rows.slice();
  if (lead !== 'e' && lead !== 'v' && n >= GROUPING_ROWS_MIN) return (groupByAttribute(copy, table) ?? copy).sort(cmp);
  return copy.sort(cmp);
}

/**
 * History pairs (assertion row, its retraction row) in the comparator's order: the assertions
 * sorted, each followed by its retraction. Half the rows to sort, and no ties between the two.
 * Exported for its tests.
 */
export function sortedPairs(pairs: readonly number[], cmp: Compare, table: DatomTable, index: IndexName): readonly number[] {
  const n = pairs.length >> 1;
  const assertions = new Array<number>(n);
  // Retraction rows by assertion row: an array over the table when the pairs are not too sparse in it.
  const dense = table.length <= 16 * pairs.length;
  const byRow = dense ? new Int32Array(table.length) : null;
  const byMap = dense ? null : new Map<number, number>();
  for (let k = 0; k < n; k++) {
    const asserted = pairs[2 * k]!;
    assertions[k] = asserted;
    if (byRow !== null) byRow[asserted] = pairs[2 * k + 1]!;
    else byMap!.set(asserted, pairs[2 * k + 1]!);
  }
  const sorted = sortedRows(assertions, cmp, table, index, true);
  const out = new Array<number>(2 * n);
  for (let k = 0; k < n; k++) {
    const asserted = sorted[k]!;
    out[2 * k] = asserted;
    out[2 * k + 1] = byRow !== null ? byRow[asserted]! : byMap!.get(asserted)!;
  }
  return out;
}

function isEntityId(v: unknown): boolean {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * Sorts each run of neighbouring rows that share `key` (e; a and e; a, e and v; v) by the
 * comparator; rows the caller does not own (`owned` false) are copied before the first change.
 * Runs are short (one entity's rows, say). They are found by reading the table's columns
 * directly: every row of a large batch passes here.
 */
function settleTies(rows: readonly number[], owned: boolean, cmp: Compare, table: DatomTable, key: 'e' | 'ae' | 'aev' | 'v'): readonly number[] {
  const chunks = table.chunks;
  const n = rows.length;
  let out = rows as number[];
  let start = 0;
  let first = chunks[rows[0]! >>> CHUNK_BITS]!;
  let at = rows[0]! & CHUNK_MASK;
  for (let i = 1; i <= n; i++) {
    if (i < n) {
      const row = rows[i]!;
      const chunk = chunks[row >>> CHUNK_BITS]!;
      const k = row & CHUNK_MASK;
      let same: boolean;
      switch (key) {
        case 'e':
          same = chunk.e[k] === first.e[at];
          break;
        case 'ae':
          same = chunk.e[k] === first.e[at] && chunk.a[k] === first.a[at];
          break;
        case 'aev':
          same = chunk.e[k] === first.e[at] && chunk.a[k] === first.a[at] && valuesEqual(chunk.v[k], first.v[at]);
          break;
        case 'v':
          same = chunk.v[k] === first.v[at];
      }
      if (same) continue;
      first = chunk;
      at = k;
    }
    if (i - start > 1 && !(key === 'e' ? inEntityOrder(out, start, i, cmp, chunks) : inOrder(out, start, i, cmp))) {
      if (!owned) {
        out = out.slice();
        owned = true;
      }
      insertionSort(out, start, i, cmp);
    }
    start = i;
  }
  return out;
}

/** inOrder for rows of one entity: rows of different attributes are told apart by their ids, read inline. */
function inEntityOrder(rows: readonly number[], from: number, to: number, cmp: Compare, chunks: readonly Chunk[]): boolean {
  let previous = rows[from]!;
  let a = chunks[previous >>> CHUNK_BITS]!.a[previous & CHUNK_MASK]!;
  for (let i = from + 1; i < to; i++) {
    const row = rows[i]!;
    const b = chunks[row >>> CHUNK_BITS]!.a[row & CHUNK_MASK]!;
    if (b < a || (b === a && cmp(previous, row) > 0)) return false;
    previous = row;
    a = b;
  }
  return true;
}

function inOrder(rows: readonly number[], from: number, to: number, cmp: Compare): boolean {
  for (let i = from + 1; i < to; i++) if (cmp(rows[i - 1]!, rows[i]!) > 0) return false;
  return true;
}

function insertionSort(rows: number[], from: number, to: number, cmp: Compare): void {
  for (let i = from + 1; i < to; i++) {
    const row = rows[i]!;
    let j = i - 1;
    while (j >= from && cmp(rows[j]!, row) > 0) {
      rows[j + 1] = rows[j]!;
      j--;
    }
    rows[j + 1] = row;
  }
}

/** The runs of ascending entity ids the rows come in, counted up to `most` + 1. */
function entityRuns(rows: readonly number[], table: DatomTable, most: number): number {
  const chunks = table.chunks;
  let runs = 1;
  let previous = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    const e = chunks[row >>> CHUNK_BITS]!.e[row & CHUNK_MASK]!;
    if (e < previous && ++runs > most) return runs;
    previous = e;
  }
  return runs;
}

/**
 * The rows by entity in a new array when they interleave at most ENTITY_PILES_MAX ascending
 * sequences of entities, else null: each row joins the first sequence it can extend (first fit),
 * then the sequences are merged. Rows of one entity may come in any order (the comparator settles them).
 */
function byEntityPiles(rows: readonly number[], table: DatomTable): number[] | null {
  const chunks = table.chunks;
  const n = rows.length;
  const entities = new Array<number>(n);
  // Each sequence: the positions of its rows, and the entity of its last one.
  const sequences: number[][] = [];
  const last: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows[i]!;
    const e = chunks[row >>> CHUNK_BITS]!.e[row & CHUNK_MASK]!;
    entities[i] = e;
    let p = 0;
    while (p < sequences.length && last[p]! > e) p++;
    if (p === sequences.length) {
      if (p === ENTITY_PILES_MAX) return null;
      sequences.push([]);
    }
    sequences[p]!.push(i);
    last[p] = e;
  }
  // Merged: each row taken from the sequence whose next row has the smallest entity.
  const heads = new Array<number>(sequences.length).fill(0);
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) {
    let best = 0;
    let bestE = Infinity;
    for (let p = 0; p < sequences.length; p++) {
      const sequence = sequences[p]!;
      if (heads[p]! < sequence.length && entities[sequence[heads[p]!]!]! < bestE) {
        best = p;
        bestE = entities[sequence[heads[p]!]!]!;
      }
    }
    out[k] = rows[sequences[best]![heads[best]!++]!]!;
  }
  return out;
}

/** The rows stably by entity: `rows` itself when in entity order already, as one transaction's usually are. */
function byEntity(rows: readonly number[], table: DatomTable): readonly number[] {
  return entityRuns(rows, table, 1) === 1 ? rows : byIntegerKeys(rows, rows.map((x) => table.e(x)));
}

/** The rows stably by an integer key: `rows` itself when already in that order. */
function radixByInteger(rows: readonly number[], keyOf: (row: number) => number): readonly number[] {
  const keys = rows.map(keyOf);
  for (let i = 1; i < keys.length; i++) if (keys[i]! < keys[i - 1]!) return byIntegerKeys(rows, keys);
  return rows;
}

/** The rows in a new array, stably by their keys (util/stable-order.ts: a radix sort). */
function byIntegerKeys(rows: readonly number[], keys: readonly number[]): number[] {
  const order = integerOrder(keys);
  if (order === null) throw new AssertionError('byIntegerKeys: keys must be integers');
  const out = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = rows[order[i]!]!;
  return out;
}

/**
 * The rows stably sorted by attribute id (a counting sort: ids are small), in a new array; null
 * when the ids span too wide a range. Rows mostly come in entity order, so after grouping the
 * comparison sort meets long sorted runs.
 */
function groupByAttribute(rows: readonly number[], table: DatomTable): number[] | null {
  let min = Infinity;
  let max = -Infinity;
  const attributes = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const a = table.a(rows[i]!);
    attributes[i] = a;
    if (a < min) min = a;
    if (a > max) max = a;
  }
  if (max - min >= ATTRIBUTE_RANGE_MAX) return null;
  const starts = new Int32Array(max - min + 2);
  for (let i = 0; i < rows.length; i++) starts[attributes[i]! - min + 1]!++;
  for (let k = 1; k < starts.length; k++) starts[k]! += starts[k - 1]!;
  const grouped = new Array<number>(rows.length);
  for (let i = 0; i < rows.length; i++) grouped[starts[attributes[i]! - min]!++] = rows[i]!;
  return grouped;
}

/**
 * Rows grouped by attribute become ordered by entity within each group, keeping their order
 * otherwise (stable). Rows of one attribute usually come in entity order already (new entities
 * get ascending ids), so grouping first spares the sort by entity of all rows.
 */
function orderByEntityWithinAttribute(rows: number[], table: DatomTable): void {
  const chunks = table.chunks;
  let start = 0;
  while (start < rows.length) {
    const first = rows[start]!;
    const a = chunks[first >>> CHUNK_BITS]!.a[first & CHUNK_MASK]!;
    let previous = chunks[first >>> CHUNK_BITS]!.e[first & CHUNK_MASK]!;
    let ordered = true;
    let end = start + 1;
    for (; end < rows.length; end++) {
      const row = rows[end]!;
      const chunk = chunks[row >>> CHUNK_BITS]!;
      if (chunk.a[row & CHUNK_MASK] !== a) break;
      const e = chunk.e[row & CHUNK_MASK]!;
      if (e < previous) ordered = false;
      previous = e;
    }
    if (!ordered) {
      const group = byEntity(rows.slice(start, end), table);
      for (let k = 0; k < group.length; k++) rows[start + k] = group[k]!;
    }
    start = end;
  }
}

/**
 * Rows grouped by attribute become ordered by value within each group, keeping their order
 * otherwise (stable; nodes/util/stable-order.ts). With `stride` 2 the rows are (assertion,
 * retraction) pairs, each ordered as one by its value.
 */
function orderByValueWithinAttribute(rows: number[], table: DatomTable, stride: 1 | 2 = 1): void {
  const chunks = table.chunks;
  const attributeOf = (row: number) => chunks[row >>> CHUNK_BITS]!.a[row & CHUNK_MASK]!;
  let start = 0;
  while (start < rows.length) {
    const a = attributeOf(rows[start]!);
    let end = start + stride;
    while (end < rows.length && attributeOf(rows[end]!) === a) end += stride;
    const units = (end - start) / stride;
    if (units > 1) {
      const group = rows.slice(start, end);
      const values = new Array<unknown>(units);
      for (let k = 0; k < units; k++) {
        const row = group[k * stride]!;
        values[k] = chunks[row >>> CHUNK_BITS]!.v[row & CHUNK_MASK];
      }
      const order = stableOrder(values);
      if (stride === 1) for (let k = 0; k < units; k++) rows[start + k] = group[order[k]!]!;
      else {
        for (let k = 0; k < units; k++) {
          rows[start + 2 * k] = group[2 * order[k]!]!;
          rows[start + 2 * k + 1] = group[2 * order[k]! + 1]!;
        }
      }
    }
    start = end;
  }
}
