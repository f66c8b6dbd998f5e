//! The databases of a system as one node of the production topology serves them: every database
//! has a seat on every node (database-seat.ts), whose transactor leads it here or follows the node
//! that leads it; the per-database leases (lease-keeper.ts) decide which.
//!
//!   catalog (storage) ──poll──▶ a seat per database ──▶ the lease keeper watches (and, on a
//!                                                       primary node, contends for) its lease
//!
//! A primary node contends for every database's lease; a query-group node never does: it follows
//! and forwards. Databases created or deleted through another node appear or go here within
//! CATALOG_POLL_MS (or at once when a request names one this node does not know yet).
import type { AccessKey } from '../../client/remote/access-key.ts';
import type { Logger } from '../server/log.ts';
import type { Storage } from '../storage/protocol.ts';
import type { System } from '../transactor/system.ts';
import { Transactor, type TransactorOptions, type TransactResult } from '../transactor/transactor.ts';
import { fail } from '../util/errors.ts';
import type { Databases } from './database-handle.ts';
import { DatabaseSeat } from './database-seat.ts';
import type { FeedItem } from './log-feed.ts';
import { LeaseKeeper } from './lease-keeper.ts';
import { Members } from './members.ts';
import { Peers } from './peers.ts';

const CATALOG_POLL_MS = 2000;
/** A new node waits this many lease periods (for the others to see it) before it rebalances. */
const REBALANCE_AFTER_PERIODS = 2;
/**
 * A node that stepped aside from a lease claims it again after this many periods if no other node
 * took it meanwhile (the others see it released within a quarter period, and claim within half a
 * period more): a member that died since it was last seen cannot leave the database without a
 * transactor for long.
 */
const STEP_ASIDE_PERIODS = 1;

export interface ClusterSettings {
  readonly system: string;
  readonly nodeId: string;
  readonly role: 'primary' | 'query-group';
  readonly leasePeriodMs: number;
  /** The transactor options of every database (indexing, caches). */
  readonly transactor: TransactorOptions;
}

export interface ClusterObservers {
  /** This node became the transactor of a database (metrics of its index runs). */
  readonly onLeading?: (database: string, leader: Transactor) => void;
  /** This node stopped leading a database. */
  readonly onFollowing?: (database: string) => void;
  /** A pushed log entry was applied here, `lagMs` after its commit on the transactor. */
  readonly onNoveltyLag?: (database: string, lagMs: number) => void;
}

export class Cluster implements Databases {
  private readonly seats = new Map<string, Promise<DatabaseSeat>>();
  /** Seats by log name, for the lease keeper's events. */
  private readonly byLog = new Map<string, DatabaseSeat>();
  private keeper!: LeaseKeeper;
  private readonly peers: Peers;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private members: Members | null = null;
  private closed = false;
  /** Stopping (stopLeading): no lease is contended for any more. */
  private stopping = false;

  constructor(
    private readonly system: System,
    private readonly storage: Storage,
    private readonly settings: ClusterSettings,
    adminKey: () => Promise<AccessKey>,
    private readonly log: Logger,
    private readonly observers: ClusterObservers = {},
  ) {
    this.peers = new Peers(settings.system, adminKey);
  }

  /**
   * Starts taking part: watches (on a primary node, contends for) every database's lease, with
   * `address` as where the other nodes reach this one, and opens a seat for every database of the
   * catalog, each caught up with its log.
   */
  async start(address: string): Promise<void> {
    const { settings } = this;
    this.keeper = new LeaseKeeper(
      this.storage,
      { nodeId: settings.nodeId, address, periodMs: settings.leasePeriodMs, contend: settings.role === 'primary' },
      {
        // A claim under way when the node began stopping may still land: given back at once.
        acquired: (log) => (this.stopping ? this.giveBack(log) : this.byLog.get(log)?.acquired()),
        lost: (log, reason) => this.byLog.get(log)?.lost(reason),
        holderChanged: (log, holder) => {
          this.log.info({ event: 'lease/holder-changed', log, holder: holder?.nodeId ?? null, address: holder?.address ?? null });
          this.byLog.get(log)?.holderChanged(holder);
        },
        storageFailed: (log, error) => this.log.warn({ event: 'lease/storage-failed', log, code: error.code, error: error.message }, 'could not read or write a transactor lease; retrying'),
      },
    );
    for (const name of await this.system.listDatabases()) await this.connect(name);
    this.timer = setInterval(() => void this.pollCatalog(), CATALOG_POLL_MS);
    this.timer.unref();
    if (settings.role === 'primary') {
      const members = new Members(this.storage, settings.nodeId, settings.leasePeriodMs);
      this.members = members;
      await members.heartbeat();
      const startedMs = Date.now();
      this.heartbeatTimer = setInterval(() => {
        members
          .heartbeat()
          .then(() => (Date.now() - startedMs >= REBALANCE_AFTER_PERIODS * settings.leasePeriodMs ? this.rebalance(members) : undefined))
          .catch((error: unknown) => this.log.warn({ event: 'lease/rebalance-failed', error: String(error) }, 'could not spread the transactors over the primary nodes; retrying at the next heartbeat'));
      }, settings.leasePeriodMs);
      this.heartbeatTimer.unref();
    }
  }

  /**
   * Spreads the transactors: a primary node leading more databases than its share (the databases
   * over the live primary nodes, rounded up) steps aside from one per heartbeat; the node leading
   * fewest claims it first (the lease keeper's stagger), and this one stays out of it for a while.
   */
  private async rebalance(members: Members): Promise<void> {
    const live = members.nodeIds.length;
    if (this.closed || live <= 1) return;
    const logs = [...this.byLog.keys()];
    const share = Math.ceil(logs.length / live);
    const held = logs.filter((log) => this.keeper.isLeader(log)).sort();
    if (held.length <= share) return;
    const log = held[held.length - 1]!;
    this.log.info({ event: 'lease/step-aside', log, held: held.length, share, primaryNodes: live });
    await this.keeper.stepAside(log, STEP_ASIDE_PERIODS * this.settings.leasePeriodMs);
  }

  listDatabases(): Promise<string[]> {
    return this.system.listDatabases();
  }

  async createDatabase(name: string): Promise<boolean> {
    const created = await this.system.createDatabase(name);
    await this.connect(name);
    return created;
  }

  async deleteDatabase(name: string): Promise<boolean> {
    await this.closeSeat(name);
    return this.system.deleteDatabase(name);
  }

  connect(name: string): Promise<DatabaseSeat> {
    if (this.closed || this.keeper === undefined) fail('client/closed', 'This node is starting or stopping; retry against another node or in a moment.', {});
    let seat = this.seats.get(name);
    if (seat === undefined) {
      seat = this.openSeat(name);
      this.seats.set(name, seat);
      seat.catch(() => this.seats.delete(name));
    }
    return seat;
  }

  /** Forwarded here: process a transaction if this node leads the database (operations.ts). */
  async transactAsLeader(database: string, txData: unknown, idempotencyKey: string, log?: string): Promise<TransactResult> {
    return (await this.connect(database)).transactAsLeader(txData, idempotencyKey, log);
  }

  async gcAsLeader(database: string, olderThan: Date, log?: string): Promise<{ readonly deleted: number; readonly kept: number }> {
    return (await this.connect(database)).gcAsLeader(olderThan, log);
  }

  async followLog(database: string, from: number, log?: string): Promise<AsyncGenerator<FeedItem[]>> {
    return (await this.connect(database)).followLog(from, log);
  }

  /** The seats open now, by database (tests, /health). */
  async roles(): Promise<Record<string, 'leader' | 'follower'>> {
    const out: Record<string, 'leader' | 'follower'> = {};
    for (const [name, seat] of this.seats) {
      const opened = await seat.catch(() => null);
      if (opened !== null) out[name] = opened.role;
    }
    return out;
  }

  private giveBack(log: string): void {
    this.keeper.stepAside(log, 0).catch((error: unknown) => this.log.warn({ event: 'lease/give-back-failed', log, error: String(error) }, 'a lease taken while stopping could not be given back; it runs out by itself after its period'));
  }

  /**
   * The first step of a graceful stop: gives up every lease at once (the other primary nodes take
   * the databases over after their stagger, not after a lease period) and leaves the members, so
   * that while this node drains its requests, transactions already go to the next transactors.
   */
  async stopLeading(): Promise<void> {
    if (this.keeper === undefined || this.stopping) return;
    this.stopping = true;
    clearInterval(this.heartbeatTimer);
    this.keeper.stopContending();
    await Promise.all([...this.byLog.keys()].map((log) => this.keeper.stepAside(log, 0)));
    await this.members?.leave();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.heartbeatTimer);
    if (this.keeper === undefined) return this.peers.close();
    await this.members?.leave();
    // Leases first, released: the other nodes take over at once instead of after a period.
    await this.keeper.stop();
    for (const seat of this.seats.values()) await (await seat.catch(() => null))?.close();
    this.seats.clear();
    this.peers.close();
  }

  private async openSeat(name: string): Promise<DatabaseSeat> {
    const log = await this.system.logOf(name);
    if (log === null) {
      fail('catalog/database-not-found', `No database named ${JSON.stringify(name)}; create it first (createDatabase) or check the name with listDatabases.`, { name });
    }
    const follower = await this.openTransactor(name, log, 'follower');
    const seat = new DatabaseSeat(name, log, follower, {
      nodeId: this.settings.nodeId,
      storage: this.storage,
      keeper: this.keeper,
      peers: this.peers,
      log: this.log,
      open: (logName, role) => this.openTransactor(name, logName, role),
      leasePeriodMs: this.settings.leasePeriodMs,
      leaderWaitMs: 2 * this.settings.leasePeriodMs + 5000,
      ...this.observers,
    });
    this.byLog.set(log, seat);
    this.keeper.watch(log);
    seat.holderChanged(this.keeper.holder(log));
    return seat;
  }

  private async openTransactor(name: string, log: string, role: 'leader' | 'follower'): Promise<Transactor> {
    if (role === 'follower') return Transactor.open(this.storage, log, { ...this.settings.transactor, role });
    for (let attempt = 1; ; attempt++) {
      // Deleted (or deleted and made again under its name) through another node since this one
      // read the catalog: no transactor for it, or writes would go to a log nobody reads.
      if ((await this.system.logOf(name)) !== log) fail('catalog/database-not-found', `Database ${JSON.stringify(name)} was deleted (or made again) through another node; it is not led here.`, { name });
      const leader = await Transactor.open(this.storage, log, { ...this.settings.transactor, role, writeGuard: () => this.keeper.guard(log) });
      // Before anything else, the index root is fenced: an index run or gc of the node that led
      // before (paused, or still finishing) can no longer move it. Only while this node holds the
      // lease: fencing after losing it would fence the node that took it.
      let fenced: boolean;
      try {
        const refusal = this.keeper.guard(log);
        if (refusal !== null) throw refusal;
        fenced = (await leader.indexing?.indexer.fence()) !== false;
      } catch (error) {
        await leader.close();
        throw error;
      }
      if (fenced) return leader;
      await leader.close();
      if (attempt >= 5) fail('storage/conflict', `Could not take over indexing database ${name}: its index root kept moving while this node opened it (another process still indexes it).`, { name, log });
    }
  }

  private async closeSeat(name: string): Promise<void> {
    const seat = await this.seats.get(name)?.catch(() => null);
    this.seats.delete(name);
    if (seat === undefined || seat === null) return;
    this.byLog.delete(seat.logName);
    await this.keeper.unwatch(seat.logName);
    await seat.close();
  }

  /** Seats for databases made through other nodes; none for those deleted. */
  private async pollCatalog(): Promise<void> {
    if (this.closed) return;
    try {
      const logs = await this.system.databaseLogs();
      for (const [name, seat] of [...this.seats]) {
        // Gone, or deleted and made again under its name (a new log): this seat serves neither.
        const opened = await seat.catch(() => null);
        if (opened !== null && logs.get(name) !== opened.logName) await this.closeSeat(name);
      }
      for (const name of logs.keys()) if (!this.seats.has(name)) await this.connect(name);
    } catch (error) {
      this.log.warn({ event: 'catalog/poll-failed', error: String(error) }, 'could not read the catalog of databases; retrying');
    }
  }
}
