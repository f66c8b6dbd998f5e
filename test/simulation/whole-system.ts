//! The seeded whole-system simulation (issue 19): the production topology — 2 to 4 primary nodes
//! each contending for every database's lease, 0 to 2 query-group nodes that only follow and
//! forward (by seed), a leader transactor and followers per database, novelty pushed between
//! them — and list-append clients, all in ONE process on virtual time (unlike everywhere else,
//! where every node is its own process), with faults drawn from the seed (fault-plan.ts).
//!
//!   clients ──txn──▶ any node ──forward──▶ the database's transactor ──appendLog──▶ storage
//!                        ▲                          │ novelty (internalFollow)
//!                        └──────────────────────────┘
//!
//! Every source of nondeterminism the nodes use goes through something the run controls: storage
//! calls (simulated-storage.ts, latency and faults), clocks and timers (JumpingProcess on one
//! VirtualTime), the network between nodes and clients (SimulatedNetwork), and randomness (the
//! lease keeper's jitter, seeded). So the same seed gives the same history byte for byte
//! (`digest`). Left on real time, because they change no decision within a run: :db/txInstant
//! and the idempotency window (Date.now in the transactor; a run lasts seconds of a one-hour
//! window), the lag metric of pushed novelty, and the lease record's random incarnation.
//!
//! Modes: 'safety' (faults until the end; transactions still being sent then are `info`) and
//! 'liveness' (faults stop, every one of them ended, then at most livenessBoundMs — the run's
//! last fifth or more — in which every transaction must complete, and every node catch up with
//! every log).
import { createHash } from 'node:crypto';
import { VirtualProcess, VirtualTime } from '../../nodes/cluster/lease-test-support.ts';
import { SimulatedNetwork } from '../../nodes/cluster/seat-test-support.ts';
import { tOfTx } from '../../nodes/datom/datom.ts';
import { rootKey } from '../../nodes/indexer/root.ts';
import { createMemoryStorage } from '../../nodes/storage/memory/memory-storage.ts';
import { decodeLogEntry } from '../../nodes/transactor/log-record.ts';
import { Transactor, type TransactorOptions } from '../../nodes/transactor/transactor.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import { kw } from '../../nodes/values/values.ts';
import { decideCall, noFaults, planEvents, type FaultCounts, type PlannedEvent, type Trouble } from './fault-plan.ts';
import { JumpingProcess } from './jumping-process.ts';
import { History, type Op } from '../checker/history.ts';
import { checkListAppend } from '../checker/list-append.ts';
import { ListAppendClient, type ClientWorld } from './list-append-client.ts';
import { databaseOf, listAppendSchema, type Key } from './list-append-operations.ts';
import { simulatedStorage, type StorageCall } from './simulated-storage.ts';
import { SimulatedNode, type NodeWorld } from './simulated-node.ts';
import { checkRun, type FinalLog } from './system-checks.ts';

export type Mode = 'safety' | 'liveness';

export interface RunOptions {
  readonly seed: number;
  readonly mode: Mode;
  /** Every node's log lines and every client attempt in `trace`. @default false */
  readonly tracing?: boolean;
  /**
   * A bug planted in the system, to show that the checks catch it (whole-system.test.ts):
   * storage that acknowledges some log appends and stores nothing, or nodes that answer
   * read-only transactions on whatever db value they have, not synced to the client's t.
   * @default - none
   */
  readonly sabotage?: Sabotage;
}

export type Sabotage = 'forget-appends' | 'unsynced-reads';

/** Counters of one run (summed over runs by the test). */
export interface Figures {
  ok: number;
  /** Doomed transactions refused (list-append-client.ts). */
  fail: number;
  info: number;
  duplicates: number;
  clientRetries: number;
  acquisitions: number;
  leaderOpens: number;
  roleChangeFailures: number;
  forwarded: number;
  pushesCut: number;
  rootMoves: number;
  virtualMs: number;
}

export interface RunResult {
  readonly seed: number;
  readonly mode: Mode;
  readonly history: readonly Op[];
  /** The faults and acknowledgements in order, with their virtual times (always kept). */
  readonly events: readonly string[];
  /** The verbose trace (tracing only). */
  readonly trace: readonly string[];
  /** sha256 of the history and the events: the same seed gives the same digest. */
  readonly digest: string;
  readonly faults: FaultCounts;
  readonly figures: Figures;
  /** Liveness: virtual ms from the end of the faults to the last completion (null in safety mode). */
  readonly settleMs: number | null;
  /** The errors clients were answered, by code (each then retried, but doomed transactions' refusals). */
  readonly clientErrors: ReadonlyMap<string, number>;
  /** Empty when the run passed every check. */
  readonly problems: readonly string[];
}

const periodMs = 1000;
const leaderWaitMs = 2 * periodMs + 5000; // as cluster.ts
/** Virtual time of faults in a run: until its end (safety), or before the quiet time (liveness). */
const faultsMs = 6000;
/**
 * Liveness: how long after the faults every transaction must have completed. A transactor killed
 * just before is replaced within 2 lease periods + 1 s, a forwarded transaction waits for one up
 * to leaderWaitMs, and a client backs off up to 2 s: 15 s bounds them all. The run ends as soon
 * as every client is done (and every node caught up), mostly within a second or two.
 */
const livenessBoundMs = 15_000;
const clients = 3;
const databaseNames = ['a', 'b'];
const keysPerDatabase = 4;

export function noFigures(): Figures {
  return { ok: 0, fail: 0, info: 0, duplicates: 0, clientRetries: 0, acquisitions: 0, leaderOpens: 0, roleChangeFailures: 0, forwarded: 0, pushesCut: 0, rootMoves: 0, virtualMs: 0 };
}

export class WholeSystem implements NodeWorld, ClientWorld {
  readonly time = new VirtualTime();
  readonly shared = createMemoryStorage();
  readonly network: SimulatedNetwork;
  readonly databaseNames = databaseNames;
  readonly databases = new Map(databaseNames.map((name) => [name, `db-${name}`]));
  readonly periodMs = periodMs;
  readonly leaderWaitMs = leaderWaitMs;
  readonly keysPerDatabase = keysPerDatabase;
  readonly indexing: TransactorOptions['indexing'];
  readonly nodes: SimulatedNode[] = [];
  readonly history = new History();
  readonly events: string[] = [];
  readonly traced: string[] = [];
  readonly problems: string[] = [];
  readonly faults = noFaults();
  readonly figures = noFigures();
  readonly faultEndMs: number;
  readonly endMs: number;
  /** Storage troubles on (or ended: they are skipped by time). */
  private readonly troubles: Trouble[] = [];
  /** Nodes to kill as their next write lands, until the instant given. */
  private readonly crashAtWrite = new Map<string, number>();
  /** Nodes to kill as they send their next storage call, until the instant given. */
  private readonly crashAtCall = new Map<string, number>();
  private readonly plans: () => number;
  private readonly storageRandom: () => number;
  private readonly networkRandom: () => number;
  private nextNode = 0;
  private nextElementValue = 1;
  lastCompletionMs = 0;

  constructor(
    readonly seed: number,
    readonly mode: Mode,
    readonly tracing: boolean,
    readonly sabotage: Sabotage | null,
  ) {
    // One generator per concern: a change to one (say, the clients) leaves the others' draws alone.
    this.plans = seededRandom(seed);
    this.storageRandom = seededRandom(seed * 7919 + 1);
    this.networkRandom = seededRandom(seed * 104_729 + 2);
    this.faultEndMs = faultsMs;
    this.endMs = mode === 'safety' ? faultsMs : faultsMs + livenessBoundMs;
    // Every other seed indexes with tiny trees: roots move, segments are read (and corrupted);
    // half of those (seeds 1 and 3 mod 8: a safety and a liveness one, see the test's modes) with
    // so little room for novelty that transactions are refused (storage/busy) while an index run
    // is behind.
    this.indexing = seed % 2 === 0 ? false : { noveltyBytesMax: 4000, backPressureBytes: seed % 8 < 4 ? 4200 : 1e9, leafMax: 8, branchMax: 4, tier0Max: 40 };
    this.network = new SimulatedNetwork(this.time, () => 0.2 + this.networkRandom() * 3, (error) => this.problem(`a node threw a non-FactumError: ${String((error as Error)?.stack ?? error)}`));
  }

  trace(who: string, what: string): void {
    if (this.tracing) this.traced.push(`${this.time.nowMs.toFixed(1).padStart(9)} ms  ${who.padEnd(4)} ${what}`);
  }

  event(what: string): void {
    this.events.push(`${this.time.nowMs.toFixed(3)} ${what}`);
    this.trace('-', what);
  }

  problem(what: string): void {
    this.problems.push(`${this.time.nowMs.toFixed(0)} ms: ${what}`);
  }

  count(event: 'acquisitions' | 'roleChangeFailures' | 'leaderOpens' | 'forwarded' | 'pushesCut'): void {
    this.figures[event]++;
  }

  seedOf(nodeId: string): number {
    return this.seed * 31 + Number(nodeId.slice(1));
  }

  started(node: SimulatedNode): void {
    this.trace(node.nodeId, 'started');
  }

  completed(process: number, type: string, t?: number): void {
    this.lastCompletionMs = this.time.nowMs;
    this.event(`c${process} ${type} t ${t ?? '-'}`);
  }

  nextElement(): number {
    return this.nextElementValue++;
  }

  partitioned(address: string): boolean {
    const node = this.nodes.find((candidate) => candidate.address === address);
    return node !== undefined && this.time.nowMs < node.partitionedUntilMs;
  }

  running(): SimulatedNode[] {
    return this.nodes.filter((node) => node.ready && !node.stopping);
  }

  target(random: number): string | null {
    const running = this.running();
    return running.length === 0 ? null : running[Math.floor(random * running.length)]!.address;
  }

  /** A node, started from storage: its followers, then its keeper and seats. */
  startNode(primary: boolean): void {
    const nodeId = `n${this.nextNode++}`;
    const process = new JumpingProcess(this.time, this.plans() * 1e9, 0.996 + this.plans() * 0.008);
    const storage = simulatedStorage(this.shared, this.time, process, {
      decide: (call) => this.decide(node, call),
      landed: (call, applied) => this.landed(node, call, applied),
      forget: () => this.sabotage === 'forget-appends' && this.storageRandom() < 0.05,
    });
    const node: SimulatedNode = new SimulatedNode(nodeId, primary, process, storage, this);
    this.nodes.push(node);
    this.event(`${nodeId} starts (${primary ? 'primary' : 'query group'})`);
    void node.open();
  }

  private decide(node: SimulatedNode, call: StorageCall) {
    const { nodeId } = node;
    const untilMs = this.crashAtCall.get(nodeId);
    if (untilMs !== undefined && this.time.nowMs <= untilMs && !node.process.killed) {
      // Killed right here, in the middle of the node's code: it never resumes from this await.
      this.crashAtCall.delete(nodeId);
      this.faults['crash-at-call']++;
      this.event(`${nodeId} kill -9 as it sends ${call.name}(${call.key})`);
      this.crash(node);
    }
    const decision = decideCall(this.storageRandom, this.time.nowMs, nodeId, call, this.troubles, periodMs);
    if (decision.fault !== null) {
      this.faults[decision.fault]++;
      this.trace(nodeId, `storage ${call.name}(${call.key}): ${decision.fault}`);
    }
    return decision;
  }

  private landed(node: SimulatedNode, call: StorageCall, applied: boolean): void {
    const untilMs = this.crashAtWrite.get(node.nodeId);
    if (untilMs === undefined || this.time.nowMs > untilMs || node.process.killed) return;
    this.crashAtWrite.delete(node.nodeId);
    this.faults['crash-at-write']++;
    this.event(`${node.nodeId} kill -9 as its ${call.name}(${call.key}) lands (${applied ? 'applied' : 'refused'})`);
    this.crash(node);
  }

  private crash(node: SimulatedNode): void {
    node.kill();
    this.restartLater(node);
  }

  /** A new node in place of `node`, after a while (by the quiet time at the latest). */
  private restartLater(node: SimulatedNode): void {
    const delayMs = Math.min((0.2 + this.plans() * 2.8) * periodMs, Math.max(0, this.faultEndMs - this.time.nowMs));
    this.time.schedule(delayMs, () => this.startNode(node.primary));
  }

  scheduleEvents(): void {
    for (const planned of planEvents(this.plans, periodMs, this.faultEndMs, this.faultEndMs)) {
      this.time.schedule(planned.atMs, () => this.apply(planned));
    }
  }

  private apply({ kind, pick, durationMs, everyNode }: PlannedEvent): void {
    const candidates = this.running().filter((node) => !node.process.paused);
    const target = candidates[Math.floor(pick * candidates.length)];
    const untilMs = this.time.nowMs + durationMs;
    if (kind === 'throttle' || kind === 'unavailable' || kind === 'timeout' || kind === 'lost-response' || kind === 'corrupt') {
      const nodeId = everyNode || target === undefined ? null : target.nodeId;
      this.troubles.push({ kind, nodeId, untilMs });
      return this.event(`storage: ${kind} for ${nodeId ?? 'every node'} for ${durationMs.toFixed(0)} ms`);
    }
    if (target === undefined) return;
    const leads = [...this.databases.values()].filter((log) => target.isLeader(log));
    const what = `${target.nodeId}${leads.length > 0 ? ` (leads ${leads.join(', ')})` : ''}`;
    if (kind === 'crash') {
      this.faults.crash++;
      this.event(`${what} kill -9`);
      return this.crash(target);
    }
    if (kind === 'crash-at-call') {
      this.event(`${what} will be killed as it sends its next storage call (for ${durationMs.toFixed(0)} ms)`);
      return void this.crashAtCall.set(target.nodeId, untilMs);
    }
    if (kind === 'crash-at-write') {
      this.event(`${what} will be killed as its next write lands (for ${durationMs.toFixed(0)} ms)`);
      return void this.crashAtWrite.set(target.nodeId, untilMs);
    }
    if (kind === 'stop') {
      this.faults.stop++;
      this.event(`${what} stops`);
      void target.stop().then(() => this.event(`${target.nodeId} stopped`));
      return this.restartLater(target);
    }
    if (kind === 'pause') {
      this.faults[durationMs > periodMs ? 'long-pause' : 'pause']++;
      this.event(`${what} SIGSTOP for ${durationMs.toFixed(0)} ms`);
      target.process.pause();
      return void this.time.schedule(durationMs, () => (this.event(`${target.nodeId} SIGCONT`), target.process.resume()));
    }
    if (kind === 'clock-jump') {
      this.faults['clock-jump']++;
      this.event(`${what} clock jumps ${durationMs.toFixed(0)} ms ahead`);
      return target.process.jump(durationMs);
    }
    if (kind === 'slow-pushes') {
      this.faults['slow-pushes']++;
      this.event(`${what} novelty pushes held for ${durationMs.toFixed(0)} ms`);
      this.network.stall(target.process);
      return void this.time.schedule(durationMs, () => this.network.flow(target.process));
    }
    if (kind === 'partition') {
      this.faults.partition++;
      this.event(`${what} partitioned from the other nodes for ${durationMs.toFixed(0)} ms`);
      return void (target.partitionedUntilMs = untilMs);
    }
    this.faults['lost-pushes']++;
    this.event(`${what} novelty pushes lost for ${durationMs.toFixed(0)} ms`);
    target.cutUntilMs = untilMs;
  }

  /** The schema in every database, written before any node starts; the attribute ids, for reading the logs. */
  async writeSchemas(): Promise<{ key: number; element: number }> {
    let ids = { key: 0, element: 0 };
    for (const log of this.databases.values()) {
      const setup = await Transactor.open(this.shared, log, { indexing: false });
      const report = await setup.transact(listAppendSchema);
      ids = { key: report.dbAfter.entid(kw('sim/key'))!, element: report.dbAfter.entid(kw('sim/element'))! };
      await setup.close();
    }
    return ids;
  }

  /** Each database's log as storage has it now. */
  async finalLogs(ids: { key: number; element: number }): Promise<FinalLog[]> {
    const logs: FinalLog[] = [];
    for (const log of this.databases.values()) {
      const transactions = new Map<number, { idempotencyKey?: string; appends: Map<Key, number> }>();
      const keyOf = new Map<number, Key>();
      const lists = new Map<Key, Array<[number, number]>>();
      const idempotencyKeys: string[] = [];
      let expected = 0;
      for await (const entry of this.shared.readLog(log, 0)) {
        if (entry.position !== expected++) this.problem(`(a) ${log}: position ${entry.position} where ${expected - 1} was expected`);
        for (const logged of decodeLogEntry(entry.bytes, entry.position)) {
          if (logged.idempotencyKey !== undefined) idempotencyKeys.push(logged.idempotencyKey);
          const appends = new Map<Key, number>();
          for (const datom of logged.datoms) if (datom.a === ids.key && datom.added) keyOf.set(datom.e, datom.v as string);
          for (const datom of logged.datoms) {
            if (datom.a !== ids.element || !datom.added) continue;
            const key = keyOf.get(datom.e)!;
            appends.set(key, datom.v as number);
            lists.set(key, [...(lists.get(key) ?? []), [tOfTx(datom.tx), datom.v as number]]);
          }
          transactions.set(logged.t, { idempotencyKey: logged.idempotencyKey, appends });
        }
      }
      logs.push({ transactions, lists, idempotencyKeys });
    }
    return logs;
  }

  /** Every running node's seat of every database at the log's end (novelty pushed, or the log read). */
  async caughtUp(): Promise<void> {
    for (const [database, log] of this.databases) {
      const lastT = await this.lastT(log);
      for (const node of this.running()) {
        const basisT = node.seats.get(database)!.db().basisT;
        if (basisT < lastT) this.problem(`(e) ${node.nodeId} is at t ${basisT} of ${database}, behind its log's t ${lastT}, ${3 * periodMs} ms after the last transaction`);
      }
    }
  }

  private async lastT(log: string): Promise<number> {
    let lastT = 0;
    for await (const entry of this.shared.readLog(log, 0)) for (const logged of decodeLogEntry(entry.bytes, entry.position)) lastT = logged.t;
    return lastT;
  }

  async rootMoves(): Promise<number> {
    let moves = 0;
    for (const log of this.databases.values()) moves += (await this.shared.getRecord(rootKey(log)))?.version ?? 0;
    return moves;
  }
}

/**
 * The system of a seed with its schemas written and `primaries` and `queryGroupNodes` nodes
 * started, and nothing else — no faults, no clients: for scripted regression tests of what the
 * simulation found (whole-system-regressions.test.ts), driven through `time` and `nodes`.
 */
export async function scriptedSystem(seed: number, primaries: number, queryGroupNodes: number): Promise<WholeSystem> {
  const system = new WholeSystem(seed, 'liveness', process.env.SIM_TRACE === '1', null);
  await system.writeSchemas();
  for (let index = 0; index < primaries + queryGroupNodes; index++) system.startNode(index < primaries);
  return system;
}

/**
 * What test/checker's Elle-style checker finds in the history: each database's part under
 * session consistency (a read-only transaction reads a follower's db value, which may be behind
 * in real time, never behind what its client saw of that database), and the transactions with
 * appends — each on its db-before, at its t on the transactor — under strict serializability,
 * per database with every t checked against the dependencies, and across both databases.
 *
 * Sessions are per database, as a client's basis t is: databases are independent logs, and
 * nothing orders a read of one after what the client saw of another (as in Datomic, where a
 * connection and its basis t are per database). Checked as one session across databases, a
 * client reading database 0 on a follower behind a transaction it learned of through database
 * 1 shows a G-single cycle through process order (seed 446 of the first version).
 */
function anomalies(history: readonly Op[]): string[] {
  const reindexed = (ops: readonly Op[]) => ops.map((op, index) => ({ ...op, index }));
  const writes = (ops: readonly Op[]) => reindexed(ops.filter((op) => op.txn.some((micro) => micro[0] === 'append')));
  const perDatabase = databaseNames.map((_, database) => reindexed(history.filter((op) => databaseOf(op.txn[0]![1]) === database)));
  const found: string[] = [];
  // Each database's t is its own: checkT (every t goes forward along every dependency) per database only.
  const runs = [
    ...perDatabase.flatMap((ops) => [[ops, 'session', true] as const, [writes(ops), 'strict-serializable', true] as const]),
    [writes(history), 'strict-serializable', false] as const,
  ];
  for (const [ops, consistency, checkT] of runs) {
    const result = checkListAppend(ops, { consistency, reads: 'db-before', checkT });
    for (const anomaly of result.anomalies) found.push(`(checker, ${consistency}${checkT ? ', t order' : ''}) ${anomaly.kind}: ${anomaly.explanation}`);
  }
  return found;
}

/** One run of the whole system from `seed`: its history, the faults it met, and what its checks found. */
export async function runSimulation({ seed, mode, tracing = false, sabotage }: RunOptions): Promise<RunResult> {
  const system = new WholeSystem(seed, mode, tracing, sabotage ?? null);
  const { time } = system;
  const ids = await system.writeSchemas();
  // The topology varies by seed: 2 to 4 primary nodes, 0 to 2 query-group nodes.
  const topology = seededRandom(seed * 2_147_483 + 4);
  const primaries = 2 + Math.floor(topology() * 3);
  const queryGroupNodes = Math.floor(topology() * 3);
  for (let index = 0; index < primaries + queryGroupNodes; index++) system.startNode(index < primaries);
  system.scheduleEvents();
  const clientRandom = seededRandom(seed * 15_485_863 + 3);
  const running: ListAppendClient[] = [];
  let done = 0;
  for (let id = 0; id < clients; id++) {
    const client = new ListAppendClient(id, new VirtualProcess(time), clientRandom, system);
    running.push(client);
    client.run(() => time.nowMs < system.faultEndMs).then(
      () => done++,
      (error: unknown) => system.problem(`client ${id} failed: ${String((error as Error)?.stack ?? error)}`),
    );
  }
  try {
    while (time.nowMs < system.endMs && !(mode === 'liveness' && done === clients && time.nowMs >= system.faultEndMs)) await time.advance(100);
    if (mode === 'liveness' && done === clients) {
      await time.advance(3 * periodMs);
      await system.caughtUp();
    }
  } finally {
    system.network.shutdown();
  }
  const clientErrors = new Map<string, number>();
  for (const client of running) {
    if (client.pending !== null) {
      system.history.complete(client.id, 'info', null, time.nowMs);
      system.completed(client.id, 'info');
    }
    system.figures.clientRetries += client.retries;
    system.figures.duplicates += client.duplicates;
    for (const [code, count] of client.errors) clientErrors.set(code, (clientErrors.get(code) ?? 0) + count);
  }
  const history = system.history.ops;
  const problems = [...system.problems, ...checkRun(history, await system.finalLogs(ids), mode === 'liveness'), ...anomalies(history)];
  const figures = system.figures;
  figures.ok = history.filter((op) => op.type === 'ok').length;
  figures.fail = history.filter((op) => op.type === 'fail').length;
  figures.info = history.filter((op) => op.type === 'info').length;
  figures.rootMoves = await system.rootMoves();
  figures.virtualMs = time.nowMs;
  const digest = createHash('sha256').update(JSON.stringify(history)).update(system.events.join('\n')).digest('hex');
  const settleMs = mode === 'liveness' ? Math.max(0, system.lastCompletionMs - system.faultEndMs) : null;
  return { seed, mode, history, events: system.events, trace: system.traced, digest, faults: system.faults, figures, settleMs, clientErrors, problems };
}
