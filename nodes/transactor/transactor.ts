//! The transactor of one database: processes transactions strictly one after another, appends
//! them to the log, and publishes the new db value only once the log write is durable.
//!
//! Group commit: while one log write is in flight, new transactions queue; the next write carries
//! all of them in one log entry (one fsync locally, one conditional put on DynamoDB). Each is
//! processed against the db value its predecessor produced, and each submitter is answered only
//! after the entry holding its transaction is durable.
//!
//!   submit ──▶ queue ──▶ [process t, t+1, t+2 in memory] ──▶ appendLog(position) ──▶ acknowledge
//!
//! The position condition is the fence: if another writer took the position, nothing of this
//! batch is acknowledged and this transactor stops accepting writes.
import type { Datom } from '../datom/datom.ts';
import type { Db, TxReport } from '../db/db.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError } from '../util/errors.ts';
import { emptyDb } from '../db/empty-db.ts';
import { replay } from '../tx/replay.ts';
import '../tx/transact.ts';
import { decodeLogEntry, encodeLogEntry } from './log-record.ts';

interface Pending {
  readonly txData: unknown;
  readonly resolve: (report: TxReport) => void;
  readonly reject: (error: unknown) => void;
}

export interface TxRangeEntry {
  readonly t: number;
  readonly data: readonly Datom[];
}

/** Transactions per log entry at most, to bound entry size. */
const BATCH_MAX = 256;

export class Transactor {
  private current: Db;
  private position: number;
  /** The first t held by each log position, for txRange. */
  private readonly firstTs: number[];
  private readonly queue: Pending[] = [];
  private writing = false;
  private fenced: FactumError | null = null;
  private closed = false;
  private readonly syncWaiters: Array<{ t: number; resolve: (db: Db) => void; reject: (error: unknown) => void }> = [];

  private constructor(
    private readonly storage: Storage,
    private readonly log: string,
    db: Db,
    position: number,
    firstTs: number[],
  ) {
    this.current = db;
    this.position = position;
    this.firstTs = firstTs;
  }

  /** Opens a database by replaying its log from the start (durable indexes come later). */
  static async open(storage: Storage, log: string): Promise<Transactor> {
    let db = emptyDb();
    const firstTs: number[] = [];
    let position = 0;
    for await (const entry of storage.readLog(log, 0)) {
      const transactions = decodeLogEntry(entry.bytes, entry.position);
      if (transactions.length > 0) firstTs.push(transactions[0]!.t);
      for (const logged of transactions) db = replay(db, logged);
      position = entry.position + 1;
    }
    return new Transactor(storage, log, db, position, firstTs);
  }

  db(): Db {
    return this.current;
  }

  transact(txData: unknown): Promise<TxReport> {
    if (this.closed) return Promise.reject(new FactumError('client/closed', 'This connection is closed; connect again to transact.', {}));
    if (this.fenced !== null) return Promise.reject(this.fenced);
    return new Promise((resolve, reject) => {
      this.queue.push({ txData, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        void this.flush();
      }
    });
  }

  /** Resolves with a db value whose basis is at least `t`. */
  sync(t?: number): Promise<Db> {
    if (t === undefined || this.current.basisT >= t) return Promise.resolve(this.current);
    if (this.closed) return Promise.reject(new FactumError('client/closed', 'This connection is closed.', {}));
    return new Promise((resolve, reject) => this.syncWaiters.push({ t, resolve, reject }));
  }

  /** Transactions with `start <= t < end`, read from the log in order. */
  async *txRange(start = 1, end = Number.MAX_SAFE_INTEGER): AsyncGenerator<TxRangeEntry> {
    let from = 0;
    let lo = 0;
    let hi = this.firstTs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.firstTs[mid]! <= start) {
        from = mid;
        lo = mid + 1;
      } else hi = mid;
    }
    const until = this.position;
    for await (const entry of this.storage.readLog(this.log, from, until)) {
      for (const logged of decodeLogEntry(entry.bytes, entry.position)) {
        if (logged.t >= end) return;
        if (logged.t >= start) yield { t: logged.t, data: logged.datoms };
      }
    }
  }

  close(): void {
    this.closed = true;
    const error = new FactumError('client/closed', 'The connection was closed before this transaction was written.', {});
    for (const pending of this.queue.splice(0)) pending.reject(error);
    for (const waiter of this.syncWaiters.splice(0)) waiter.reject(error);
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.fenced === null) {
        const batch = this.queue.splice(0, BATCH_MAX);
        await this.commit(batch);
      }
    } finally {
      this.writing = false;
    }
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    let db = this.current;
    const accepted: Array<{ pending: Pending; report: TxReport }> = [];
    for (const pending of batch) {
      try {
        const report = db.with(pending.txData);
        accepted.push({ pending, report });
        db = report.dbAfter;
      } catch (error) {
        pending.reject(error);
      }
    }
    if (accepted.length === 0) return;
    const bytes = encodeLogEntry(
      accepted.map(({ report }) => ({
        t: report.dbAfter.basisT,
        datoms: report.txData,
        nextUserN: report.dbAfter.state.nextUserN,
        nextDbN: report.dbAfter.state.nextDbN,
      })),
    );
    let written: boolean;
    try {
      written = await this.storage.appendLog(this.log, this.position, bytes);
    } catch (error) {
      try {
        written = await this.writtenDespite(error, bytes);
      } catch (failure) {
        // Not written: nothing of this batch is acknowledged; later transactions go on from the durable db.
        for (const { pending } of accepted) pending.reject(failure);
        return;
      }
    }
    if (!written) {
      this.fenced = new FactumError('storage/conflict', `Another writer appended to this database's log at position ${this.position}; this connection can no longer transact. Reconnect to continue.`, { position: this.position });
      for (const { pending } of accepted) pending.reject(this.fenced);
      for (const pending of this.queue.splice(0)) pending.reject(this.fenced);
      return;
    }
    this.firstTs.push(accepted[0]!.report.dbAfter.basisT);
    this.position++;
    this.current = db;
    for (const { pending, report } of accepted) pending.resolve(report);
    this.wakeSyncWaiters();
  }

  /**
   * A failed append may still have been written (the failure came after the write). Reads the
   * position back: our bytes there mean the batch is committed; anything else rethrows.
   */
  private async writtenDespite(error: unknown, bytes: Uint8Array): Promise<boolean> {
    let stored: Uint8Array | null = null;
    try {
      for await (const entry of this.storage.readLog(this.log, this.position, this.position + 1)) stored = entry.bytes;
    } catch {
      throw error;
    }
    if (stored === null) throw error;
    if (Buffer.compare(Buffer.from(stored), Buffer.from(bytes)) === 0) return true;
    return false;
  }

  private wakeSyncWaiters(): void {
    for (let i = this.syncWaiters.length - 1; i >= 0; i--) {
      const waiter = this.syncWaiters[i]!;
      if (this.current.basisT >= waiter.t) {
        this.syncWaiters.splice(i, 1);
        waiter.resolve(this.current);
      }
    }
  }
}
