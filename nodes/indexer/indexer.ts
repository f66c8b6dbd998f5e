//! The indexer of one database: merges novelty into new durable trees, moves the root forward by
//! compare-and-swap, opens the indexes from the root, and collects garbage segments.
//!
//!   index(novelty):  the next root, built (build.ts) in this thread or in the index worker,
//!                    its segments durable ──▶ casRecord(root/<db>, version, new root)
//!                                                                   ◀── the only commit point
//!
//! A crash anywhere before the compare-and-swap leaves the previous root as it was, naming only
//! segments that exist (segments are never modified or deleted while a root within the retention
//! window names them); what the crashed run wrote is garbage for `gcStorage`. `index` and
//! `gcStorage` of one Indexer run one at a time; run both on the node that indexes the database
//! (the transactor's), so that collection never races an index being written. A node that only
//! reads the database (a follower) calls `refresh` to pick up each root the indexing node writes.
import type { Datom, IndexName } from '../datom/datom.ts';
import type { Storage } from '../storage/protocol.ts';
import { collectAddresses, rangeKeys, rangeKeysSync, type DurableTree, type NodeStore, type TreeConfig } from '../btree/durable-tree.ts';
import { emptyTrees, mergeAsync, mergeSync, TIER0_MAX, type Levels } from './levels.ts';
import { datomNodeCodec, DATOM_BRANCH_MAX, DATOM_LEAF_MAX } from '../segment/datom-codec.ts';
import type { Compression } from '../segment/envelope.ts';
import { NodeCache } from '../cache/node-cache.ts';
import { DirectoryCache } from '../cache/directory-cache.ts';
import { StorageSegments, type SegmentStore } from '../cache/segment-store.ts';
import type { IoContext } from '../cache/io-stats.ts';
import { fail, type FactumError } from '../util/errors.ts';
import { datomProbe, indexNames } from './datom-order.ts';
import { datomTreeConfig, RootBuilder, type BuildSettings, type Built, type IndexInput, type TreeKind } from './build.ts';
import { WorkerBuilder } from './worker-builder.ts';
import { decodeRoot, encodeRoot, rootKey, segmentPrefix, type IndexRoot, type IndexTrees } from './root.ts';

export type { IndexInput, TreeKind } from './build.ts';

export interface IndexerOptions {
  /** A directory for the directory level of the cache stack (a node's local SSD). @default - no directory level */
  readonly cacheDirectory?: string;
  /**
   * A directory for the EFS level, below the SSD level and above storage (`/mnt/efs/...` on a
   * node; shared by a system's nodes and kept across restarts). Level name `efs` in ioStats.
   * @default - no EFS level
   */
  readonly efsCacheDirectory?: string;
  /** Bytes of segment files the SSD level keeps at most (least recently used go first). @default - 8 GiB */
  readonly cacheDirectoryBytesMax?: number;
  /** Bytes of segment files the EFS level keeps at most (least recently used go first). @default - 8 GiB */
  readonly efsCacheDirectoryBytesMax?: number;
  /** Bytes of decoded segments kept in memory. @default - 256 MiB */
  readonly cacheBytesMax?: number;
  /** Datoms per leaf at most. @default - 2048 (see nodes/segment/datom-codec.ts) */
  readonly leafMax?: number;
  /** Children per branch at most. @default - 1024 */
  readonly branchMax?: number;
  /** The capacity of tier 0 in datoms (levels.ts); small values exercise compaction in tests. @default - 32768 */
  readonly tier0Max?: number;
  readonly compression?: Compression;
  /**
   * Build each index run in a worker thread (index-worker.ts), so that indexing uses another core
   * while transactions and queries run on this one. Its segment reads and writes still go through
   * this indexer's cache levels below memory. @default - false (in this thread)
   */
  readonly worker?: boolean;
  /**
   * The size the root record is kept under, in bytes: past it, the oldest retired roots are
   * dropped from it (`gcStorage` then refuses a window reaching back to them). DynamoDB takes
   * records up to 400 KB. @default - 200 KiB
   */
  readonly rootBytesMax?: number;
  /** The clock, in ms (tests). @default - Date.now */
  readonly now?: () => number;
  /**
   * Asked before the root moves and before each batch of segments gc deletes (the transactor's
   * lease, in a group of nodes): an error stops the run or the collection, which fails with it.
   * @default - none (this process is the only writer)
   */
  readonly writeGuard?: () => FactumError | null;
}

export type IndexOutcome =
  | { readonly kind: 'indexed'; readonly root: IndexRoot; readonly segmentsWritten: number; readonly datoms: number }
  | { readonly kind: 'conflict' };

export interface GcResult {
  readonly deleted: number;
  readonly kept: number;
}

function positiveInteger(value: number | undefined, fallback: number, name: string, min: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) fail('index/invalid-option', `${name} must be an integer of at least ${min}, got ${String(value)}`, { [name]: value });
  return n;
}

export class Indexer {
  private current: IndexRoot | null;
  private version: number | null;
  private queue: Promise<unknown> = Promise.resolve();
  readonly nodes: NodeCache<Datom>;
  readonly segments: StorageSegments;
  private readonly settings: BuildSettings;
  private readonly now: () => number;
  private readonly rootBytesMax: number;
  private readonly writeGuard: (() => FactumError | null) | null;
  private readonly builder: { build(previous: IndexRoot | null, input: IndexInput, nowMs: number): Promise<Built>; close?(): Promise<void> };

  private constructor(
    readonly storage: Storage,
    readonly databaseId: string,
    options: IndexerOptions,
    record: { root: IndexRoot; version: number } | null,
  ) {
    this.settings = {
      leafMax: positiveInteger(options.leafMax, DATOM_LEAF_MAX, 'leafMax', 2),
      branchMax: positiveInteger(options.branchMax, DATOM_BRANCH_MAX, 'branchMax', 2),
      tier0Max: positiveInteger(options.tier0Max, TIER0_MAX, 'tier0Max', 1),
    };
    this.now = options.now ?? Date.now;
    this.writeGuard = options.writeGuard ?? null;
    this.rootBytesMax = positiveInteger(options.rootBytesMax, 200 * 1024, 'rootBytesMax', 4096);
    this.segments = new StorageSegments(storage, segmentPrefix(databaseId));
    // memory → directory (SSD) → efs → storage: each level wraps the one below it.
    let level: SegmentStore = this.segments;
    if (options.efsCacheDirectory !== undefined) level = new DirectoryCache(level, options.efsCacheDirectory, { level: 'efs', bytesMax: options.efsCacheDirectoryBytesMax });
    if (options.cacheDirectory !== undefined) level = new DirectoryCache(level, options.cacheDirectory, { bytesMax: options.cacheDirectoryBytesMax });
    this.nodes = new NodeCache(datomNodeCodec(options.compression), level, { cacheBytesMax: options.cacheBytesMax });
    // The worker's own memory cache: runs stream through segments and look up few.
    const workerCacheBytes = Math.max(1, Math.min(64 * 1024 * 1024, Math.floor(this.nodes.bytesMax / 4)));
    // The worker reads segments itself when they are local files and no cache directory is in between.
    const reads = level === this.segments ? (storage.directSegmentReads?.() ?? null) : null;
    const directReads = reads === null ? undefined : { reads, prefix: this.segments.prefix };
    this.builder =
      options.worker === true
        ? new WorkerBuilder(level, { ...this.settings, compression: options.compression, cacheBytesMax: workerCacheBytes, directReads })
        : new RootBuilder(this.nodes, this.settings);
    this.current = record?.root ?? null;
    this.version = record?.version ?? null;
  }

  /** Reads the root (if any) and loads the root segment of each tree, which checks they exist. */
  static async open(storage: Storage, databaseId: string, options: IndexerOptions = {}): Promise<Indexer> {
    const key = rootKey(databaseId);
    const record = await storage.getRecord(key);
    const indexer = new Indexer(storage, databaseId, options, record === null ? null : { root: decodeRoot(key, record.bytes), version: record.version });
    await indexer.loadRoots();
    return indexer;
  }

  /** The current root; null before the first index. */
  get root(): IndexRoot | null {
    return this.current;
  }

  /** The main trees of the current root. */
  get trees(): IndexTrees {
    return this.current?.trees ?? emptyTrees;
  }

  /** Every level of the current root: the main trees, then the tiers (levels.ts). */
  get levels(): Levels {
    return this.current === null ? [emptyTrees] : [this.current.trees, ...this.current.tiers];
  }

  config(index: IndexName, kind: TreeKind, store: NodeStore<Datom> = this.nodes): TreeConfig<Datom> {
    return datomTreeConfig(index, kind, store, this.settings);
  }

  /** Loads the root segment of every tree of the current root (opening does; they stay small). */
  async loadRoots(): Promise<void> {
    await Promise.all(this.levels.flatMap(treeAddresses).map((address) => this.nodes.load(address)));
  }

  /**
   * Datoms of one durable tree (all its levels) whose leading components equal `components`
   * (resolved ids, values as stored, t as t), in index order, loading segments as the iteration
   * reaches them.
   */
  datoms(index: IndexName, kind: TreeKind, components: readonly unknown[], context?: IoContext, levels: Levels = this.levels): AsyncGenerator<Datom> {
    const store = context === undefined ? this.nodes : this.nodes.withContext(context);
    const lower = components.length === 0 ? undefined : datomProbe(index, components, false);
    const upper = components.length === 0 ? undefined : datomProbe(index, components, true);
    const config = this.config(index, kind, store);
    return mergeAsync(levels.map((trees) => rangeKeys(config, trees[index][kind], lower, upper)), config.compare);
  }

  /**
   * `datoms` for synchronous readers (the query engine): the same datoms, from segments already
   * in memory; the first segment that is not throws `SegmentNotResident` (see `readDb` in nodes/db/durable-base.ts).
   */
  datomsSync(index: IndexName, kind: TreeKind, components: readonly unknown[], context?: IoContext, levels: Levels = this.levels): Generator<Datom> {
    const lower = components.length === 0 ? undefined : datomProbe(index, components, false);
    const upper = components.length === 0 ? undefined : datomProbe(index, components, true);
    const config = this.config(index, kind);
    return mergeSync(levels.map((trees) => rangeKeysSync(config, trees[index][kind], (address) => this.nodes.peek(address, context), lower, upper)), config.compare);
  }

  /**
   * Re-reads the root record, for a node that reads this database without indexing it (a
   * follower): a newer version is held from then on, the root segments of its trees loaded (which
   * checks they exist). Resolves with the root held. Never on the indexer that indexes the
   * database: its version is the expectation of its next compare-and-swap.
   */
  refresh(): Promise<IndexRoot | null> {
    return this.serially(async () => {
      const key = rootKey(this.databaseId);
      const record = await this.storage.getRecord(key);
      if (record === null || (this.version !== null && record.version <= this.version)) return this.current;
      const root = decodeRoot(key, record.bytes);
      await Promise.all([root.trees, ...root.tiers].flatMap(treeAddresses).map((address) => this.nodes.load(address)));
      this.current = root;
      this.version = record.version;
      return root;
    });
  }

  /** Runs `job` after every earlier index or gc of this indexer. */
  private serially<T>(job: () => Promise<T>): Promise<T> {
    const result = this.queue.then(job, job);
    this.queue = result.catch(() => undefined);
    return result;
  }

  index(input: IndexInput): Promise<IndexOutcome> {
    return this.serially(() => this.indexNow(input));
  }

  private async indexNow(input: IndexInput): Promise<IndexOutcome> {
    const previous = this.current;
    const baseT = previous?.t ?? -1;
    let t = baseT;
    for (const transaction of input.transactions) {
      if (transaction.t <= t || transaction.t > input.t) {
        fail('index/invalid-option', `novelty must hold transactions after t ${baseT} up to t ${input.t} in order; got t ${transaction.t} after ${t}`, { t: transaction.t });
      }
      t = transaction.t;
    }
    const built = await this.builder.build(previous, input, this.now());
    const bytes = this.boundedRecord(built.root);
    // The root as it reads back from storage (encodeRoot leaves out some bounds), so that this
    // process and one that opens the database later see the same root.
    const root = decodeRoot(rootKey(this.databaseId), bytes);
    this.checkGuard();
    if (!(await this.swapRoot(root, bytes))) return { kind: 'conflict' };
    return { kind: 'indexed', root, segmentsWritten: built.segmentsWritten, datoms: built.datoms };
  }

  /**
   * The record of `root`, its oldest retired roots dropped until it is under `rootBytesMax` (each
   * index run retires a root; only `gcStorage` forgets them otherwise, and a record that grew
   * without bound would one day be refused by storage, stopping indexing).
   */
  private boundedRecord(root: IndexRoot): Uint8Array {
    for (let bytes = encodeRoot(root); ; bytes = encodeRoot(root)) {
      if (bytes.length <= this.rootBytesMax || root.retired.length === 0) return bytes;
      const keep = Math.floor(root.retired.length * 0.75); // a quarter at a time: few encodings (retired is newest first)
      const droppedMs = root.retired.slice(keep).reduce((latest, dropped) => Math.max(latest, dropped.retiredAtMs), root.retiredDroppedMs);
      root = { ...root, retired: root.retired.slice(0, keep), retiredDroppedMs: droppedMs };
    }
  }

  /**
   * Fences every other writer of the root: writes the root record again, unchanged, so that its
   * version moves on and a compare-and-swap another process prepared from the version before (a
   * transactor that lost its lease, with an index run or gc under way) fails instead of landing.
   * The transactor of a group of nodes calls it once it takes over, before anything else. False
   * when the record moved since this indexer read it (reopen, then fence again); true when there
   * is no root yet (a first root's compare-and-swap from none fails if another landed one first).
   */
  fence(): Promise<boolean> {
    return this.serially(async () => {
      const root = this.current;
      if (root === null) return true;
      return this.swapRoot(root, encodeRoot(root));
    });
  }

  private checkGuard(): void {
    const refusal = this.writeGuard?.() ?? null;
    if (refusal !== null) throw refusal;
  }

  /** Stops the index worker, if there is one (indexing in this thread needs no closing). */
  async close(): Promise<void> {
    await this.builder.close?.();
  }

  /**
   * Moves the root by compare-and-swap. A write reported as failed may have happened (a timeout
   * after the write): the record is read back, and our bytes there mean it did.
   */
  private async swapRoot(root: IndexRoot, bytes: Uint8Array = encodeRoot(root)): Promise<boolean> {
    const key = rootKey(this.databaseId);
    let swapped: boolean;
    try {
      swapped = await this.storage.casRecord(key, this.version, bytes);
    } catch (error) {
      const stored = await this.storage.getRecord(key).catch(() => null);
      if (stored === null || stored.version !== (this.version ?? 0) + 1 || Buffer.compare(Buffer.from(stored.bytes), Buffer.from(bytes)) !== 0) throw error;
      swapped = true;
    }
    if (!swapped) return false;
    this.current = root;
    this.version = (this.version ?? 0) + 1;
    return true;
  }

  /**
   * Deletes the segments of this database that neither the current root nor any root retired
   * at or after `olderThan` can reach, then forgets the retired roots older than that. A db value
   * made from a root retired before `olderThan` must not be read after this runs.
   */
  gcStorage(olderThan: Date): Promise<GcResult> {
    return this.serially(() => this.gcNow(olderThan));
  }

  private async gcNow(olderThan: Date): Promise<GcResult> {
    const cutoffMs = olderThan.getTime();
    if (Number.isNaN(cutoffMs)) fail('index/invalid-option', 'gcStorage expects a valid Date for olderThan', { olderThan: String(olderThan) });
    const droppedMs = this.current?.retiredDroppedMs ?? 0;
    if (droppedMs > 0 && cutoffMs <= droppedMs) {
      const after = new Date(droppedMs).toISOString();
      fail('index/invalid-option', `gcStorage cannot keep the segments of roots retired before ${after}: the root record keeps a bounded list of retired roots and older ones were dropped from it. Pass an olderThan after ${after}, or collect garbage more often. Nothing was deleted.`, {
        olderThan: olderThan.toISOString(),
        retiredDroppedMs: droppedMs,
      });
    }
    this.checkGuard();
    // Only the indexer that wrote the stored root knows what it reaches: one that is behind
    // (another process indexed since) would delete the newer root's segments.
    const stored = await this.storage.getRecord(rootKey(this.databaseId));
    if ((stored?.version ?? null) !== this.version) {
      fail('storage/conflict', `Another process has indexed database ${this.databaseId} since this one last did; collect garbage from the process that indexes it (its transactor), or reconnect first. Nothing was deleted.`, {
        database: this.databaseId,
        expectedVersion: this.version,
        storedVersion: stored?.version ?? null,
      });
    }
    const root = this.current;
    const kept = root === null ? [] : root.retired.filter((retired) => retired.retiredAtMs >= cutoffMs);
    const live = new Set<string>();
    for (const trees of root === null ? [] : [root.trees, ...root.tiers, ...kept.flatMap((retired) => [retired.trees, ...retired.tiers])]) {
      for (const index of indexNames) {
        for (const kind of ['current', 'history'] as const) await collectAddresses(this.config(index, kind), trees[index][kind], live);
      }
    }
    const prefix = this.segments.prefix;
    const garbage: string[] = [];
    let total = 0;
    for await (const key of this.storage.listSegments(prefix)) {
      total++;
      if (!live.has(key.slice(prefix.length))) garbage.push(key);
    }
    for (let i = 0; i < garbage.length; i += 500) {
      // Still the writer of this root: not fenced since (a transactor that took over moves the
      // record's version before it writes any segment), and still holding the lease.
      this.checkGuard();
      const now = await this.storage.getRecord(rootKey(this.databaseId));
      if ((now?.version ?? null) !== this.version) {
        fail('storage/conflict', `Another process took over indexing database ${this.databaseId} while this one collected garbage; it stopped after deleting ${i} segments (none that a root reaches). Collect garbage from the database's transactor.`, { database: this.databaseId, deleted: i });
      }
      await this.storage.deleteSegments(garbage.slice(i, i + 500));
    }
    if (root !== null && kept.length < root.retired.length) await this.swapRoot({ ...root, retired: kept });
    return { deleted: garbage.length, kept: total - garbage.length };
  }
}

/** The root segment addresses of the trees that are not empty. */
export function treeAddresses(trees: IndexTrees): string[] {
  const out: string[] = [];
  for (const index of indexNames) for (const kind of ['current', 'history'] as const) {
    const tree: DurableTree = trees[index][kind];
    if (tree.address !== null) out.push(tree.address);
  }
  return out;
}
