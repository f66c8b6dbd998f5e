//! A serial, in-memory list-append database driven by concurrent clients, seeded: the histories
//! it records are correct by construction (strict serializable and in session order), so the
//! checker must find nothing in them, and anything a fault injected into them breaks.
//!
//! Each step picks a client slot at random: an idle one invokes a transaction of 1–4 micro-ops;
//! a busy one commits its transaction (executed whole, against the one state, at that moment:
//! between its invocation and completion, as real time demands), completes it, fails it
//! (aborted, no effect), or crashes. A crash records `info`; the transaction may have committed
//! already, may commit at any later step (a "zombie", as a request still in flight on a server),
//! or never. The slot goes on with a fresh process number, as Jepsen's clients do.
import { seededRandom } from '../../nodes/util/random.ts';
import { History, type MicroOp, type Op } from './history.ts';
import type { TxnReads } from './list-append.ts';

export interface ReferenceOptions {
  readonly seed: number;
  readonly reads: TxnReads;
  /** @default 4 */
  readonly processes?: number;
  /** Invocations in all. @default 60 */
  readonly transactions?: number;
  /** @default 3 */
  readonly keys?: number;
  /** Chance that a step on a busy slot crashes it. @default 0.08 */
  readonly crashChance?: number;
  /** Chance that a step on an uncommitted transaction fails it. @default 0.08 */
  readonly failChance?: number;
}

interface Slot {
  process: number;
  /** The invocation's micro-ops, and the completed ones once committed. */
  running: { readonly txn: readonly MicroOp[]; done: readonly MicroOp[] | null; t?: number } | null;
}

export function referenceHistory(options: ReferenceOptions): Op[] {
  const { seed, reads, processes = 4, transactions = 60, keys = 3, crashChance = 0.08, failChance = 0.08 } = options;
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const history = new History();
  const state = new Map<string, number[]>();
  const slots: Slot[] = Array.from({ length: processes }, (_, i) => ({ process: i, running: null }));
  let zombies: Array<readonly MicroOp[]> = [];
  let nextProcess = processes;
  let nextValue = 1;
  let invoked = 0;
  let time = 0;
  let t = 0;

  const commit = (txn: readonly MicroOp[]) => {
    const done = execute(state, txn, reads);
    t += 1;
    return done;
  };
  const randomTxn = (): MicroOp[] =>
    Array.from({ length: 1 + pick(4) }, (): MicroOp => {
      const key = `k${pick(keys)}`;
      return random() < 0.5 ? ['r', key, null] : ['append', key, nextValue++];
    });

  while (invoked < transactions || slots.some((s) => s.running !== null)) {
    time += 1;
    if (zombies.length > 0 && random() < 0.1) {
      const index = pick(zombies.length);
      if (random() < 0.7) commit(zombies[index]!);
      zombies = zombies.filter((_, i) => i !== index);
    }
    const slot = slots[pick(slots.length)]!;
    const running = slot.running;
    if (running === null) {
      if (invoked >= transactions) continue;
      invoked += 1;
      const txn = randomTxn();
      history.invoke(slot.process, txn, time);
      slot.running = { txn, done: null };
    } else if (random() < crashChance) {
      history.complete(slot.process, 'info', null, time);
      if (running.done === null && random() < 0.5) zombies.push(running.txn);
      slot.process = nextProcess++;
      slot.running = null;
    } else if (running.done !== null) {
      history.complete(slot.process, 'ok', running.done, time, running.t);
      slot.running = null;
    } else if (random() < failChance) {
      history.complete(slot.process, 'fail', null, time);
      slot.running = null;
    } else {
      running.done = commit(running.txn);
      running.t = t;
    }
  }
  // Zombies left at the end never commit: as requests lost for good.
  return history.ops;
}

/** Runs one transaction against the state: reads see its db-before, or its own earlier appends too. */
function execute(state: Map<string, number[]>, txn: readonly MicroOp[], reads: TxnReads): MicroOp[] {
  const before = new Map([...state].map(([key, values]) => [key, [...values]]));
  return txn.map((m): MicroOp => {
    if (m[0] === 'append') {
      state.set(m[1], [...(state.get(m[1]) ?? []), m[2]]);
      return m;
    }
    const seen = reads === 'db-before' ? before.get(m[1]) : state.get(m[1]);
    return ['r', m[1], [...(seen ?? [])]];
  });
}
