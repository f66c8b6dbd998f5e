//! The nemesis of a chaos run: faults on the real node processes of a miniature system, one at a
//! time, chosen from a seed.
//!
//!   |-- wait --|-- fault --|-- wait --|-- fault --| ... until durationMs, then everything healed
//!
//! A fault is `kill` (SIGKILL, then a restart after a while: the node comes back from storage, on
//! a new port, as a replaced instance does) or `pause` (SIGSTOP, then SIGCONT after up to three
//! leases: a paused transactor loses its lease and must write nothing when it wakes). Half the
//! faults go to the node leading the workload's database, when the nodes' logs name one, since
//! that is where a fault tests failover; the rest to any node. One fault at a time keeps a
//! primary alive to take over, so the run measures safety under failover, not an outage.
import { seededRandom } from '../../nodes/util/random.ts';
import type { Miniature, MiniatureNode } from '../miniature/miniature.ts';

export type FaultKind = 'kill' | 'pause';

export interface NemesisOptions {
  readonly seed: number;
  /** Faults start only within this many milliseconds from the start. */
  readonly durationMs: number;
  /** The nodes' lease (pauses last up to three). */
  readonly leaseMs: number;
  /** Mean wait between faults. @default 3000 */
  readonly intervalMs?: number;
  /** Longest a killed node stays down. @default 2000 */
  readonly downMsMax?: number;
  /** The database whose transactor gets half the faults. @default - every fault to a random node */
  readonly database?: string;
}

export interface Fault {
  readonly kind: FaultKind;
  readonly node: string;
  /** Milliseconds from the nemesis's start. */
  readonly at: number;
  readonly ms: number;
  /** Whether the node led the database at the time. */
  readonly leader: boolean;
}

export interface Nemesis {
  /** Waits for the last fault to heal (every node running and resumed); answers the faults made. */
  stopped(): Promise<readonly Fault[]>;
}

export function startNemesis(mini: Miniature, options: NemesisOptions): Nemesis {
  const { seed, durationMs, leaseMs, intervalMs = 3000, downMsMax = 2000, database } = options;
  const random = seededRandom(seed);
  const start = Date.now();
  const faults: Fault[] = [];
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  const fault = async (node: MiniatureNode, leader: boolean): Promise<void> => {
    const at = Date.now() - start;
    if (random() < 0.5) {
      const ms = Math.round(200 + random() * downMsMax);
      await mini.kill(node);
      await sleep(ms);
      await mini.start(node);
      faults.push({ kind: 'kill', node: node.name, at, ms, leader });
    } else {
      const ms = Math.round(200 + random() * 3 * leaseMs);
      mini.pause(node);
      await sleep(ms);
      mini.resume(node);
      faults.push({ kind: 'pause', node: node.name, at, ms, leader });
    }
  };

  const run = async (): Promise<void> => {
    for (;;) {
      await sleep(Math.round(intervalMs * (0.5 + random())));
      if (Date.now() - start >= durationMs) return;
      const leader = database === undefined ? null : await mini.leaderOf(database);
      const node = leader !== null && random() < 0.5 ? leader : mini.nodes[Math.floor(random() * mini.nodes.length)]!;
      await fault(node, node === leader);
    }
  };
  const running = run();
  running.catch(() => undefined); // surfaced by stopped()
  return {
    async stopped() {
      try {
        await running;
      } finally {
        // Whatever happened, leave no node stopped or down for the checks after the run.
        for (const node of mini.nodes) {
          mini.resume(node);
          if (node.child === null) await mini.start(node);
        }
      }
      return faults;
    },
  };
}
