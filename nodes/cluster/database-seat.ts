//! A database on one node of the production topology: the node is its transactor (it holds the
//! database's lease) or a follower of whichever node is. Reads are served here in either case;
//! transactions are processed here when this node leads, else forwarded to the node that does.
//!
//!   lease acquired ──▶ promote: open a leader (root + log read afresh), swap, close the follower
//!   lease lost     ──▶ demote:  open a follower, swap, close the leader (it can write no more:
//!                               its writeGuard fails once the lease's belief has ended)
//!   holder changed ──▶ the novelty feed follows the new transactor
//!
//! Invariants:
//! - A role change runs one at a time (`switching`), opens the new transactor before the old one
//!   closes, and swaps `current` in one step: a request sees one or the other, and db values of
//!   the old one stay readable (immutable; their segments are in storage).
//! - Every transaction carries an idempotency key (the client's, the request's signature, or one
//!   made here), so a retry after a failover, a lost answer or a fenced write is applied once.
//! - A forwarded transaction is answered only once this node's follower has it, with the exact
//!   db values before and after it: a client reads its own writes on the node it asked.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/db.ts';
import { RowDatom } from '../db/datom-table.ts';
import { txOfT } from '../datom/datom.ts';
import type { Storage } from '../storage/protocol.ts';
import type { Logger } from '../server/log.ts';
import type { TransactCallOptions, TransactResult, TxRangeEntry } from '../transactor/transactor.ts';
import type { Transactor } from '../transactor/transactor.ts';
import { FactumError, fail, isFactumError } from '../util/errors.ts';
import type { DatabaseHandle } from './database-handle.ts';
import { leaderFeed, type FeedItem } from './log-feed.ts';
import { NoveltyFeed, realFeedClock, type FeedClock } from './novelty-feed.ts';
import type { LeaseHolder, LeaseKeeper } from './lease-keeper.ts';
import type { Peers } from './peers.ts';

/** Time as a seat sees it (its retries' deadline and backoff, and its novelty feed's polls). */
export interface SeatClock extends FeedClock {
  /** A signal aborted with a TimeoutError after `ms`, as AbortSignal.timeout. */
  timeout(ms: number): AbortSignal;
}

const realClock: SeatClock = { ...realFeedClock, timeout: (ms) => AbortSignal.timeout(ms) };

export interface SeatContext {
  readonly nodeId: string;
  readonly storage: Storage;
  readonly keeper: LeaseKeeper;
  readonly peers: Peers;
  readonly log: Logger;
  /** Opens the database's transactor in a role (a leader's writes guarded by the lease). */
  readonly open: (log: string, role: 'leader' | 'follower') => Promise<Transactor>;
  readonly leasePeriodMs: number;
  /** How long a transaction waits for a transactor (a failover) before `cluster/no-leader`. */
  readonly leaderWaitMs: number;
  /** Told when this node starts leading a database (metrics of its index runs). */
  readonly onLeading?: (database: string, leader: Transactor) => void;
  /** Told when this node stops leading a database. */
  readonly onFollowing?: (database: string) => void;
  /** Told the lag of each pushed log entry (commit on the transactor to applied here). */
  readonly onNoveltyLag?: (database: string, lagMs: number) => void;
  /** Virtual time in the seeded simulation of several nodes (seat-simulation.test.ts). @default - real time */
  readonly clock?: SeatClock;
}

/** What a forwarded transaction's transactor answers (operations.ts internalTransact). */
export interface ForwardedAnswer {
  readonly t: number;
  readonly txData: readonly unknown[];
  readonly tempids: Readonly<Record<string, number>>;
  readonly duplicate: boolean;
}

/** Errors after which a transaction is tried again, here or at the next transactor: it was not written. */
const leadershipCodes: ReadonlySet<string> = new Set(['cluster/not-leader', 'cluster/lease-lost', 'cluster/forward-failed', 'storage/conflict', 'client/closed', 'client/network', 'client/timeout', 'server/stopping', 'server/not-ready']);

/**
 * How long the segments of a retired index root stay, whatever gcStorage is asked: the followers
 * of other nodes move onto a new root within seconds (its notice, or their poll every 5 s), and
 * until then read the one before.
 */
const FOLLOWERS_GRACE_MS = 60_000;

function followersSafe(olderThan: Date): Date {
  return new Date(Math.min(olderThan.getTime(), Date.now() - FOLLOWERS_GRACE_MS));
}

export class DatabaseSeat implements DatabaseHandle {
  private current: Transactor;
  private switching: Promise<void> = Promise.resolve();
  private readonly feed: NoveltyFeed;
  private closed = false;
  /** The leader that was here when the lease was last lost: it never leads again (see acquired). */
  private deposed: Transactor | null = null;
  /** The transactor a reopen was asked for (reopen: once per fenced transactor). */
  private reopening: Transactor | null = null;
  /** Replaced transactors still closing (close waits for them). */
  private readonly closing = new Set<Transactor>();
  private readonly clock: SeatClock;
  /** Transactions forwarded and not yet answered, with the holder they went to. */
  private readonly forwarding = new Set<{ readonly holder: LeaseHolder; readonly moved: (error: FactumError) => void }>();
  /** Stops the leader's check of the log's end (checkLogEnd). */
  private readonly stopLogCheck: () => void;
  private checkingLogEnd = false;
  /** The leader and its position when the log was last seen past it (checkLogEnd). */
  private behindAt: { readonly leader: Transactor; readonly position: number } | null = null;

  constructor(
    readonly name: string,
    readonly logName: string,
    follower: Transactor,
    private readonly context: SeatContext,
  ) {
    this.current = follower;
    this.clock = context.clock ?? realClock;
    this.feed = new NoveltyFeed(name, () => (this.current.role === 'follower' && !this.closed ? this.current : null), context.peers, context.log, (lagMs) => context.onNoveltyLag?.(name, lagMs), this.clock);
    this.stopLogCheck = this.clock.every(context.leasePeriodMs, () => void this.checkLogEnd());
  }

  get role(): 'leader' | 'follower' {
    return this.current.role;
  }

  /** The transactor serving this database on this node now (for tests and metrics). */
  get transactor(): Transactor {
    return this.current;
  }

  db(): Db {
    return this.current.db();
  }

  async sync(t?: number, options?: { readonly signal?: AbortSignal }): Promise<Db> {
    for (;;) {
      const transactor = this.current;
      if (t !== undefined && transactor.role === 'follower' && transactor.db().basisT < t) {
        // The push is usually there first; reading the log makes sure (a lost push, no transactor).
        // A failed read is retried by the feed's poll; the wait below ends by its signal anyway.
        transactor.catchUp().catch((error: unknown) => this.context.log.debug({ event: 'novelty/catch-up-failed', database: this.name, error: String(error) }));
      }
      try {
        return await transactor.sync(t, options);
      } catch (error) {
        // The transactor was swapped (a role change) while this waited: wait on the new one.
        if (isFactumError(error, 'client/closed') && transactor !== this.current && !this.closed) continue;
        throw error;
      }
    }
  }

  async catchUpWithLog(): Promise<void> {
    const transactor = this.current;
    if (transactor.role === 'follower') await transactor.catchUp();
  }

  dbAt(t: number): Promise<Db | null> {
    return this.current.dbAt(t);
  }

  txRange(start?: number, end?: number): AsyncGenerator<TxRangeEntry> {
    return this.current.txRange(start, end);
  }

  async gcStorage(olderThan: Date): Promise<{ readonly deleted: number; readonly kept: number }> {
    return this.withTransactor(
      'gcStorage',
      (leader) => leader.gcStorage(followersSafe(olderThan)),
      async (holder) => (await this.context.peers.at(holder.address).call('internalGcStorage', { database: this.name, log: this.logName, olderThan }, { idempotent: true })).value as { deleted: number; kept: number },
    );
  }

  async transact(txData: unknown, options?: TransactCallOptions): Promise<TransactResult> {
    // Made here when the client gave none: a retry at the next transactor must not apply it twice.
    const idempotencyKey = options?.idempotencyKey ?? `node:${randomUUID()}`;
    // Once this node has sent it to a transactor and got no answer, a later attempt finding the key
    // committed is this call's own transaction, not a retry of the client's: not a duplicate to it.
    let ambiguous = false;
    const ours = (result: TransactResult): TransactResult => (ambiguous && result.duplicate ? { ...result, duplicate: false } : result);
    return this.withTransactor(
      'transaction',
      async (leader) => ours(await leader.transact(txData, { idempotencyKey })),
      async (holder) => {
        try {
          return ours(await this.forward(holder, txData, idempotencyKey));
        } catch (error) {
          // Sent, and no answer: it may have been committed (refusals before any work are not).
          if (isFactumError(error, 'cluster/forward-failed') || isFactumError(error, 'client/timeout')) ambiguous = true;
          throw error;
        }
      },
    );
  }

  /**
   * A transaction forwarded here by another node: processed only while this node leads, and only
   * for the log the forwarding node means (`log`: a database deleted and made again under its
   * name has another).
   */
  async transactAsLeader(txData: unknown, idempotencyKey: string, log?: string): Promise<TransactResult> {
    const leader = this.leading(log);
    try {
      return await leader.transact(txData, { idempotencyKey });
    } catch (error) {
      // Fenced (another writer took a log position): read the log afresh; the forwarding node retries.
      if (isFactumError(error, 'storage/conflict')) this.reopen(leader);
      throw error;
    }
  }

  async gcAsLeader(olderThan: Date, log?: string): Promise<{ readonly deleted: number; readonly kept: number }> {
    const leader = this.leading(log);
    try {
      return await leader.gcStorage(followersSafe(olderThan));
    } catch (error) {
      // The root moved under it (fenced): read it afresh, as after a fenced transaction.
      if (isFactumError(error, 'storage/conflict')) this.reopen(leader);
      throw error;
    }
  }

  /** The stream of log entries from `from` on, for a follower on another node (log-feed.ts). */
  followLog(from: number, log?: string): AsyncGenerator<FeedItem[]> {
    const leader = this.leading(log);
    // On the seat's clock only when one was given (the simulations'): real time keeps log-feed's own timer.
    const heartbeat = this.context.clock === undefined ? undefined : (ms: number, wake: () => void) => this.clock.every(ms, wake);
    return leaderFeed(leader, this.context.storage, from, () => this.current === leader && !this.closed && this.context.keeper.isLeader(this.logName), heartbeat);
  }

  /** The lease keeper's events. */
  acquired(): void {
    this.changeRole(async () => {
      if (!this.context.keeper.isLeader(this.logName)) return;
      // A leader here already was opened for this lease (an earlier `acquired` that ended late): a
      // second one would open while it still writes, and miss what it writes. Unless it was here
      // when a lease was lost (its step-down failed): then its write guard may have fenced it.
      if (this.current.role === 'leader' && this.current !== this.deposed) return;
      this.feed.follow(null);
      const leader = await this.openLeader();
      await this.swap(leader);
      this.context.onLeading?.(this.name, leader);
      this.context.log.info({ event: 'transactor/leading', database: this.name, basisT: leader.db().basisT });
    });
  }

  lost(reason: FactumError): void {
    if (this.current.role === 'leader') this.deposed = this.current;
    this.stepDown(reason);
  }

  /** Opens a follower in place of the leader here (tried again until it opens, while the lease is not back). */
  private stepDown(reason: FactumError): void {
    this.changeRole(async () => {
      // Leading again (the lease came back before this ran): `acquired` replaces the leader.
      if (this.current.role === 'follower' || this.context.keeper.isLeader(this.logName)) return;
      this.context.log.warn({ event: 'transactor/stepped-down', database: this.name, reason: reason.message }, 'this node stopped being the transactor of the database; it follows the new one');
      let follower: Transactor;
      try {
        follower = await this.context.open(this.logName, 'follower');
      } catch (error) {
        // Kept, the old leader writes nothing (its guard) and is fed nothing: reads here would stay
        // at its basis, and a forwarded transaction would wait for its t in vain. Try again.
        void this.clock.sleep(this.context.leasePeriodMs / 4).then(() => this.stepDown(reason));
        throw error;
      }
      await this.swap(follower);
      this.feed.follow(this.holderAddress(this.context.keeper.holder(this.logName)));
    });
  }

  holderChanged(holder: LeaseHolder | null): void {
    if (this.current.role === 'follower') this.feed.follow(this.holderAddress(holder));
    if (holder === null) return; // none known yet: a forwarded call may still be answered
    for (const watcher of this.forwarding) {
      if (watcher.holder.nodeId !== holder.nodeId) {
        watcher.moved(new FactumError('cluster/forward-failed', `Database ${this.name}'s transactor moved from ${watcher.holder.nodeId} to ${holder.nodeId} while a transaction forwarded to the former waited; it is sent to the new one.`, { database: this.name, from: watcher.holder.nodeId, to: holder.nodeId }));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.feed.stop();
    this.stopLogCheck();
    await this.switching;
    if (this.current.role === 'leader') this.context.onFollowing?.(this.name);
    await this.current.close();
    await Promise.all([...this.closing].map((transactor) => transactor.close()));
  }

  /** Runs `local` on this node's transactor while it leads, else `remote` at the lease holder; retries across failovers. */
  private async withTransactor<T>(what: string, local: (leader: Transactor) => Promise<T>, remote: (holder: LeaseHolder) => Promise<T>): Promise<T> {
    const deadline = this.clock.now() + this.context.leaderWaitMs;
    let last: unknown = null;
    let sent = false;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) fail('client/closed', `Database ${this.name} is closing on this node; retry against another node.`, { database: this.name });
      const transactor = this.current;
      const holder = this.context.keeper.holder(this.logName);
      const leads = transactor.role === 'leader' && this.context.keeper.isLeader(this.logName);
      try {
        if (leads) return await local(transactor);
        if (holder !== null && holder.nodeId !== this.context.nodeId) {
          sent = true;
          return await remote(holder);
        }
      } catch (error) {
        if (!isFactumError(error) || !leadershipCodes.has(error.code)) throw error;
        last = error;
        // Fenced here (another writer took a log position): read the log afresh as leader or follower.
        if (leads && isFactumError(error, 'storage/conflict')) this.reopen(transactor);
      }
      if (this.clock.now() >= deadline) {
        // Sent to a transactor that did not answer: it may have committed before it failed.
        const outcome =
          what !== 'transaction' ? 'Retry it.' : sent ? 'It may have been applied by a transactor that then failed to answer: retry it with the same idempotency key (pass one to transact; a retry without it is a new transaction), which applies it at most once.' : 'Nothing was written: retry.';
        return fail('cluster/no-leader', `No node could take database ${this.name}'s ${what} within ${this.context.leaderWaitMs} ms: its transactor is failing over or unreachable (${last === null ? 'no node held its lease' : `last: ${(last as FactumError).code}`}). ${outcome}`, { database: this.name, waitedMs: this.context.leaderWaitMs, sent });
      }
      await this.clock.sleep(Math.min(25 * 2 ** attempt, 250));
    }
  }

  /** A transaction processed by the transactor on `holder`, answered once this node has it. */
  private async forward(holder: LeaseHolder, txData: unknown, idempotencyKey: string): Promise<TransactResult> {
    let answer: ForwardedAnswer;
    // A transactor that stalls (paused, partitioned) answers nothing until the peer timeout; once
    // the lease names another node, the transaction goes there instead (its key makes that safe).
    let moved: ((error: FactumError) => void) | undefined;
    const holderMoved = new Promise<never>((_, reject) => (moved = reject));
    const watcher = { holder, moved: moved! };
    this.forwarding.add(watcher);
    try {
      const call = this.context.peers.at(holder.address).call('internalTransact', { database: this.name, log: this.logName, txData, idempotencyKey }, { idempotent: true });
      call.catch(() => undefined); // answered after the race was lost: nothing waits for it
      answer = (await Promise.race([call, holderMoved])).value as ForwardedAnswer;
    } catch (error) {
      if (isFactumError(error) && (error.code === 'client/network' || error.code === 'client/timeout')) {
        throw new FactumError('cluster/forward-failed', `Could not reach database ${this.name}'s transactor at ${holder.address}: ${error.message}`, { database: this.name, address: holder.address }, { cause: error });
      }
      throw error;
    } finally {
      this.forwarding.delete(watcher);
    }
    const t = answer.t;
    const db = await this.reached(t);
    const tx = txOfT(t);
    const flat = answer.txData;
    const datoms: RowDatom[] = [];
    for (let i = 0; i < flat.length; i += 5) datoms.push(new RowDatom(flat[i] as number, flat[i + 1] as number, flat[i + 2], (flat[i + 3] as number | undefined) ?? tx, flat[i + 4] as boolean));
    const exact = async (basisT: number): Promise<Db> => (await this.dbAt(basisT)) ?? db.asOf(basisT);
    return { t, duplicate: answer.duplicate, tempids: answer.tempids, txData: datoms, dbBefore: await exact(t - 1), dbAfter: await exact(t) };
  }

  /** This node's db value at basis `t` or later, once it has it: a forwarded transaction was committed at t. */
  private async reached(t: number): Promise<Db> {
    try {
      return await this.sync(t, { signal: this.clock.timeout(this.context.leaderWaitMs) });
    } catch (error) {
      if ((error as Error).name !== 'TimeoutError') throw error;
      // Retryable (a TimeoutError would reach the client as a bug): its retry, with the same
      // idempotency key, is answered with the committed transaction.
      const basisT = this.current.db().basisT;
      return fail('db/basis-not-reached', `Database ${this.name}'s transaction was committed at t ${t}, but this node did not reach t ${t} within ${this.context.leaderWaitMs} ms (it is at t ${basisT}). Retry it with the same idempotency key (pass one to transact; a retry without it is a new transaction): it is answered with the committed transaction, not applied again.`, { database: this.name, t, basisT });
    }
  }

  /** This node's transactor, if it leads the database now; else `cluster/not-leader`. */
  private leading(log?: string): Transactor {
    const transactor = this.current;
    if (log !== undefined && log !== this.logName) {
      fail('cluster/not-leader', `Database ${this.name} on this node is another one than the caller's (deleted and made again under its name); the caller retries once it has the new one.`, { database: this.name });
    }
    if (transactor.role !== 'leader' || !this.context.keeper.isLeader(this.logName) || this.closed) {
      fail('cluster/not-leader', `This node is not the transactor of database ${this.name} (any more); the forwarding node retries at the one that is.`, { database: this.name });
    }
    return transactor;
  }

  private holderAddress(holder: LeaseHolder | null): string | null {
    return holder === null || holder.nodeId === this.context.nodeId ? null : holder.address;
  }

  /**
   * After a fence of `stale`: the same role, opened afresh from storage — once, however many
   * requests the fence failed (only while `stale` is still the transactor here).
   */
  private reopen(stale: Transactor): void {
    if (this.reopening === stale) return;
    this.reopening = stale;
    this.changeRole(async () => {
      if (this.current !== stale) return;
      const role = this.context.keeper.isLeader(this.logName) ? 'leader' : 'follower';
      await this.swap(role === 'leader' ? await this.openLeader() : await this.context.open(this.logName, role));
      if (role === 'leader') this.context.onLeading?.(this.name, this.current);
      else this.feed.follow(this.holderAddress(this.context.keeper.holder(this.logName)));
    });
  }

  /**
   * While leading: an append of the previous transactor, sent while its lease held but landed
   * after this leader read the log (the two leases overlapped — a clock jumped — or the append
   * was slow), is a log entry this leader does not have. Its own next write would be fenced and
   * reopen it; with none coming, it would stay behind — its reads, the `sync` of clients that
   * saw the later t, and the novelty it streams to followers — for good. So the log's length is
   * read every lease period, and seen past the leader twice at the same position (the first may
   * be its own append, landed and not yet answered), the leader is reopened from storage.
   * Found by the whole-system simulation (test/simulation, seed 390 of its first version).
   */
  private async checkLogEnd(): Promise<void> {
    const leader = this.current;
    if (leader.role !== 'leader' || this.closed || this.checkingLogEnd) return;
    this.checkingLogEnd = true;
    try {
      const length = await this.context.storage.logLength(this.logName);
      const position = leader.nextPosition;
      const behind = this.current === leader && !this.closed && length > position;
      if (behind && this.behindAt?.leader === leader && this.behindAt.position === position) {
        this.context.log.warn({ event: 'transactor/behind-log', database: this.name, position, length }, 'the log holds an entry this transactor did not write (an earlier transactor\'s late append); it reads the log afresh');
        this.reopen(leader);
      }
      this.behindAt = behind ? { leader, position } : null;
    } catch (error) {
      // Storage failing: the next period tries again.
      this.context.log.debug({ event: 'transactor/log-check-failed', database: this.name, error: String(error) });
    } finally {
      this.checkingLogEnd = false;
    }
  }

  private changeRole(change: () => Promise<void>): void {
    this.switching = this.switching.then(async () => {
      if (this.closed) return;
      try {
        await change();
      } catch (error) {
        this.context.log.error({ event: 'transactor/role-change-failed', database: this.name, error: String(error) }, 'could not open the database in its new role; retrying (check that storage can be read)');
      }
    });
  }

  /**
   * A leader for the lease this node holds now. When it cannot be opened, the lease is given up:
   * holding it without a transactor (a follower here, or a leader of an earlier lease, which its
   * write guard may have fenced) would stall every write. The keeper takes it back later if no
   * other node did, and `acquired` tries again.
   */
  private async openLeader(): Promise<Transactor> {
    try {
      return await this.context.open(this.logName, 'leader');
    } catch (error) {
      await this.context.keeper.stepAside(this.logName, 2 * this.context.leasePeriodMs);
      throw error;
    }
  }

  /**
   * Makes `next` the transactor here. The one before closes in the background: a leader's close
   * waits for its index run, which must not hold up the next role change (its root move fails
   * anyway: the new transactor fenced the root, or its lease is gone).
   */
  private async swap(next: Transactor): Promise<void> {
    const previous = this.current;
    this.current = next;
    if (previous.role === 'leader' && next.role === 'follower') this.context.onFollowing?.(this.name);
    // Which node wrote which log position, for operators and tests (debug level).
    if (next.role === 'leader') next.onCommitted((position, _bytes, basisT) => this.context.log.debug({ event: 'log/written', database: this.name, position, basisT }));
    this.closing.add(previous);
    previous
      .close()
      .catch((error: unknown) => this.context.log.warn({ event: 'transactor/close-failed', database: this.name, error: String(error) }, 'the transactor this node replaced did not close cleanly; nothing is lost (it no longer writes)'))
      .finally(() => this.closing.delete(previous));
  }
}
