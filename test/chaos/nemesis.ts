//! The nemesis of a chaos run: faults on the real node processes of a miniature system and on
//! the storage they share, one at a time, chosen from a seed.
//!
//!   |-- wait --|-- fault --|-- wait --|-- fault --| ... until durationMs, then everything healed
//!
//! Node faults: `kill` (SIGKILL, then a restart after a while: the node comes back from storage,
//! on a new port, as a replaced instance does) or `pause` (SIGSTOP, then SIGCONT after up to
//! three leases: a paused transactor loses its lease and must write nothing when it wakes). Half
//! of them go to the node leading the workload's database, when the nodes' logs name one, since
//! that is where a fault tests failover; the rest to any node.
//! Storage faults (when storage proxies are given, a share of the faults): one endpoint turns
//! `slow-storage` (every request held) or `failing-storage` (requests refused, or their answers
//! cut after they took effect) for up to a few leases.
//! One fault at a time keeps a primary alive to take over and storage to restart from, so the run
//! measures safety under failover, not an outage.
import { seededRandom } from '../../nodes/util/random.ts';
import type { Miniature, MiniatureNode } from '../miniature/miniature.ts';
import type { StorageProxy } from './storage-proxy.ts';

export type FaultKind = 'kill' | 'pause' | 'slow-storage' | 'failing-storage';

export interface NemesisOptions {
  readonly seed: number;
  /** Faults start only within this many milliseconds from the start. */
  readonly durationMs: number;
  /** The nodes' lease (pauses and storage faults last up to three). */
  readonly leaseMs: number;
  /** Mean wait between faults. @default 3000 */
  readonly intervalMs?: number;
  /** Longest a killed node stays down. @default 2000 */
  readonly downMsMax?: number;
  /** The database whose transactor gets half the node faults. @default - every node fault to a random node */
  readonly database?: string;
  /** Storage endpoints the nodes reach through these proxies. @default - no storage faults */
  readonly storage?: readonly StorageProxy[];
  /** The share of faults made on storage, when there are proxies. @default 0.3 */
  readonly storageShare?: number;
}

export interface Fault {
  readonly kind: FaultKind;
  /** The node's name, or the storage endpoint's protocol (`dynamodb`, `s3`). */
  readonly target: string;
  /** Milliseconds from the nemesis's start. */
  readonly at: number;
  readonly ms: number;
  /** Whether the node led the database at the time (false for storage faults). */
  readonly leader: boolean;
}

export interface Nemesis {
  /** Waits for the last fault to heal (every node running and resumed, storage healthy); answers the faults made. */
  stopped(): Promise<readonly Fault[]>;
}

export function startNemesis(mini: Miniature, options: NemesisOptions): Nemesis {
  const { seed, durationMs, leaseMs, intervalMs = 3000, downMsMax = 2000, database, storage = [], storageShare = 0.3 } = options;
  const random = seededRandom(seed);
  const start = Date.now();
  const faults: Fault[] = [];
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const nodeFault = async (node: MiniatureNode, leader: boolean): Promise<void> => {
    const at = Date.now() - start;
    if (random() < 0.5) {
      const ms = Math.round(200 + random() * downMsMax);
      await mini.kill(node);
      await sleep(ms);
      await mini.start(node);
      faults.push({ kind: 'kill', target: node.name, at, ms, leader });
    } else {
      const ms = Math.round(200 + random() * 3 * leaseMs);
      mini.pause(node);
      await sleep(ms);
      mini.resume(node);
      faults.push({ kind: 'pause', target: node.name, at, ms, leader });
    }
  };

  const storageFault = async (proxy: StorageProxy): Promise<void> => {
    const at = Date.now() - start;
    const ms = Math.round(200 + random() * 3 * leaseMs);
    const slow = random() < 0.5;
    proxy.mode = slow ? { kind: 'slow', delayMs: Math.round(50 + random() * 750) } : { kind: 'failing', rate: 0.2 + random() * 0.6 };
    await sleep(ms);
    proxy.mode = { kind: 'healthy' };
    faults.push({ kind: slow ? 'slow-storage' : 'failing-storage', target: proxy.protocol, at, ms, leader: false });
  };

  const run = async (): Promise<void> => {
    for (;;) {
      await sleep(Math.round(intervalMs * (0.5 + random())));
      if (Date.now() - start >= durationMs) return;
      if (storage.length > 0 && random() < storageShare) {
        await storageFault(storage[Math.floor(random() * storage.length)]!);
        continue;
      }
      const leader = database === undefined ? null : await mini.leaderOf(database);
      const node = leader !== null && random() < 0.5 ? leader : mini.nodes[Math.floor(random() * mini.nodes.length)]!;
      await nodeFault(node, node === leader);
    }
  };
  const running = run();
  running.catch(() => undefined); // surfaced by stopped()
  return {
    async stopped() {
      try {
        await running;
      } finally {
        // Whatever happened, leave nothing stopped, down or failing for the checks after the run.
        for (const proxy of storage) proxy.mode = { kind: 'healthy' };
        for (const node of mini.nodes) {
          mini.resume(node);
          if (node.child === null) await mini.start(node);
        }
      }
      return faults;
    },
  };
}
