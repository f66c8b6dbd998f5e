//! Who waits in `Transactor.sync` for a basis t the database has not reached yet.
//!
//! Invariants: a waiter is in the set until exactly one of these answers it — `wake` once the db
//! value reaches its t (resolved with that db value), `rejectAll` at close, or its abort signal
//! (rejected at once, and its listener removed on any answer) — so an abandoned wait leaves
//! nothing behind once aborted.
import type { Db } from '../db/db.ts';
import { FactumError } from '../util/errors.ts';

interface SyncWaiter {
  readonly t: number;
  readonly resolve: (db: Db) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Why a `sync` of `database` stopped waiting for `t`: the signal's reason when that is an Error
 * (AbortSignal.timeout gives a TimeoutError), else `db/basis-not-reached`.
 */
export function syncAborted(signal: AbortSignal, database: string, t: number | undefined, basisT: number): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new FactumError('db/basis-not-reached', `Stopped waiting for database ${database} to reach t ${t ?? 'now'} (it is at t ${basisT}): the wait was aborted (${String(reason)}).`, {
    database,
    t,
    basisT,
  });
}

export class SyncWaiters {
  private readonly waiters = new Set<SyncWaiter>();

  /** `current` gives the db value of `database` as it is now. */
  constructor(
    private readonly database: string,
    private readonly current: () => Db,
  ) {}

  /** Resolves once `wake` sees a basis of at least `t`; an aborted `signal` rejects it and ends the wait. */
  wait(t: number, signal: AbortSignal | undefined): Promise<Db> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        if (this.waiters.delete(waiter)) reject(syncAborted(signal!, this.database, t, this.current().basisT));
      };
      const waiter: SyncWaiter = {
        t,
        resolve: (db) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(db);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Answers every waiter whose t the current db value has reached. */
  wake(): void {
    for (const waiter of this.waiters) {
      const current = this.current();
      if (current.basisT >= waiter.t) {
        this.waiters.delete(waiter); // deleting the entry being visited is safe in a Set
        waiter.resolve(current);
      }
    }
  }

  /** Answers every waiter with `error` (close). */
  rejectAll(error: unknown): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Waits not yet answered. */
  get size(): number {
    return this.waiters.size;
  }
}
