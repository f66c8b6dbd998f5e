//! Refuses a signed request seen before. A signature is valid for its 5-minute window, and an
//! admin operation (create or delete a database, collect storage) replayed from a captured request
//! would act again; a transaction is instead made idempotent by its key (operations.ts), and a read
//! changes nothing. Signatures are remembered for the window, at most `entriesMax` of them (oldest
//! forgotten first: a flood of admin requests cannot grow memory without bound).
import { FactumError } from '../util/errors.ts';

export class ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly entriesMax = 100_000,
  ) {}

  /** Throws `auth/replayed` when `signature` was seen within the window; remembers it otherwise. */
  check(signature: string, keyId: string, nowMs: number): void {
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
