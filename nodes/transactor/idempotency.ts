//! Idempotency keys: a client that lost the answer to a transaction (a network reset, a node
//! killed between the durable log write and the response, a failover) sends it again with the
//! same key, and gets the original answer; the transaction is applied once.
//!
//! The guarantee: a retry within the window — `idempotencyWindowMs` after the original was
//! committed, by the transactor's clock when its log entry was written (`committedMs`), and among
//! the newest `idempotencyKeysMax` keys — is answered with the original transaction (its t,
//! tempids and datoms) and writes nothing. After the window a retry is a new transaction. The
//! window is never measured from the transaction's :db/txInstant: a transaction may set that in
//! the past (an import of old history keeps its dates), and would be outside the window the
//! moment it commits. A retry while the original is still queued or being written waits for it:
//! if the original is written, the retry gets its answer; if it was refused or not written,
//! nothing of it is in the log and the retry is processed afresh.
//!
//! Where keys live:
//!
//!   log entry (version 2)  committedMs; key + tempids with each keyed transaction  (log-record.ts)
//!   committed              key → t, log position, committedMs; in t order     this module, in memory
//!   inFlight               key → the original's outcome, while it is queued or being written
//!
//! A key is in at most one of committed and inFlight, and moves from one to the other in the same
//! synchronous step as the log write is counted durable, so no second submission slips between.
//! A submission checks both before it is queued: one key is never queued twice, so a group-commit
//! batch (or a batch prepared while another is written) never carries two of one key.
//!
//! On open the transactor reads the log after the index root, keys included. Keys before the
//! root are found by reading the log backwards from the root's position, page by page, until an
//! entry written before the window or `keysMax` keys: the older keys. Entries are written in log
//! order, so an entry written before the window has only such entries before it. When an entry
//! was written: a version-2 entry records it (committedMs); a version-1 entry has no key, and was
//! written at most PLAIN_INSTANT_LAG_MS_MAX after the :db/txInstant of its transactions (else it
//! would be version 2, log-record.ts), so it is before the window when its first instant is
//! before the window by more than that. That read runs before the first key is looked up: at
//! open when the log after the root holds keys (clients use them), else on the first keyed
//! transaction, so a database used without keys never reads it.
import type { TxReport } from '../db/db.ts';
import type { Storage } from '../storage/protocol.ts';
import { AssertionError, assert } from '../util/assert.ts';
import { fail } from '../util/errors.ts';
import { decodeLogEntry, IDEMPOTENCY_KEY_PATTERN, PLAIN_INSTANT_LAG_MS_MAX, txInstantMsOf, type LogEntryTransaction } from './log-record.ts';

/** A committed keyed transaction: where its log entry is, and when it was written. */
export interface CommittedKey {
  readonly t: number;
  /** The log position of the entry holding it (read back to answer a retry). */
  readonly position: number;
  /** The transactor's clock when its log entry was written: the window is measured from it. */
  readonly committedMs: number;
}

/** Entries read per page when the log is read backwards. */
const BACKWARD_PAGE = 64;

/** The key given with a transaction, checked; undefined when none was given. */
export function checkIdempotencyKey(options: { readonly idempotencyKey?: unknown } | undefined): string | undefined {
  const key = options?.idempotencyKey;
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(key)) {
    const given = typeof key === 'string' ? JSON.stringify(key.length > 200 ? `${key.slice(0, 200)}…` : key) : `a ${key === null ? 'null' : typeof key}`;
    fail('transact/invalid-idempotency-key', `Idempotency key ${given} is not valid: expected a string of 1 to 128 letters, digits, '.', '_', ':' or '-'. Nothing was written.`, {
      idempotencyKey: key,
    });
  }
  return key;
}

/** The committed entry of a keyed transaction read from position `position` of the log. */
export function committedKeyOf(logged: LogEntryTransaction, position: number): [string, CommittedKey] {
  const key = logged.idempotencyKey;
  assert(key !== undefined, 'committedKeyOf a transaction without a key');
  // Checked after the read: keys are only written in version-2 entries, which say when.
  if (logged.committedMs === undefined) throw new AssertionError(`keyed transaction t ${logged.t} at log position ${position} has no commit time`);
  return [key, { t: logged.t, position, committedMs: logged.committedMs }];
}

export interface IdempotencyLimits {
  readonly windowMs: number;
  readonly keysMax: number;
}

const WINDOW_MS_DEFAULT = 3_600_000;
const KEYS_MAX_DEFAULT = 100_000;

/** The limits set by the transactor's options (TransactorOptions), checked, with their defaults. */
export function idempotencyLimitsOf(options: { readonly idempotencyWindowMs?: number; readonly idempotencyKeysMax?: number }): IdempotencyLimits {
  const windowMs = options.idempotencyWindowMs ?? WINDOW_MS_DEFAULT;
  const keysMax = options.idempotencyKeysMax ?? KEYS_MAX_DEFAULT;
  if (typeof windowMs !== 'number' || !(windowMs >= 0) || !Number.isFinite(windowMs)) {
    fail('client/invalid-config', `idempotencyWindowMs ${String(windowMs)} is not valid: expected a finite number of milliseconds, 0 or more.`, { idempotencyWindowMs: windowMs });
  }
  if (!Number.isSafeInteger(keysMax) || keysMax < 0) {
    fail('client/invalid-config', `idempotencyKeysMax ${String(keysMax)} is not valid: expected a whole number, 0 or more.`, { idempotencyKeysMax: keysMax });
  }
  return { windowMs, keysMax };
}

export class IdempotencyKeys {
  /** Committed keys in t order (so in commit order): the oldest is first, evicted first. */
  private committed = new Map<string, CommittedKey>();
  private readonly inFlight = new Map<string, { readonly outcome: Promise<TxReport | null>; readonly settle: (report: TxReport | null) => void }>();
  /** Reads the keys before the first position read at open; null once they are in `committed`. */
  private loadOlder: ((room: number) => Promise<Array<[string, CommittedKey]>>) | null = null;
  private loading: Promise<void> | null = null;

  constructor(
    readonly limits: IdempotencyLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys read from the log at open, in t order. */
  opened(keys: ReadonlyArray<[string, CommittedKey]>, loadOlder: ((room: number) => Promise<Array<[string, CommittedKey]>>) | null): void {
    for (const [key, committed] of keys) this.add(key, committed);
    this.loadOlder = loadOlder;
    this.evict();
    // Clients that used keys recently will retry soon after a restart: read the older ones now.
    if (keys.length > 0) this.ready()?.catch(() => undefined); // a failure is retried by the first ready() that needs it
  }

  /** Resolves once the older keys are known; null when they already are (the usual case). */
  ready(): Promise<void> | null {
    const load = this.loadOlder;
    if (load === null) return null;
    this.loading ??= load(Math.max(0, this.limits.keysMax - this.committed.size)).then(
      (older) => {
        // Older keys go first: the map stays in t order, so eviction still takes the oldest.
        const newer = this.committed;
        this.committed = new Map();
        for (const [key, committed] of older) this.add(key, committed);
        for (const [key, committed] of newer) this.add(key, committed);
        this.loadOlder = null;
        this.loading = null;
        this.evict();
      },
      (error: unknown) => {
        this.loading = null; // the next ready() reads again
        throw error;
      },
    );
    return this.loading;
  }

  /** Waits for a read of older keys to end (close: nothing reads storage after it). */
  async idle(): Promise<void> {
    await this.loading?.catch(() => undefined); // its error was or will be given to whoever needed the keys
  }

  /** The committed transaction of `key`, if it is within the window. */
  find(key: string): CommittedKey | undefined {
    this.evict();
    return this.committed.get(key);
  }

  /** The outcome of the original while it is queued or being written: its report, or null if it was not written. */
  pending(key: string): Promise<TxReport | null> | undefined {
    return this.inFlight.get(key)?.outcome;
  }

  /** The original of `key` is queued. */
  begin(key: string): void {
    assert(!this.inFlight.has(key) && !this.committed.has(key), 'a key queued twice');
    let settle: (report: TxReport | null) => void = () => undefined;
    const outcome = new Promise<TxReport | null>((resolve) => (settle = resolve));
    this.inFlight.set(key, { outcome, settle });
  }

  /** The original of `key` is durable: from now on it is committed. */
  commit(key: string, committed: CommittedKey, report: TxReport): void {
    const flight = this.inFlight.get(key);
    assert(flight !== undefined, 'a key committed that was not queued');
    this.inFlight.delete(key);
    this.add(key, committed);
    flight.settle(report);
    this.evict();
  }

  /** The original of `key` was refused or not written: a retry is processed afresh. */
  abandon(key: string): void {
    const flight = this.inFlight.get(key);
    if (flight === undefined) return; // committed already (answered after its write)
    this.inFlight.delete(key);
    flight.settle(null);
  }

  /** Keys committed and within limits (for tests and metrics). */
  get size(): number {
    return this.committed.size;
  }

  /**
   * Adds a key in t order. A key can be in the log twice: once forgotten (past `keysMax`), a
   * retry is a new transaction. Read back, the later one answers: it moves to the end.
   */
  private add(key: string, committed: CommittedKey): void {
    const earlier = this.committed.get(key);
    if (earlier !== undefined) {
      if (earlier.t >= committed.t) throw new AssertionError(`idempotency key ${key} added out of t order (t ${committed.t} after t ${earlier.t})`);
      this.committed.delete(key);
    }
    this.committed.set(key, committed);
  }

  private evict(): void {
    const { windowMs, keysMax } = this.limits;
    const cutoff = this.now() - windowMs;
    for (const [key, committed] of this.committed) {
      if (this.committed.size <= keysMax && committed.committedMs >= cutoff) break;
      this.committed.delete(key);
    }
  }
}

/**
 * The keyed transactions before log position `before`, in t order: the log read backwards, a page
 * at a time, until an entry written before the window (see the header), the start of the log,
 * or `room` keys.
 */
export async function readKeysBefore(storage: Storage, log: string, before: number, limits: IdempotencyLimits, room: number, now: number): Promise<Array<[string, CommittedKey]>> {
  const cutoff = now - limits.windowMs;
  const found: Array<[string, CommittedKey]> = []; // newest first
  let end = before;
  while (end > 0 && found.length < room) {
    const start = Math.max(0, end - BACKWARD_PAGE);
    const page: Array<{ position: number; transactions: LogEntryTransaction[] }> = [];
    for await (const entry of storage.readLog(log, start, end)) page.push({ position: entry.position, transactions: decodeLogEntry(entry.bytes, entry.position) });
    assert(page.length === end - start, `log read of positions ${start}..${end} returned ${page.length} entries`);
    for (let i = page.length - 1; i >= 0; i--) {
      const { position, transactions } = page[i]!;
      // Entries are written in log order: one written before the window has only such before it.
      if (writtenBefore(transactions, cutoff)) return found.reverse();
      for (let j = transactions.length - 1; j >= 0; j--) {
        const logged = transactions[j]!;
        if (logged.idempotencyKey === undefined) continue;
        found.push(committedKeyOf(logged, position));
        if (found.length >= room) return found.reverse();
      }
    }
    end = start;
  }
  return found.reverse();
}

/** Whether the entry holding `transactions` was written before `cutoff` (see the header). */
function writtenBefore(transactions: readonly LogEntryTransaction[], cutoff: number): boolean {
  const first = transactions[0];
  if (first === undefined) return false;
  if (first.committedMs !== undefined) return first.committedMs < cutoff;
  const txInstantMs = txInstantMsOf(first); // the earliest of the entry: instants never go backwards along t
  return txInstantMs !== null && txInstantMs + PLAIN_INSTANT_LAG_MS_MAX < cutoff;
}

/** The keyed transaction `committed` names, read back from its log entry. */
export async function readCommitted(storage: Storage, log: string, key: string, committed: CommittedKey): Promise<LogEntryTransaction> {
  let found: LogEntryTransaction | undefined;
  for await (const entry of storage.readLog(log, committed.position, committed.position + 1)) {
    found = decodeLogEntry(entry.bytes, entry.position).find((logged) => logged.t === committed.t);
  }
  // Checked after the read: the entry the key map names must hold this key's transaction.
  if (found === undefined || found.idempotencyKey !== key) {
    throw new AssertionError(`log position ${committed.position} does not hold transaction t ${committed.t} of idempotency key ${key}`);
  }
  return found;
}
