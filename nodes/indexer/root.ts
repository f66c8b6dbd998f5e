//! The root record of a database's durable indexes: the only mutable thing the indexer writes,
//! and only by compare-and-swap (record `root/<database id>`).
//!
//! It names the eight trees (current and history of EAVT, AEVT, AVET, VAET), the basis t they
//! cover, the first log position they do not cover (opening replays the log from there), and the
//! counters a transaction needs. `retired` lists earlier roots with the time they were replaced:
//! garbage collection keeps every segment they reach while they are inside the retention window,
//! because db values made from them may still be read. Encoded as JSON (it is small: eight
//! addresses per root); decoding checks every field and reports `storage/corrupt`.
import type { DurableTree } from '../btree/durable-tree.ts';
import type { Datom, IndexName } from '../datom/datom.ts';
import { FactumError } from '../util/errors.ts';
import { Reader, Writer } from '../values/codec.ts';
import { readDatomColumns, writeDatomColumns } from '../segment/datom-columns.ts';
import { indexNames } from './datom-order.ts';

export interface TreePair {
  readonly current: DurableTree;
  readonly history: DurableTree;
}

export type IndexTrees = Readonly<Record<IndexName, TreePair>>;

export interface RetiredRoot {
  readonly t: number;
  readonly trees: IndexTrees;
  readonly tiers: readonly IndexTrees[];
  readonly retiredAtMs: number;
}

export interface IndexRoot {
  /** The basis t of the trees: they hold every datom of transactions up to t. */
  readonly t: number;
  /** The first log position holding transactions after t. */
  readonly logPosition: number;
  readonly nextUserN: number;
  readonly nextDbN: number;
  readonly lastTxInstantMs: number;
  /** The main trees. */
  readonly trees: IndexTrees;
  /** The tiers (runs) of recent datoms, newest first (levels.ts). */
  readonly tiers: readonly IndexTrees[];
  readonly writtenAtMs: number;
  readonly retired: readonly RetiredRoot[];
  /**
   * Retired roots retired at or before this time were dropped from `retired` to keep the record
   * small (Indexer): garbage collection can no longer keep their segments. 0 when none was.
   */
  readonly retiredDroppedMs: number;
}

/** Format 2 added tiers; a format 1 root (no tiers) is read as one with none. */
const FORMAT = 2;

export function rootKey(databaseId: string): string {
  return `root/${databaseId}`;
}

/** Every segment of a database is stored under this prefix + its address. */
export function segmentPrefix(databaseId: string): string {
  return `segments/${databaseId}/`;
}

/**
 * The encoded size above which a tree's upper bound is left out of the root (it is optional: a
 * tree without one is never skipped by it). A value may be kilobytes long, and the root names
 * dozens of trees in a record that must stay small.
 */
const LAST_BYTES_MAX = 512;

/** A tree's upper bound (a datom) in the root's JSON: base64 of its segment column encoding; undefined (left out) when large. */
function encodeLast(last: unknown): string | undefined {
  const writer = new Writer(64);
  writeDatomColumns(writer, [last as Datom]);
  const bytes = writer.finish();
  return bytes.length > LAST_BYTES_MAX ? undefined : Buffer.from(bytes).toString('base64');
}

/** Retired roots only name segments for garbage collection: their trees' bounds are not kept. */
function withoutLast(trees: IndexTrees): IndexTrees {
  const out = {} as Record<IndexName, TreePair>;
  for (const index of indexNames) {
    const { current, history } = trees[index];
    out[index] = { current: { address: current.address, height: current.height, count: current.count }, history: { address: history.address, height: history.height, count: history.count } };
  }
  return out;
}

export function encodeRoot(root: IndexRoot): Uint8Array {
  const retired = root.retired.map((entry) => ({ ...entry, trees: withoutLast(entry.trees), tiers: entry.tiers.map(withoutLast) }));
  const json = JSON.stringify({ format: FORMAT, ...root, retired }, (key, value: unknown) => (key === 'last' && value !== undefined ? encodeLast(value) : value));
  return new TextEncoder().encode(json);
}

class RootReader {
  constructor(private readonly key: string) {}

  corrupt(problem: string): never {
    throw new FactumError('storage/corrupt', `root record ${this.key} is corrupt: ${problem}`, { key: this.key });
  }

  count(value: unknown, what: string): number {
    if (!Number.isSafeInteger(value) || (value as number) < 0) this.corrupt(`${what} is ${JSON.stringify(value)}, expected a non-negative integer`);
    return value as number;
  }

  object(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.corrupt(`${what} is not an object`);
    return value as Record<string, unknown>;
  }

  tree(value: unknown, what: string): DurableTree {
    const tree = this.object(value, what);
    const address = tree.address;
    if (address !== null && (typeof address !== 'string' || !/^[0-9a-f]{64}$/.test(address))) this.corrupt(`${what}.address is not a segment address`);
    const height = this.count(tree.height, `${what}.height`);
    const count = this.count(tree.count, `${what}.count`);
    if ((address === null) !== (count === 0) || height > 64) this.corrupt(`${what} has address ${String(address)}, height ${height} and ${count} keys`);
    if (tree.last === undefined || address === null) return { address, height, count };
    return { address, height, count, last: this.last(tree.last, `${what}.last`) };
  }

  /** A tree's upper bound: one datom (encodeLast). */
  last(value: unknown, what: string): Datom {
    if (typeof value !== 'string' || value.length > 4 * LAST_BYTES_MAX) this.corrupt(`${what} is not a base64 string of at most ${LAST_BYTES_MAX} bytes`);
    let datoms: Datom[] = [];
    try {
      const reader = new Reader(Buffer.from(value, 'base64'));
      datoms = readDatomColumns(reader, this.key);
      if (reader.remaining !== 0) datoms = [];
    } catch {
      datoms = [];
    }
    if (datoms.length !== 1) this.corrupt(`${what} is not one encoded datom`);
    return datoms[0]!;
  }

  trees(value: unknown, what: string): IndexTrees {
    const trees = this.object(value, what);
    const out = {} as Record<IndexName, TreePair>;
    for (const index of indexNames) {
      const pair = this.object(trees[index], `${what}.${index}`);
      out[index] = { current: this.tree(pair.current, `${what}.${index}.current`), history: this.tree(pair.history, `${what}.${index}.history`) };
    }
    return out;
  }

  tiers(value: unknown, what: string): IndexTrees[] {
    if (value === undefined) return []; // format 1
    if (!Array.isArray(value) || value.length > 256) this.corrupt(`${what} is not an array of at most 256 tiers`);
    return value.map((tier, j) => this.trees(tier, `${what}[${j}]`));
  }

  retired(value: unknown): RetiredRoot[] {
    if (!Array.isArray(value)) this.corrupt('retired is not an array');
    return value.map((entry, i) => {
      const retired = this.object(entry, `retired[${i}]`);
      return {
        t: this.count(retired.t, `retired[${i}].t`),
        trees: this.trees(retired.trees, `retired[${i}].trees`),
        tiers: this.tiers(retired.tiers, `retired[${i}].tiers`),
        retiredAtMs: this.count(retired.retiredAtMs, `retired[${i}].retiredAtMs`),
      };
    });
  }
}

export function decodeRoot(key: string, bytes: Uint8Array): IndexRoot {
  const reader = new RootReader(key);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return reader.corrupt('it is not JSON text');
  }
  const root = reader.object(parsed, 'the record');
  if (root.format !== FORMAT && root.format !== 1) reader.corrupt(`format ${JSON.stringify(root.format)}, expected ${FORMAT}`);
  return {
    t: reader.count(root.t, 't'),
    logPosition: reader.count(root.logPosition, 'logPosition'),
    nextUserN: reader.count(root.nextUserN, 'nextUserN'),
    nextDbN: reader.count(root.nextDbN, 'nextDbN'),
    lastTxInstantMs: reader.count(root.lastTxInstantMs, 'lastTxInstantMs'),
    trees: reader.trees(root.trees, 'trees'),
    tiers: reader.tiers(root.tiers, 'tiers'),
    writtenAtMs: reader.count(root.writtenAtMs, 'writtenAtMs'),
    retired: reader.retired(root.retired),
    retiredDroppedMs: root.retiredDroppedMs === undefined ? 0 : reader.count(root.retiredDroppedMs, 'retiredDroppedMs'),
  };
}
