//! A follower's side of novelty to every node: it reads the transactor's stream of log entries
//! (log-feed.ts) and applies each one, and falls back on reading the log itself.
//!
//!   transactor ──['e', position, bytes]──▶ follower.applyEntry ──▶ db value, sync(t) wakes
//!              ──['r', rootT]───────────▶ follower.refreshRoot  (moves onto the new index root)
//!   every POLL_MS without an entry: follower.catchUp()  (a push lost, or no transactor yet)
//!   every ROOT_POLL_MS: follower.refreshRoot()          (a root notice lost)
//!
//! The stream is re-opened, from the follower's own next position, whenever it ends or fails
//! and whenever the lease names another transactor; so a missed push costs a log read, never a
//! transaction.
//!
//! Time (the polls, the reconnect waits) comes from a FeedClock: real time, except in the seeded
//! simulation of several nodes (seat-simulation.test.ts), which gives each node virtual time.
import type { Transactor } from '../transactor/transactor.ts';
import type { Logger } from '../server/log.ts';
import type { Peers } from './peers.ts';
import type { FeedItem } from './log-feed.ts';

const POLL_MS = 1000;
const ROOT_POLL_MS = 5000;
const RECONNECT_MS = 250;

/** Time as the feed sees it. */
export interface FeedClock {
  /** Milliseconds; only differences of one clock are used. */
  now(): number;
  /** Resolves after `ms`. */
  sleep(ms: number): Promise<void>;
  /** Calls `fn` every `ms` until the function returned is called; never keeps the process alive. */
  every(ms: number, fn: () => void): () => void;
}

/** Real time: Date.now, setTimeout, and an unref'd setInterval. */
export const realFeedClock: FeedClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export class NoveltyFeed {
  /** Bumped on every change of target: a stream of an older generation stops. */
  private generation = 0;
  private address: string | null = null;
  private lastApplied: number;
  private lastRootCheck: number;
  private readonly stopPolling: () => void;
  private stopped = false;

  /** `follower` gives this node's follower of the database, or null while it leads it. */
  constructor(
    private readonly database: string,
    private readonly follower: () => Transactor | null,
    private readonly peers: Peers,
    private readonly log: Logger,
    /** Told how long each pushed entry took from its commit on the transactor to being applied here. */
    private readonly onLag?: (lagMs: number) => void,
    private readonly clock: FeedClock = realFeedClock,
  ) {
    this.lastApplied = clock.now();
    this.lastRootCheck = clock.now();
    this.stopPolling = clock.every(POLL_MS, () => this.poll());
  }

  /** Follows the transactor at `address` (null: none known; only the log is read). */
  follow(address: string | null): void {
    if (this.stopped || address === this.address) return;
    this.address = address;
    const generation = ++this.generation;
    if (address !== null) void this.run(address, generation);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.address = null;
    this.stopPolling();
  }

  private async run(address: string, generation: number): Promise<void> {
    let failures = 0;
    while (generation === this.generation) {
      const follower = this.follower();
      if (follower === null) return;
      try {
        const chunks = this.peers.at(address).streamChunks('internalFollow', { database: this.database, log: follower.logName, from: follower.nextPosition });
        for await (const chunk of chunks) {
          if (generation !== this.generation || this.follower() !== follower) break;
          for (const item of chunk as FeedItem[]) await this.apply(follower, item);
          failures = 0;
        }
      } catch (error) {
        // The transactor stopped leading, died or restarts: the lease names the next one (follow
        // is called then); meanwhile the log is read every POLL_MS.
        if (failures++ === 0) this.log.debug({ event: 'novelty/stream-ended', database: this.database, address, error: String(error) });
      }
      await this.clock.sleep(Math.min(RECONNECT_MS * 2 ** Math.min(failures, 4), 4000));
    }
  }

  private async apply(follower: Transactor, item: FeedItem): Promise<void> {
    if (item[0] === 'e') {
      await follower.applyEntry(item[1], item[2]);
      this.lastApplied = this.clock.now();
      const sentMs = item[3];
      if (sentMs !== undefined) {
        const lagMs = Date.now() - sentMs; // wall clocks of two nodes: sentMs is the transactor's Date.now (log-feed.ts)
        this.log.debug({ event: 'novelty/applied', database: this.database, position: item[1], lagMs });
        this.onLag?.(lagMs);
      }
    } else if (item[0] === 'h') {
      // The transactor has nothing newer, and the stream is alive: no log read needed meanwhile.
      this.lastApplied = this.clock.now();
    } else if (item[0] === 'r') {
      await follower.refreshRoot();
      this.lastRootCheck = this.clock.now();
    }
  }

  /** The fallback: the log and the root read directly, when the stream has been quiet. */
  private poll(): void {
    const follower = this.follower();
    if (follower === null || this.stopped) return;
    const now = this.clock.now();
    if (now - this.lastApplied >= POLL_MS) {
      this.lastApplied = now;
      follower.catchUp().catch((error: unknown) => this.log.warn({ event: 'novelty/catch-up-failed', database: this.database, error: String(error) }, 'could not read the log to catch up; retrying'));
    }
    if (now - this.lastRootCheck >= ROOT_POLL_MS) {
      this.lastRootCheck = now;
      follower.refreshRoot().catch((error: unknown) => this.log.warn({ event: 'novelty/root-read-failed', database: this.database, error: String(error) }, 'could not read the index root; retrying'));
    }
  }
}
