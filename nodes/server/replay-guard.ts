//! Refuses a signed request seen before. A signature is valid for its 5-minute window, and an
//! admin operation (create or delete a database, collect storage) replayed from a captured request
//! would act again; a transaction is instead made idempotent by its key (operations.ts), and a read
//! changes nothing. Signatures are remembered for the window, at most `entriesMax` of them (oldest
//! forgotten first: a flood of admin requests cannot grow memory without bound). What this process
//! saw before a restart is gone, so an admin request signed before it started is refused too (a
//! client signs again on each attempt, so only a replay meets this). Known limit: another node of
//! the group does not know what this one saw (the production topology, issue 17, needs the record
//! in storage).
import { FactumError } from '../util/errors.ts';

export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  private readonly startedMs = Date.now();

  constructor(
    private readonly windowMs: number,
    private readonly entriesMax = 100_000,
  ) {}

  /** Throws `auth/replayed` when `signature` was seen within the window, or signed before this process started; remembers it otherwise. */
  check(signature: string, keyId: string, signedMs: number, nowMs: number): void {
    if (!(signedMs >= this.startedMs)) {
      throw new FactumError('auth/replayed', `This signed admin request (access key ${keyId}) was signed before this node started, so it may have been carried out already; sign a new request to do it.`, { keyId });
    }
    for (const [old, atMs] of this.seen) {
      if (nowMs - atMs <= 2 * this.windowMs && this.seen.size < this.entriesMax) break;
      this.seen.delete(old);
    }
    if (this.seen.has(signature)) {
      throw new FactumError('auth/replayed', `This signed request (access key ${keyId}) was already received; an admin request is carried out once. Sign a new request to do it again.`, { keyId });
    }
    this.seen.set(signature, nowMs);
  }
}
