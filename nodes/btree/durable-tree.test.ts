// The durable tree against a reference model (a sorted array), with tiny node sizes so that every
// batch splits, joins and collapses nodes; seeded so that a failure replays.
import { describe, expect, it } from 'vitest';
import {
  buildTree,
  collectAddresses,
  emptyTree,
  mergeDisjoint,
  mergeTree,
  rangeKeys,
  rankOf,
  rankSync,
  rangeKeysSync,
  SegmentNotResident,
  type DurableTree,
  type NodeStore,
  type TreeConfig,
  type TreeNode,
} from './durable-tree.ts';
import { seededRandom } from '../storage/fault.ts';
import { isFactumError } from '../util/errors.ts';

/** Nodes kept in a map; addresses are a counter, so every write is visible in `nodes.size`. */
class MemoryNodes implements NodeStore<number> {
  readonly nodes = new Map<string, TreeNode<number>>();
  loads = 0;
  async load(address: string): Promise<TreeNode<number>> {
    this.loads++;
    const node = this.nodes.get(address);
    if (node === undefined) throw new Error(`no node ${address}`);
    return node;
  }
  async store(node: TreeNode<number>): Promise<string> {
    const address = `n${this.nodes.size}`;
    this.nodes.set(address, Object.freeze(node));
    return address;
  }
}

const compare = (a: number, b: number): number => a - b;

function configOf(leafMax: number, branchMax: number): TreeConfig<number> & { store: MemoryNodes } {
  return { compare, store: new MemoryNodes(), leafMax, branchMax };
}

async function all(config: TreeConfig<number>, tree: DurableTree, lower?: number, upper?: number): Promise<number[]> {
  const out: number[] = [];
  const lowerProbe = lower === undefined ? undefined : (key: number) => (lower <= key ? -1 : 1);
  const upperProbe = upper === undefined ? undefined : (key: number) => (upper < key ? -1 : 1);
  for await (const key of rangeKeys(config, tree, lowerProbe, upperProbe)) out.push(key);
  return out;
}

/** Walks the whole tree checking heights, sizes and that every leaf is at height 0. */
async function checkShape(config: TreeConfig<number>, tree: DurableTree): Promise<void> {
  if (tree.address === null) return expect(tree.count).toBe(0);
  const visit = async (address: string, height: number, isRoot: boolean): Promise<void> => {
    const node = await config.store.load(address);
    if (node.kind === 'leaf') {
      expect(height).toBe(0);
      expect(node.keys.length).toBeLessThanOrEqual(config.leafMax);
      return;
    }
    expect(node.height).toBe(height);
    expect(node.children.length).toBeLessThanOrEqual(config.branchMax);
    if (isRoot) expect(node.children.length).toBeGreaterThan(1);
    for (const child of node.children) await visit(child.address, height - 1, false);
  };
  await visit(tree.address, tree.height, true);
}

function randomBatch(random: () => number, model: Set<number>, size: number, keySpace: number): { adds: number[]; removes: number[] } {
  const adds = new Set<number>();
  const removes = new Set<number>();
  for (let i = 0; i < size; i++) {
    const key = Math.floor(random() * keySpace);
    if (model.has(key)) {
      if (random() < 0.7) removes.add(key);
    } else adds.add(key);
  }
  return { adds: [...adds].sort(compare), removes: [...removes].sort(compare) };
}

describe('durable tree', () => {
  it('builds from a sorted stream and iterates it back, for every size up to a few levels', async () => {
    for (const n of [0, 1, 2, 3, 4, 5, 8, 9, 27, 28, 100, 257]) {
      const config = configOf(3, 3);
      const keys = Array.from({ length: n }, (_, i) => i * 2);
      const tree = await buildTree(config, keys);
      expect(tree.count).toBe(n);
      expect(await all(config, tree)).toEqual(keys);
      await checkShape(config, tree);
    }
  });

  it('matches a sorted-array model under seeded random batches of adds and removes', async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const random = seededRandom(seed);
      const leafMax = 2 + Math.floor(random() * 4);
      const branchMax = 2 + Math.floor(random() * 3);
      const config = configOf(leafMax, branchMax);
      const model = new Set<number>();
      let tree: DurableTree = emptyTree;
      const versions: Array<{ tree: DurableTree; keys: number[] }> = [];
      for (let round = 0; round < 60; round++) {
        const { adds, removes } = randomBatch(random, model, 1 + Math.floor(random() * 40), 300);
        tree = (await mergeTree(config, tree, adds, removes)).tree;
        for (const key of removes) model.delete(key);
        for (const key of adds) model.add(key);
        const expected = [...model].sort(compare);
        expect(await all(config, tree), `seed ${seed} round ${round}`).toEqual(expected);
        expect(tree.count).toBe(expected.length);
        // `last` is an upper bound of the keys (removals may leave it past the last one).
        if (expected.length > 0) expect(tree.last as number).toBeGreaterThanOrEqual(expected[expected.length - 1]!);
        await checkShape(config, tree);
        const lower = Math.floor(random() * 300);
        const upper = lower + Math.floor(random() * 60);
        expect(await all(config, tree, lower, upper)).toEqual(expected.filter((k) => k >= lower && k <= upper));
        expect(await rankOf(config, tree, (key) => (lower <= key ? -1 : 1))).toBe(expected.filter((k) => k < lower).length);
        versions.push({ tree, keys: expected });
      }
      // Persistence: every earlier tree value still reads exactly as it was.
      for (const version of versions) expect(await all(config, version.tree)).toEqual(version.keys);
    }
  });

  it('replaces a key that is removed and added in one batch', async () => {
    const config: TreeConfig<{ k: number; x: string }> = {
      compare: (a, b) => a.k - b.k,
      store: new MemoryNodes() as unknown as NodeStore<{ k: number; x: string }>,
      leafMax: 3,
      branchMax: 3,
    };
    const keys = Array.from({ length: 20 }, (_, k) => ({ k, x: 'old' }));
    const tree = await buildTree(config, keys);
    const merged = await mergeTree(config, tree, [{ k: 7, x: 'new' }], [{ k: 7, x: 'old' }]);
    const out: string[] = [];
    for await (const key of rangeKeys(config, merged.tree)) out.push(key.x);
    expect(out.filter((x) => x === 'new')).toHaveLength(1);
    expect(merged.tree.count).toBe(20);
  });

  it('rewrites only the path to an edited key (sublinear), sharing every other node', async () => {
    const config = configOf(8, 8);
    const tree = await buildTree(config, Array.from({ length: 8 ** 4 }, (_, i) => i * 2));
    expect(tree.height).toBe(3);
    const before = config.store.nodes.size;
    const { tree: next, written } = await mergeTree(config, tree, [4001], []);
    expect(written).toBe(config.store.nodes.size - before);
    expect(written).toBeLessThanOrEqual(2 * (tree.height + 1) + 1); // every node of a full path splits, plus a new root
    const oldAddresses = new Set<string>();
    const newAddresses = new Set<string>();
    await collectAddresses(config, tree, oldAddresses);
    await collectAddresses(config, next, newAddresses);
    const shared = [...newAddresses].filter((a) => oldAddresses.has(a)).length;
    expect(newAddresses.size - shared).toBe(written);
  });

  it('reads one node per level for a point lookup', async () => {
    const config = configOf(8, 8);
    const tree = await buildTree(config, Array.from({ length: 8 ** 4 }, (_, i) => i));
    config.store.loads = 0;
    expect(await all(config, tree, 1234, 1234)).toEqual([1234]);
    expect(config.store.loads).toBe(tree.height + 1);
  });

  it('skips a tree sought past its last key without reading a segment', async () => {
    const config = configOf(4, 4);
    let tree = await buildTree(config, Array.from({ length: 100 }, (_, i) => i));
    expect(tree.last).toBe(99);
    config.store.loads = 0;
    expect(await all(config, tree, 150, 160)).toEqual([]);
    expect(await rankOf(config, tree, (key) => (150 <= key ? -1 : 1))).toBe(100);
    expect([...rangeKeysSync(config, tree, () => undefined, (key) => (150 <= key ? -1 : 1))]).toEqual([]); // nothing resident, nothing needed
    expect(config.store.loads).toBe(0);
    tree = (await mergeTree(config, tree, [], [98, 99])).tree;
    expect(tree.last).toBe(99); // still a bound
    expect(await all(config, tree, 97, 200)).toEqual([97]);
    tree = (await mergeTree(config, tree, [120], [])).tree;
    expect(tree.last).toBe(120);
    expect(await all(config, tree, 110, 200)).toEqual([120]);
  });

  it('appends in key order fill leaves (full leaves first at the right edge)', async () => {
    const config = configOf(16, 16);
    let tree: DurableTree = emptyTree;
    for (let batch = 0; batch < 64; batch++) {
      tree = (await mergeTree(config, tree, Array.from({ length: 5 }, (_, i) => batch * 5 + i), [])).tree;
    }
    const leaves = new Set<string>();
    await collectAddresses(config, tree, leaves);
    expect(tree.count).toBe(320);
    // 320 keys in leaves of 16: 20 leaves, plus 2 branches; a half-filling split would make ~40.
    expect(leaves.size).toBeLessThanOrEqual(23);
  });

  it('synchronous readers get the same keys from resident nodes, and the address of the first missing one', async () => {
    const config = configOf(4, 4);
    const tree = await buildTree(config, Array.from({ length: 200 }, (_, i) => i));
    const resident = new Map<string, TreeNode<number>>();
    const lower = (key: number): number => (50 <= key ? -1 : 1);
    const upper = (key: number): number => (120 < key ? -1 : 1);
    let runs = 0;
    let keys: number[] = [];
    for (;;) {
      runs++;
      try {
        keys = [...rangeKeysSync(config, tree, (address) => resident.get(address), lower, upper)];
        break;
      } catch (error) {
        if (!(error instanceof SegmentNotResident)) throw error;
        resident.set(error.address, await config.store.load(error.address));
      }
    }
    expect(keys).toEqual(Array.from({ length: 71 }, (_, i) => 50 + i));
    expect(runs).toBe(resident.size + 1); // one rerun per node loaded, no node loaded twice
    expect([...rangeKeysSync(config, tree, (address) => resident.get(address), lower, upper)]).toEqual(keys);
  });

  it('removing every key leaves the empty tree', async () => {
    const config = configOf(3, 3);
    const keys = Array.from({ length: 50 }, (_, i) => i);
    const tree = await buildTree(config, keys);
    const { tree: empty } = await mergeTree(config, tree, [], keys);
    expect(empty).toEqual(emptyTree);
  });

  it('skips a subtree a lookup falls after (its last key) without reading it', async () => {
    const config = configOf(8, 8);
    // 320 keys = 40 full leaves, so the gap falls between leaves (and between level-1 branches).
    const keys = [...Array.from({ length: 320 }, (_, i) => i), ...Array.from({ length: 320 }, (_, i) => 10_000 + i)];
    const tree = await buildTree(config, keys);
    expect(tree.height).toBe(3);
    config.store.loads = 0;
    expect(await all(config, tree, 5_000, 5_000)).toEqual([]); // in the gap between 299 and 10000
    expect(config.store.loads).toBe(2); // the root and the level-2 branch holding the gap; no level-1 branch, no leaf
    const resident = (address: string): TreeNode<number> | undefined => (config.store.nodes.get(address)?.kind === 'branch' ? config.store.nodes.get(address) : undefined);
    const gap = (key: number): number => (5_000 <= key ? -1 : 1);
    expect([...rangeKeysSync(config, tree, resident, gap, (key) => (5_000 < key ? -1 : 1))]).toEqual([]); // no leaf needed
    expect(await rankOf(config, tree, gap)).toBe(320);
    expect(rankSync(config, tree, resident, gap)).toBe(320);
    expect(await all(config, tree, 290, 10_005)).toEqual(keys.filter((k) => k >= 290 && k <= 10_005)); // ranges still cross the gap
    // Removing a subtree's last key keeps its reference true (the branch above is rewritten).
    const edited = (await mergeTree(config, tree, [], [319])).tree;
    expect(await all(config, edited, 318, 10_000)).toEqual([318, 10_000]);
    expect(await all(config, edited, 319, 319)).toEqual([]);
    await checkShape(config, edited);
  });

  it('never lets a leaf span a boundary of splitBetween, through builds, merges and removals', async () => {
    const leafBoundaries = async (config: TreeConfig<number>, tree: DurableTree): Promise<number> => {
      let spanning = 0;
      const visit = async (address: string): Promise<void> => {
        const node = await config.store.load(address);
        if (node.kind === 'branch') for (const child of node.children) await visit(child.address);
        else for (let i = 1; i < node.keys.length; i++) if (config.splitBetween!(node.keys[i - 1]!, node.keys[i]!)) spanning++;
      };
      if (tree.address !== null) await visit(tree.address);
      return spanning;
    };
    for (const seed of [1, 2, 3, 4]) {
      const random = seededRandom(seed);
      const config: TreeConfig<number> & { store: MemoryNodes } = { ...configOf(3 + Math.floor(random() * 6), 3), splitBetween: (x, y) => Math.floor(x / 50) !== Math.floor(y / 50) };
      const parts: number[][] = [[], [], []];
      for (let key = 0; key < 400; key++) if (random() < 0.8) parts[Math.floor(random() * 3)]!.push(key);
      const trees = await Promise.all(parts.map((keys) => buildTree(config, keys)));
      for (const tree of trees) expect(await leafBoundaries(config, tree)).toBe(0);
      let merged = await mergeDisjoint(config, trees);
      expect(await leafBoundaries(config, merged)).toBe(0);
      const union = parts.flat().sort(compare);
      expect(await all(config, merged)).toEqual(union);
      const removed = union.filter(() => random() < 0.5);
      merged = (await mergeTree(config, merged, [], removed)).tree;
      expect(await leafBoundaries(config, merged)).toBe(0);
      expect(await all(config, merged)).toEqual(union.filter((key) => !removed.includes(key)));
      await checkShape(config, merged);
    }
  });

  it('reads trees whose branches record no last keys (written before they were recorded)', async () => {
    const config = configOf(4, 4);
    const tree = await buildTree(config, Array.from({ length: 100 }, (_, i) => i * 2));
    for (const [address, node] of config.store.nodes) {
      if (node.kind === 'branch') config.store.nodes.set(address, { ...node, children: node.children.map(({ address: a, firstKey, count }) => ({ address: a, firstKey, count })) });
    }
    expect(await all(config, tree, 51, 60)).toEqual([52, 54, 56, 58, 60]);
    const edited = (await mergeTree(config, tree, [51], [52])).tree;
    expect(await all(config, edited, 50, 54)).toEqual([50, 51, 54]);
    expect(await rankOf(config, edited, (key) => (51 <= key ? -1 : 1))).toBe(26); // 0, 2, … 50
  });

  it('a node that does not match its parent is storage/corrupt naming its address', async () => {
    const config = configOf(3, 3);
    const tree = await buildTree(config, Array.from({ length: 30 }, (_, i) => i));
    const root = config.store.nodes.get(tree.address!)!;
    if (root.kind !== 'branch') throw new Error('expected a branch');
    const victim = root.children[1]!.address;
    config.store.nodes.set(victim, { kind: 'leaf', keys: [999, 1000] });
    const error = await all(config, tree).catch((e: unknown) => e);
    expect(isFactumError(error, 'storage/corrupt')).toBe(true);
    expect((error as Error).message).toContain(victim);
    // A last key the child does not end with is caught too.
    const other = configOf(3, 3);
    const second = await buildTree(other, Array.from({ length: 30 }, (_, i) => i));
    const top = other.store.nodes.get(second.address!)!;
    if (top.kind !== 'branch') throw new Error('expected a branch');
    other.store.nodes.set(second.address!, { ...top, children: top.children.map((child, i) => (i === 1 ? { ...child, lastKey: (child.lastKey as number) + 0.5 } : child)) });
    const lastError = await all(other, second).catch((e: unknown) => e);
    expect(isFactumError(lastError, 'storage/corrupt')).toBe(true);
    expect((lastError as Error).message).toMatch(/last key/);
  });

  it('refuses keys out of order (a bug, not input)', async () => {
    const config = configOf(3, 3);
    await expect(buildTree(config, [2, 1])).rejects.toThrow(/ascend/);
    const tree = await buildTree(config, [1, 2, 3]);
    await expect(mergeTree(config, tree, [5, 4], [])).rejects.toThrow(/ascend/);
    await expect(mergeTree(config, tree, [], [9])).rejects.toThrow(/not in the tree/);
    await expect(mergeTree(config, tree, [2], [])).rejects.toThrow(/already in the tree/);
  });

  it('mergeDisjoint streams disjoint trees into one, equal to the union built at once', async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seededRandom(seed);
      const config = configOf(2 + Math.floor(random() * 8), 2 + Math.floor(random() * 4));
      const k = 1 + Math.floor(random() * 5);
      const parts: number[][] = Array.from({ length: k }, () => []);
      // Keys in runs of random length, each run to a random tree: interleaved (short runs)
      // through nearly disjoint ranges (long runs), so leaves are taken both whole and merged.
      const runMax = [1, 3, 20, 200][seed % 4]!;
      for (let key = 0; key < 600; ) {
        const part = parts[Math.floor(random() * k)]!;
        for (let n = 1 + Math.floor(random() * runMax); n > 0 && key < 600; n--) if (random() < 0.9) part.push(key++);
        else key++;
      }
      if (seed % 7 === 0) parts[0]!.length = 0; // an empty tree among them
      const trees = await Promise.all(parts.map((keys) => buildTree(config, keys)));
      const merged = await mergeDisjoint(config, trees);
      const union = parts.flat().sort(compare);
      expect(merged.last).toBe(union[union.length - 1]);
      expect(merged.count).toBe(union.length);
      expect(await all(config, merged)).toEqual(union); // loads every node, which checks its shape
      const ranged = await all(config, merged, 100, 300);
      expect(ranged).toEqual(union.filter((key) => key >= 100 && key <= 300));
    }
    const config = configOf(4, 3);
    await expect(mergeDisjoint(config, [await buildTree(config, [1, 2, 3]), await buildTree(config, [3, 4])])).rejects.toThrow(/share a key/);
    await expect(mergeDisjoint(config, [emptyTree, emptyTree])).resolves.toEqual(emptyTree);
  });

  it('mergeDisjoint takes whole leaves by reference where the key ranges do not interleave', async () => {
    const config = configOf(10, 4);
    const low = await buildTree(config, Array.from({ length: 1000 }, (_, i) => i));
    const high = await buildTree(config, Array.from({ length: 1000 }, (_, i) => 1000 + i));
    const written = config.store.nodes.size;
    config.store.loads = 0;
    const merged = await mergeDisjoint(config, [high, low]);
    // 200 leaves, none loaded or written again: only branches (at most a few per 4 children).
    expect(config.store.loads).toBeLessThan(150);
    expect(config.store.nodes.size - written).toBeLessThan(100);
    expect(await all(config, merged)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });
});
