//! A client of the whole-system simulation: it sends list-append transactions, one at a time, to
//! random running nodes, and records each as an invocation and a completion in the history (the
//! shape test/checker reads: Jepsen's ops). It retries what a client retries — an error of
//! category busy, unavailable, interrupted or fault, or no answer within its timeout — always
//! with the transaction's idempotency key, so a transaction is applied at most once however
//! often it is sent; anything else is a bug of the node, reported.
//!
//! A completion is `ok` with the reads filled in and the transaction's t (a read-only
//! transaction's basis), `fail` (a doomed transaction, one in 20 of those with appends: refused
//! whole by the transactor, `value/wrong-type`), or `info` (indeterminate: the run ended while it
//! was still being sent).
//! Clients run on virtual time in processes that never fail: they outlive the nodes.
import type { VirtualProcess } from '../../nodes/cluster/lease-test-support.ts';
import type { SimulatedNetwork } from '../../nodes/cluster/seat-test-support.ts';
import { FactumError, isFactumError } from '../../nodes/util/errors.ts';
import type { History } from '../checker/history.ts';
import type { Key, MicroOp, TxnAnswer } from './list-append-operations.ts';

/** What a client needs of the simulation. */
export interface ClientWorld {
  readonly network: SimulatedNetwork;
  /** The databases' names, in order (a key names its database's index). */
  readonly databaseNames: readonly string[];
  readonly keysPerDatabase: number;
  /** A node address to send to now (a running node), or null when none runs. */
  target(random: number): string | null;
  /** A unique element to append. */
  nextElement(): number;
  /** Where invocations and completions are recorded (test/checker's recorder). */
  readonly history: History;
  /** Told each completion (the run's event list). */
  completed(process: number, type: string, t?: number): void;
  problem(what: string): void;
  trace(who: string, what: string): void;
}

export const clientTimeoutMs = 10_000;

/** A transaction of 1 to 4 micro-ops on the keys of one database, appending to a key at most once. */
export function generateTxn(random: () => number, world: ClientWorld): { database: number; txn: MicroOp[] } {
  const databases = world.databaseNames.length;
  const database = Math.floor(random() * databases);
  const length = 1 + Math.floor(random() * 4);
  const appended = new Set<Key>();
  const txn: MicroOp[] = [];
  for (let n = 0; n < length; n++) {
    const key = `${database}.${Math.floor(random() * world.keysPerDatabase)}`;
    if (random() < 0.5 || appended.has(key)) txn.push(['r', key, null]);
    else {
      appended.add(key);
      txn.push(['append', key, world.nextElement()]);
    }
  }
  return { database, txn };
}

function retryable(error: unknown): boolean {
  return isFactumError(error) && (error.category === 'busy' || error.category === 'unavailable' || error.category === 'interrupted' || error.category === 'fault');
}

export class ListAppendClient {
  /** The transaction being sent, if any (recorded as info if the run ends first). */
  pending: { readonly txn: readonly MicroOp[] } | null = null;
  /** The last t this client saw in each database (its session). */
  private readonly seen: number[];
  retries = 0;
  /** Answers that were a retry of a committed transaction (its first answer was lost). */
  duplicates = 0;
  /** The errors this client was answered, by code (all retried but doomed transactions' refusals). */
  readonly errors = new Map<string, number>();

  constructor(
    readonly id: number,
    private readonly process: VirtualProcess,
    private readonly random: () => number,
    private readonly world: ClientWorld,
  ) {
    this.seen = world.databaseNames.map(() => 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => this.process.timers.setTimeout(resolve, ms));
  }

  /** Sends transactions until `invoking()` says stop; each is sent until it is answered (or the run ends). */
  async run(invoking: () => boolean): Promise<void> {
    for (let n = 0; invoking(); n++) {
      await this.sleep(50 + this.random() * 350);
      if (!invoking()) return;
      const { database, txn } = generateTxn(this.random, this.world);
      const doomed = txn.some((op) => op[0] === 'append') && this.random() < 0.05;
      const key = `c${this.id}-${n}`;
      this.pending = { txn };
      this.world.history.invoke(this.id, txn, this.process.time.nowMs);
      const answer = await this.send(database, txn, key, doomed);
      this.pending = null;
      if (answer === 'refused') {
        this.world.history.complete(this.id, 'fail', null, this.process.time.nowMs);
        this.world.completed(this.id, 'fail');
        continue;
      }
      this.seen[database] = Math.max(this.seen[database]!, answer.t);
      this.world.history.complete(this.id, 'ok', answer.txn, this.process.time.nowMs, answer.t);
      this.world.completed(this.id, 'ok', answer.t);
    }
  }

  /** The answer, or 'refused' when a doomed transaction was refused as expected. */
  private async send(database: number, txn: readonly MicroOp[], idempotencyKey: string, doomed: boolean): Promise<TxnAnswer | 'refused'> {
    const args = { database: this.world.databaseNames[database], txn, idempotencyKey, basisT: this.seen[database], doomed };
    for (let attempt = 0; ; attempt++) {
      const address = this.world.target(this.random());
      try {
        if (address === null) throw new FactumError('client/network', 'simulated: no node runs', {});
        const answer = (await this.withTimeout(this.world.network.call(this.process, address, 'txn', args))) as TxnAnswer;
        if (doomed) this.world.problem(`client ${this.id}: doomed ${idempotencyKey} was committed at t ${answer.t}`);
        if (answer.duplicate) this.duplicates++;
        this.world.trace(`c${this.id}`, `${idempotencyKey} answered by ${address} at t ${answer.t}${answer.duplicate ? ' (duplicate)' : ''}`);
        return answer;
      } catch (error) {
        this.world.trace(`c${this.id}`, `${idempotencyKey} to ${address ?? 'none'}: ${isFactumError(error) ? error.code : 'error'} ${String((error as Error).message)}`);
        const code = isFactumError(error) ? error.code : 'not a FactumError';
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        if (doomed && isFactumError(error, 'value/wrong-type')) return 'refused';
        if (!retryable(error)) this.world.problem(`client ${this.id}: ${idempotencyKey} got an error a client does not retry: ${String(error)}`);
        this.retries++;
        await this.sleep(this.random() * Math.min(2000, 50 * 2 ** Math.min(attempt, 6))); // the remote client's backoff
      }
    }
  }

  /** The call's answer, or `client/timeout` after clientTimeoutMs (the call's late answer is dropped). */
  private withTimeout<T>(call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = this.process.timers.setTimeout(() => {
        if (done) return;
        done = true;
        reject(new FactumError('client/timeout', `simulated: no answer within ${clientTimeoutMs} ms`, { timeoutMs: clientTimeoutMs }));
      }, clientTimeoutMs);
      call.then(
        (value) => {
          if (done) return;
          done = true;
          this.process.timers.clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          if (done) return;
          done = true;
          this.process.timers.clearTimeout(timer);
          reject(error as Error);
        },
      );
    });
  }
}
