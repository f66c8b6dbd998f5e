//! The memory level of the segment cache stack: decoded tree nodes in an LRU bounded in bytes.
//!
//! It is the tree's `NodeStore`: `load` answers from memory or reads the segment from the level
//! below, checks and decodes it (once: concurrent loads of one address share one read, through
//! lru-cache's `fetch`), and keeps the decoded node; `store` encodes a node, writes it through to
//! storage and keeps it. Decoded nodes are cached rather than bytes so that a warm read costs a
//! map lookup, not a decompression; their size is estimated by the codec.
//!
//! A segment that storage does not have is `storage/segment-not-found` (a root never names a
//! missing segment, so this is a fault, not a miss); a corrupt one is `storage/corrupt`. Neither
//! is cached, so a repaired storage is read again.
import { LRUCache } from 'lru-cache';
import type { NodeStore, TreeNode } from '../btree/durable-tree.ts';
import type { NodeCodec } from '../segment/node-codec.ts';
import { FactumError, fail } from '../util/errors.ts';
import { recorderFor, type IoContext, type IoRecorder } from './io-stats.ts';
import type { SegmentStore } from './segment-store.ts';

export interface NodeCacheOptions {
  /** The bytes of decoded nodes kept in memory. @default - 256 MiB */
  readonly cacheBytesMax?: number;
  /** Segment writes in flight at most. @default - 32 */
  readonly writesMax?: number;
}

export const DEFAULT_CACHE_BYTES_MAX = 256 * 1024 * 1024;


export class NodeCache<K> implements NodeStore<K> {
  readonly level = 'memory';
  private readonly lru: LRUCache<string, TreeNode<K>, IoRecorder>;
  private readonly writes = new Set<Promise<void>>();
  private writeError: unknown = null;
  /** The bound on the bytes of decoded nodes held. */
  readonly bytesMax: number;
  private readonly writesMax: number;

  constructor(
    private readonly codec: NodeCodec<K>,
    private readonly inner: SegmentStore,
    options: NodeCacheOptions = {},
  ) {
    const cacheBytesMax = options.cacheBytesMax ?? DEFAULT_CACHE_BYTES_MAX;
    if (!Number.isSafeInteger(cacheBytesMax) || cacheBytesMax < 1) {
      fail('cache/invalid-option', `cacheBytesMax must be a positive integer, got ${String(cacheBytesMax)}`, { cacheBytesMax });
    }
    this.bytesMax = cacheBytesMax;
    this.writesMax = options.writesMax ?? 32;
    this.lru = new LRUCache<string, TreeNode<K>, IoRecorder>({
      maxSize: cacheBytesMax,
      sizeCalculation: (node) => Math.max(1, Math.min(codec.sizeOf(node), cacheBytesMax)),
      fetchMethod: (address, _stale, { context }) => this.read(address, context),
    });
  }

  /** Bytes of decoded nodes held now. */
  get bytesHeld(): number {
    return this.lru.calculatedSize;
  }

  load(address: string, context?: IoContext): Promise<TreeNode<K>> {
    const recorder = recorderFor(context);
    const cached = this.lru.get(address);
    if (cached !== undefined) {
      recorder.hit(this.level, 0, 0);
      return Promise.resolve(cached);
    }
    recorder.miss(this.level, 0);
    return this.lru.fetch(address, { context: recorder }) as Promise<TreeNode<K>>;
  }

  /** True if the node is in memory (records nothing, changes no recency). */
  has(address: string): boolean {
    return this.lru.has(address);
  }

  /** The node if it is in memory (for synchronous readers: `rangeKeysSync`); never reads storage. */
  peek(address: string, context?: IoContext): TreeNode<K> | undefined {
    const node = this.lru.get(address);
    if (node !== undefined) recorderFor(context).hit(this.level, 0, 0);
    return node;
  }

  private async read(address: string, recorder: IoRecorder): Promise<TreeNode<K>> {
    const bytes = await this.inner.get(address, recorder);
    if (bytes === null) {
      throw new FactumError('storage/segment-not-found', `segment ${address} is missing from storage; a root names it, so storage has lost data`, { key: address });
    }
    return this.codec.decode(address, bytes);
  }

  /**
   * Encodes and checks a node and starts writing it; resolves with its address once the write is
   * under way (at most `writesMax` at a time), not once it is durable: the caller makes every
   * segment of an index durable at once with `flushWrites` before any root names them. Parallel
   * writes are what make indexing fast on S3 (latency-bound) and on local disks (one fsync each).
   */
  async store(node: TreeNode<K>): Promise<string> {
    // The codec checks the segment before writing (STYLE: data is checked before it is written
    // and after it is read): its body decodes to this node.
    const { address, bytes } = this.codec.encode(node);
    while (this.writes.size >= this.writesMax) await Promise.race(this.writes);
    const write: Promise<void> = this.inner.put(address, bytes).then(
      () => {
        this.writes.delete(write);
      },
      (error: unknown) => {
        this.writes.delete(write);
        this.writeError ??= error;
      },
    );
    this.writes.add(write);
    this.lru.set(address, node);
    return address;
  }

  /** Waits for every write `store` started; throws the first that failed (then forgets it). */
  async flushWrites(): Promise<void> {
    while (this.writes.size > 0) await Promise.all(this.writes);
    const error = this.writeError;
    this.writeError = null;
    if (error !== null) throw error;
  }

  /** The same cache, recording reads in `context` too: hand it to the tree for one query. */
  withContext(context: IoContext): NodeStore<K> {
    return {
      load: (address) => this.load(address, context),
      store: (node) => this.store(node),
    };
  }

  /** Forgets every node (for cold-read measurements). */
  clear(): void {
    this.lru.clear();
  }
}
