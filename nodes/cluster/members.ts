//! The primary nodes alive now, for spreading databases' transactors across them: one
//! compare-and-swap record (`members/primary`) where each primary node writes, every heartbeat, the
//! time by its own clock; a node not seen for STALE_PERIODS lease periods is gone.
//!
//! Only the spreading of leases reads it (cluster.ts rebalance), never safety: a wrong view (clocks
//! apart, a write lost) moves a lease one time too many or too few, and the lease and the log's
//! condition stay the fences.
import type { Storage } from '../storage/protocol.ts';
import { isFactumError } from '../util/errors.ts';

const MEMBERS_KEY = 'members/primary';
/** Heartbeats come every period: two missed, the node is gone. */
const STALE_PERIODS = 2;
const ATTEMPTS_MAX = 5;

type Seen = Record<string, number>;

export class Members {
  private live: readonly string[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly nodeId: string,
    private readonly periodMs: number,
  ) {}

  /** The primary nodes seen alive at the last heartbeat (this one included). */
  get nodeIds(): readonly string[] {
    return this.live;
  }

  /** Writes this node's time and drops nodes gone stale; false when storage did not answer (the view is unchanged). */
  async heartbeat(nowMs = Date.now()): Promise<boolean> {
    for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      try {
        const stored = await this.storage.getRecord(MEMBERS_KEY);
        const seen: Seen = stored === null ? {} : parseSeen(stored.bytes);
        const next: Seen = { [this.nodeId]: nowMs };
        for (const [nodeId, atMs] of Object.entries(seen)) {
          if (nodeId !== this.nodeId && nowMs - atMs < STALE_PERIODS * this.periodMs) next[nodeId] = atMs;
        }
        if (await this.storage.casRecord(MEMBERS_KEY, stored?.version ?? null, new TextEncoder().encode(JSON.stringify(next)))) {
          this.live = Object.keys(next).sort();
          return true;
        }
      } catch (error) {
        if (!isFactumError(error)) throw error;
        return false;
      }
    }
    return false;
  }

  /** Takes this node out at once (a graceful stop), so the others rebalance without waiting for it to go stale. */
  async leave(): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      try {
        const stored = await this.storage.getRecord(MEMBERS_KEY);
        if (stored === null) return;
        const seen = parseSeen(stored.bytes);
        if (!(this.nodeId in seen)) return;
        delete seen[this.nodeId];
        if (await this.storage.casRecord(MEMBERS_KEY, stored.version, new TextEncoder().encode(JSON.stringify(seen)))) return;
      } catch (error) {
        if (!isFactumError(error)) throw error;
        return;
      }
    }
  }
}

/** A members record as written above; anything else counts as empty (it is rewritten at the next heartbeat). */
function parseSeen(bytes: Uint8Array): Seen {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const out: Seen = {};
    for (const [nodeId, atMs] of Object.entries(value)) if (typeof atMs === 'number' && Number.isFinite(atMs)) out[nodeId] = atMs;
    return out;
  } catch {
    return {};
  }
}
