//! One node of the production topology in the whole-system simulation: a lease keeper watching
//! (on a primary node, contending for) every database's lease, and a seat per database whose
//! transactor leads it or follows the node that does — what Cluster wires up on a real node,
//! without its catalog poll and rebalancing (the databases are fixed for a run). Unlike everywhere
//! else, nodes share one process here: each has its own virtual clock and timers (a
//! JumpingProcess), its own view of storage (simulated-storage.ts) and its own place on the
//! simulated network (seat-test-support.ts).
//!
//! What the node answers on the network: `txn` (a client's list-append transaction, list-append-
//! operations.ts), `internalTransact` and `internalFollow` (other nodes' forwarded transactions
//! and novelty streams), as the server's operations do. Novelty streams to this node can be cut
//! (`cutPushes`: the connection breaks and its chunks in flight are lost, the follower reconnects
//! and catches up from its own position), and a node can be cut off from the other nodes (a
//! partition: its calls and streams to them, and theirs to it, fail as a connection does, while
//! clients and storage still reach it).
import { pino } from 'pino';
import { flattenDatoms } from '../../client/wire/protocol.ts';
import { DatabaseSeat } from '../../nodes/cluster/database-seat.ts';
import { LeaseKeeper } from '../../nodes/cluster/lease-keeper.ts';
import type { Peers } from '../../nodes/cluster/peers.ts';
import type { VirtualTime } from '../../nodes/cluster/lease-test-support.ts';
import { virtualSeatClock, type Endpoint, type SimulatedNetwork } from '../../nodes/cluster/seat-test-support.ts';
import type { Storage } from '../../nodes/storage/protocol.ts';
import { Transactor, type TransactorOptions } from '../../nodes/transactor/transactor.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import { seededRandom } from '../../nodes/util/random.ts';
import type { JumpingProcess } from './jumping-process.ts';
import { runTxn, type MicroOp } from './list-append-operations.ts';

/** What the simulation gives a node. */
export interface NodeWorld {
  readonly time: VirtualTime;
  readonly network: SimulatedNetwork;
  /** The databases, and the log of each. */
  readonly databases: ReadonlyMap<string, string>;
  readonly periodMs: number;
  readonly leaderWaitMs: number;
  readonly indexing: TransactorOptions['indexing'];
  /** Numbers for the node's lease jitter (its own generator, seeded from the run's seed). */
  readonly seedOf: (nodeId: string) => number;
  trace(who: string, what: string): void;
  /** Node log lines at debug level into the trace (else warnings and errors only). */
  readonly tracing: boolean;
  /** Told an event of the node: a lease acquired, a role-change failure, a leader opened. */
  count(event: 'acquisitions' | 'roleChangeFailures' | 'leaderOpens' | 'forwarded' | 'pushesCut'): void;
  /** The node started: it answers on the network from now on. */
  started(node: SimulatedNode): void;
  /** Whether the node at `address` is cut off from the other nodes now (clients and storage still reach it). */
  partitioned(address: string): boolean;
  /** A planted bug: read-only transactions are answered unsynced (whole-system.ts `sabotage`). */
  readonly sabotage: string | null;
}

interface SimplePeers {
  at(address: string): {
    call(operation: string, args: Record<string, unknown>, options: unknown): Promise<unknown>;
    streamChunks(operation: string, args: Record<string, unknown>): AsyncGenerator<readonly unknown[]>;
  };
}

export class SimulatedNode {
  readonly address: string;
  keeper: LeaseKeeper | null = null;
  readonly seats = new Map<string, DatabaseSeat>();
  /** A graceful stop under way: clients and faults leave it alone. */
  stopping = false;
  /** Incoming novelty streams are broken (and new ones fail) until this virtual instant. */
  cutUntilMs = -1;
  /** Cut off from the other nodes until this virtual instant. */
  partitionedUntilMs = -1;

  constructor(
    readonly nodeId: string,
    readonly primary: boolean,
    readonly process: JumpingProcess,
    private readonly storage: Storage,
    private readonly world: NodeWorld,
  ) {
    this.address = `sim://${nodeId}`;
  }

  get ready(): boolean {
    return this.keeper !== null && !this.process.killed;
  }

  isLeader(log: string): boolean {
    return this.keeper?.isLeader(log) === true;
  }

  /** Opens a follower of every database from storage, then the keeper and the seats; retried by its supervisor while storage fails. */
  async open(): Promise<void> {
    const { world, process } = this;
    const followers = new Map<string, Transactor>();
    try {
      for (const [database, log] of world.databases) followers.set(database, await Transactor.open(this.storage, log, { role: 'follower', indexing: world.indexing }));
    } catch (error) {
      if (!isFactumError(error)) throw error;
      for (const follower of followers.values()) void follower.close();
      world.trace(this.nodeId, `could not open its databases: ${error.message}`);
      process.timers.setTimeout(() => void this.open(), world.periodMs / 4);
      return;
    }
    if (process.killed) return;
    const written = (line: string) => {
      if (line.includes('transactor/role-change-failed')) world.count('roleChangeFailures');
      world.trace(this.nodeId, line.trim());
    };
    const logger = pino({ level: world.tracing ? 'debug' : 'warn', base: undefined, timestamp: false }, { write: written });
    const logs = new Map([...world.databases].map(([database, log]) => [log, database]));
    const seatOf = (log: string) => this.seats.get(logs.get(log)!);
    const keeper = new LeaseKeeper(
      this.storage,
      { nodeId: this.nodeId, address: this.address, periodMs: world.periodMs, contend: this.primary, clock: process.clock, timers: process.timers, random: seededRandom(world.seedOf(this.nodeId)) },
      {
        acquired: (log) => {
          world.count('acquisitions');
          world.trace(this.nodeId, `acquired the lease of ${log}`);
          seatOf(log)?.acquired();
        },
        lost: (log, reason) => {
          world.trace(this.nodeId, `lost the lease of ${log}: ${String(reason.data.reason)}`);
          seatOf(log)?.lost(reason);
        },
        holderChanged: (log, holder) => seatOf(log)?.holderChanged(holder),
      },
    );
    this.keeper = keeper;
    const clock = virtualSeatClock(process);
    for (const [database, log] of world.databases) {
      const seat = new DatabaseSeat(database, log, followers.get(database)!, {
        nodeId: this.nodeId,
        storage: this.storage,
        keeper,
        peers: this.peers(),
        log: logger,
        open: (name, role) => {
          if (role === 'leader') world.count('leaderOpens');
          return Transactor.open(this.storage, name, role === 'leader' ? { role, writeGuard: () => keeper.guard(name), indexing: world.indexing } : { role, indexing: world.indexing });
        },
        leasePeriodMs: world.periodMs,
        leaderWaitMs: world.leaderWaitMs,
        clock,
      });
      this.seats.set(database, seat);
    }
    world.network.attach(this.address, this.endpoint());
    for (const log of world.databases.values()) {
      keeper.watch(log);
      seatOf(log)!.holderChanged(keeper.holder(log));
    }
    world.started(this);
  }

  /** A graceful stop (SIGTERM), as Cluster.close: leases released, the seats closed, then exit. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.keeper?.stop();
    for (const seat of this.seats.values()) await seat.close();
    this.kill();
  }

  /** kill -9: whatever await each of its tasks is at, it never resumes; its connections fail. */
  kill(): void {
    this.process.kill();
    this.world.network.crashed(this.address);
  }

  private seat(args: Readonly<Record<string, unknown>>): DatabaseSeat {
    const seat = this.seats.get(args.database as string);
    if (seat === undefined) throw new Error(`simulated node: no database ${String(args.database)} (a bug of the simulation)`);
    return seat;
  }

  private endpoint(): Endpoint {
    const clock = virtualSeatClock(this.process);
    return {
      process: this.process,
      call: async (operation, args) => {
        if (operation === 'txn') {
          const basisT = this.world.sabotage === 'unsynced-reads' ? 0 : (args.basisT as number);
          return runTxn(this.seat(args), args.txn as MicroOp[], args.idempotencyKey as string, basisT, clock.timeout(this.world.leaderWaitMs), args.doomed === true);
        }
        if (operation === 'internalTransact') {
          const report = await this.seat(args).transactAsLeader(args.txData, args.idempotencyKey as string, args.log as string);
          this.world.count('forwarded');
          return { t: report.t, txData: flattenDatoms(report.txData), tempids: report.tempids, duplicate: report.duplicate };
        }
        throw new Error(`no operation ${operation} in the simulation`);
      },
      stream: (operation, args) => {
        if (operation !== 'internalFollow') throw new Error(`no stream ${operation} in the simulation`);
        return this.seat(args).followLog(args.from as number, args.log as string);
      },
    };
  }

  /** The network as this node's seats reach other nodes: novelty streams to it break while its pushes are cut. */
  private peers(): Peers {
    // The seat and its feed use only at(address).call and .streamChunks (as seat-test-support.ts's peersOf).
    const inner = this.world.network.peersOf(this.process) as unknown as SimplePeers;
    const cutting = () => this.world.time.nowMs < this.cutUntilMs;
    const cut = () => new FactumError('client/network', `simulated: the novelty stream to ${this.nodeId} broke; its chunks in flight were lost`, { host: this.address });
    const counted = () => this.world.count('pushesCut');
    const apart = (address: string) => this.world.partitioned(this.address) || this.world.partitioned(address);
    const unreachable = (address: string) => new FactumError('client/network', `simulated: ${this.nodeId} and ${address} are partitioned`, { host: address });
    return {
      at: (address: string) => ({
        call: async (operation: string, args: Record<string, unknown>) => {
          if (apart(address)) throw unreachable(address);
          const answer = await inner.at(address).call(operation, args, {});
          if (apart(address)) throw unreachable(address); // the answer was lost on the way back
          return answer;
        },
        async *streamChunks(operation: string, args: Record<string, unknown>) {
          if (cutting()) throw cut();
          if (apart(address)) throw unreachable(address);
          for await (const chunk of inner.at(address).streamChunks(operation, args)) {
            if (apart(address)) throw unreachable(address);
            if (cutting()) {
              counted();
              throw cut();
            }
            yield chunk;
          }
        },
      }),
    } as unknown as Peers;
  }
}
