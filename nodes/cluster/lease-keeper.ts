//! The transactor lease of each database: which node is its transactor. One compare-and-swap record
//! per database (lease-record.ts) is taken and renewed by the primary nodes and read by every node,
//! so that a node that is not the transactor knows where to forward a transaction.
//!
//!   holder H  start=now ─CAS v→v+1─▶ ok: H believes it holds until start+period; again every period/3
//!   other  O  read v (first at t0) … read v … read v ───── t0 + period×1.01 (O's clock) ─CAS v→v+1─▶ O holds
//!
//! Safety rests on clocks running at about the same rate, never on two machines' clocks agreeing:
//! - A holder takes `start = clock.now()` before it sends the CAS and, when the CAS succeeds,
//!   believes it holds the lease until `start + periodMs`. The write landed after `start`.
//! - Another node takes the lease only by a CAS from a version it has seen unchanged for the
//!   record's periodMs × (1 + clockRateErrorMax) by its own clock, counted from the first read that
//!   returned that version (the time taken after the read answered, so after the write landed).
//!   So its CAS is sent after the belief that version gave has ended; and if the holder renewed
//!   meanwhile, the CAS fails. Two beliefs never overlap. The 1% margin covers clock rates that
//!   differ by up to 1% (quartz differs by 0.01%).
//! - A record that is absent or marked released may be taken at once: no belief rests on it. A
//!   record naming this keeper (its node id and its random incarnation, so that two processes
//!   given the same node id are still told apart) is its own: it is written again at once, since
//!   no other node can believe in it. That is how a write whose answer was lost (an ambiguous
//!   timeout that landed) is recovered without waiting a period. For the same reason a `watch` of
//!   a log this keeper is still unwatching starts once that release is done: the release, retried
//!   on the record naming this keeper, would otherwise free the new claim.
//! - A corrupt record (`storageFailed` tells `storage/corrupt`) counts as a lease of an unknown node
//!   with this node's period: taken over once its version stood still that long, so a damaged
//!   record does not stop the database's writes for good. The rules above are in lease-view.ts.
//! - A renewal refused by its CAS means another node wrote the record: `lost` at once. A renewal
//!   that fails (storage unavailable) is retried until the belief runs out: `lost` then. Once the
//!   belief has run out, `lost` is always told, and a new belief always comes with `acquired`.
//! - `isLeader` and `guard` compare `clock.now()` with the belief's end on every call, so a process
//!   paused past it (SIGSTOP, a long GC) stops being the leader the moment it runs again, before
//!   any timer of it fires.
//!
//! The lease is an optimization, not the fence. The transactor calls `guard(log)` right before each
//! log write, but the write can land after the belief ended (it was slow, or the process paused
//! between the two); then the log's conditional append refuses it if another transactor wrote that
//! position (Invariant 2). The default clock, performance.now(), is monotonic and runs on through
//! SIGSTOP, but stops while a whole VM is suspended: such a pause the lease cannot see, and the
//! log's condition still fences it.
//!
//! Spreading databases across nodes: a node that finds a lease free claims it after a stagger of
//! min(leases it holds or is claiming, 4) × periodMs/8 plus a jitter below periodMs/16, so the node
//! holding fewer wins. Failover after a holder dies: its last renewal is read within periodMs/4,
//! then periodMs × 1.01 passes, then at most periodMs/2 + periodMs/16 of stagger, then a read and a
//! CAS: about 1.83 × periodMs plus three storage calls, within 2 × periodMs + 1 s. A graceful
//! `unwatch`/`stop` writes a released record, so another node takes over after its stagger alone.
//!
//! Nothing leaks: per database at most one step timer and one expiry timer (the default ones
//! unref'd). `unwatch`/`stop` clear them, wait for the storage call in flight (backends end every
//! call: they time out), release what this node holds, and tell no event after they resolve.
import { randomUUID } from 'node:crypto';
import type { Storage, VersionedRecord } from '../storage/protocol.ts';
import { checkKey } from '../storage/check-arguments.ts';
import { AssertionError } from '../util/assert.ts';
import { fail, FactumError, isFactumError } from '../util/errors.ts';
import { leaseExpired, leaseReleased, leaseTaken, noLeaseHolder, notLeaseHolder } from './lease-errors.ts';
import { decodeLeaseRecord, encodeLeaseRecord, leaseKey, type LeaseRecord } from './lease-record.ts';
import { sameBytes, unchanged, viewLease, type Observation, type View, type Viewer } from './lease-view.ts';

export interface LeaseHolder {
  readonly nodeId: string;
  readonly address: string;
}

/** Monotonic milliseconds. Only differences of one clock are used, never compared across nodes. */
export interface LeaseClock {
  now(): number;
}

export interface LeaseTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface LeaseSettings {
  /** Names this node in the record, events and messages; unique per process (a process reusing one is still told apart by the keeper's random incarnation). */
  readonly nodeId: string;
  /** This node's internal endpoint, e.g. http://10.0.1.5:8182. */
  readonly address: string;
  /** The lease period: a holder that stops renewing is replaced within 2 × periodMs + 1 s. */
  readonly periodMs: number;
  /** false for query-group nodes: they only watch who holds leases, and never take one. */
  readonly contend: boolean;
  /** @default - performance.now() */
  readonly clock?: LeaseClock;
  /** @default - the global timers, unref'd */
  readonly timers?: LeaseTimers;
  /** Draws the claim jitter. @default - Math.random */
  readonly random?: () => number;
}

export interface LeaseEvents {
  /** This node became the holder of log's lease. */
  acquired(log: string): void;
  /** This node stopped being the holder (renewal refused, belief expired, released): stop writing the log. */
  lost(log: string, reason: FactumError): void;
  /** The holder others should talk to changed (null: none known, expired, or released). */
  holderChanged(log: string, holder: LeaseHolder | null): void;
  /** A storage call for log's lease failed, or its record is corrupt; the keeper retries by itself. For logs and metrics. */
  storageFailed?(log: string, error: FactumError): void;
}

/** Beyond this many held leases the stagger stops growing, which keeps failover within its bound. */
const staggerLeasesMax = 4;

interface Waiter {
  resolve(holder: LeaseHolder): void;
  reject(error: FactumError): void;
}

/** One watched database. */
class DatabaseLease {
  active = true;
  observation: Observation | null = null;
  /** Set while this node believes it holds the lease: the belief's end. */
  validUntilMs: number | null = null;
  renewFailure: FactumError | null = null;
  claiming = false;
  stepTimer: unknown = null;
  expiryTimer: unknown = null;
  running: Promise<void> | null = null;
  reported: LeaseHolder | null = null;
  /** stepAside: this node claims the lease no sooner than this (its clock). */
  noClaimUntilMs = -Infinity;
  readonly waiters = new Set<Waiter>();

  constructor(
    readonly log: string,
    readonly key: string,
  ) {}
}

const defaultClock: LeaseClock = { now: () => performance.now() };

const defaultTimers: LeaseTimers = {
  setTimeout(fn, ms) {
    const handle = setTimeout(fn, ms);
    handle.unref(); // a lease alone never keeps the process alive
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

function sameHolder(left: LeaseHolder | null, right: LeaseHolder | null): boolean {
  return left?.nodeId === right?.nodeId && left?.address === right?.address;
}

function checkSettings(settings: LeaseSettings): void {
  if (typeof settings.nodeId !== 'string' || settings.nodeId.length === 0) {
    fail('node/invalid-config', `lease settings: nodeId ${JSON.stringify(settings.nodeId)} is invalid; expected a non-empty string unique to this process`, { nodeId: settings.nodeId });
  }
  if (typeof settings.address !== 'string') {
    fail('node/invalid-config', `lease settings: address ${JSON.stringify(settings.address)} is invalid; expected this node's internal endpoint`, { address: settings.address });
  }
  if (typeof settings.periodMs !== 'number' || !Number.isFinite(settings.periodMs) || settings.periodMs <= 0) {
    fail('node/invalid-config', `lease settings: periodMs ${String(settings.periodMs)} is invalid; expected a positive number of milliseconds`, { periodMs: settings.periodMs });
  }
}

export class LeaseKeeper {
  private readonly leases = new Map<string, DatabaseLease>();
  /** Logs being unwatched: a new watch of one starts once that is done (see watch). */
  private readonly leaving = new Map<string, Promise<void>>();
  private readonly clock: LeaseClock;
  private readonly timers: LeaseTimers;
  private readonly random: () => number;
  private readonly self: LeaseHolder;
  private readonly viewer: Viewer;
  private readonly liveRecord: LeaseRecord;
  private readonly liveBytes: Uint8Array;
  private readonly releasedBytes: Uint8Array;
  private readonly periodMs: number;
  private stopped = false;
  private contending: boolean;

  constructor(
    private readonly storage: Storage,
    private readonly settings: LeaseSettings,
    private readonly events: LeaseEvents,
  ) {
    checkSettings(settings);
    this.clock = settings.clock ?? defaultClock;
    this.timers = settings.timers ?? defaultTimers;
    this.random = settings.random ?? Math.random;
    this.periodMs = settings.periodMs;
    this.contending = settings.contend;
    this.self = Object.freeze({ nodeId: settings.nodeId, address: settings.address });
    this.viewer = { nodeId: settings.nodeId, incarnation: randomUUID(), periodMs: settings.periodMs };
    const record = { nodeId: settings.nodeId, incarnation: this.viewer.incarnation, address: settings.address, periodMs: settings.periodMs };
    this.liveRecord = Object.freeze({ ...record, released: false });
    this.liveBytes = encodeLeaseRecord(this.liveRecord);
    this.releasedBytes = encodeLeaseRecord({ ...record, released: true });
  }

  private get pollMs(): number {
    return this.periodMs / 4;
  }

  private get renewMs(): number {
    return this.periodMs / 3;
  }

  private get retryMs(): number {
    return this.periodMs / 12;
  }

  /** Starts polling (and contending, if settings.contend) for the lease of the database whose log is `log`. */
  watch(log: string): void {
    if (this.stopped) throw new AssertionError(`LeaseKeeper.watch(${JSON.stringify(log)}) after stop()`);
    checkKey('log', log);
    if (this.leases.has(log)) return;
    const lease = new DatabaseLease(log, leaseKey(log));
    this.leases.set(log, lease);
    const leaving = this.leaving.get(log);
    // The unwatch under way may still release the record; had this lease claimed it meanwhile (the
    // record names this node either way), that release would free a lease this one believes it holds.
    if (leaving === undefined) this.schedule(lease, 0);
    else void leaving.then(() => lease.active && this.schedule(lease, 0));
  }

  /** Stops watching `log`; releases its lease if held (`lost` is told first), so another node takes it at once. */
  async unwatch(log: string): Promise<void> {
    const lease = this.leases.get(log);
    if (lease === undefined) return;
    this.leases.delete(log);
    lease.active = false;
    this.clearTimers(lease);
    const held = lease.validUntilMs !== null;
    lease.validUntilMs = null; // guard() refuses from here on
    for (const waiter of lease.waiters) waiter.reject(noLeaseHolder(log, 'this node stopped watching the database'));
    if (held) this.events.lost(log, leaseReleased(log, this.self.nodeId));
    if (lease.reported !== null) this.events.holderChanged(log, null);
    const leaving = this.leave(lease, this.leaving.get(log));
    this.leaving.set(log, leaving);
    await leaving;
    if (this.leaving.get(log) === leaving) this.leaving.delete(log);
  }

  private async leave(lease: DatabaseLease, previous: Promise<void> | undefined): Promise<void> {
    await previous; // an earlier watch of the same log, still leaving: one at a time
    if (lease.running !== null) await lease.running; // its answer tells nothing: the lease is inactive
    if (lease.observation !== null && this.view(lease, this.clock.now()).ours) await this.release(lease);
  }

  /**
   * Gives the lease up, if held, so that another node takes it (rebalancing: this node leads more
   * databases than its share), and claims it again no sooner than `cooldownMs` from now (unless no
   * other node has taken it by then). `lost` is told first; the keeper goes on watching the lease.
   */
  async stepAside(log: string, cooldownMs: number): Promise<void> {
    const lease = this.leases.get(log);
    if (lease === undefined || lease.validUntilMs === null) return;
    lease.noClaimUntilMs = this.clock.now() + cooldownMs;
    if (lease.stepTimer !== null) this.timers.clearTimeout(lease.stepTimer);
    lease.stepTimer = null;
    if (lease.running !== null) await lease.running; // a renewal under way ends first
    if (!lease.active) return;
    if (lease.validUntilMs !== null) this.lose(lease, leaseReleased(log, this.self.nodeId));
    await this.release(lease);
    if (lease.active && lease.stepTimer === null && lease.running === null) this.schedule(lease, 0);
  }

  /**
   * Stops claiming leases (a graceful stop: this node leaves the databases to the others); leases
   * held are kept until `stepAside`, `unwatch` or `stop` gives them up. Watching goes on.
   */
  stopContending(): void {
    this.contending = false;
  }

  /** True only while this node's belief is valid: clock.now() before its end. */
  isLeader(log: string): boolean {
    const validUntilMs = this.leases.get(log)?.validUntilMs ?? null;
    return validUntilMs !== null && this.clock.now() < validUntilMs;
  }

  /** null while this node holds the lease; else why it may not write the log (`cluster/lease-lost`). */
  guard(log: string): FactumError | null {
    const lease = this.leases.get(log);
    if (lease !== undefined && lease.validUntilMs !== null) {
      const nowMs = this.clock.now();
      if (nowMs < lease.validUntilMs) return null;
      return leaseExpired(log, this.self.nodeId, nowMs - lease.validUntilMs, lease.renewFailure);
    }
    return notLeaseHolder(log, this.self.nodeId, this.holder(log));
  }

  /** The node holding the lease as this node knows it now (itself included), or null when none is known. */
  holder(log: string): LeaseHolder | null {
    const lease = this.leases.get(log);
    if (lease === undefined) return null;
    if (this.isLeader(log)) return this.self;
    return this.view(lease, this.clock.now()).holder;
  }

  /** Resolves once a live holder is known; rejects with `cluster/no-leader` when aborted or unwatched. */
  waitForHolder(log: string, signal?: AbortSignal): Promise<LeaseHolder> {
    const lease = this.leases.get(log);
    if (lease === undefined) return Promise.reject(noLeaseHolder(log, 'this node does not watch the database'));
    const known = this.holder(log);
    if (known !== null) return Promise.resolve(known);
    const aborted = () => {
      const reason: unknown = signal?.reason;
      return noLeaseHolder(log, `the wait was aborted (${reason instanceof Error ? reason.message : String(reason)})`, reason);
    };
    if (signal?.aborted === true) return Promise.reject(aborted());
    return new Promise((resolve, reject) => {
      const onAbort = () => waiter.reject(aborted());
      const done = () => {
        lease.waiters.delete(waiter);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        resolve: (holder) => (done(), resolve(holder)),
        reject: (error) => (done(), reject(error)),
      };
      lease.waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** How many leases this node holds now. */
  heldCount(): number {
    let count = 0;
    for (const log of this.leases.keys()) if (this.isLeader(log)) count++;
    return count;
  }

  /** Releases every held lease (others take over at once, not after a period) and stops every timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.leases.keys()].map((log) => this.unwatch(log)));
    await Promise.all(this.leaving.values()); // unwatches called earlier and not yet done
  }

  // ---- steps: one at a time per database, each one storage round trip or two ----

  private schedule(lease: DatabaseLease, delayMs: number): void {
    if (lease.stepTimer !== null) this.timers.clearTimeout(lease.stepTimer);
    lease.stepTimer = this.timers.setTimeout(() => {
      lease.stepTimer = null;
      lease.running = this.step(lease);
    }, Math.max(0, delayMs));
  }

  private async step(lease: DatabaseLease): Promise<void> {
    const delayMs = lease.validUntilMs !== null ? await this.renew(lease) : await this.observe(lease);
    lease.running = null;
    if (lease.active) this.schedule(lease, delayMs);
  }

  /** Not holding: read the record, tell who holds it, claim it when free. Returns the delay to the next step. */
  private async observe(lease: DatabaseLease): Promise<number> {
    const stored = await this.read(lease);
    if (!(stored instanceof FactumError)) this.see(lease, stored);
    if (!lease.active) return 0;
    const nowMs = this.clock.now();
    const view = this.view(lease, nowMs);
    this.report(lease, view.holder);
    let delayMs = this.pollMs;
    if (view.holder !== null) delayMs = Math.min(delayMs, view.freeAtMs - nowMs); // tell null when it runs out
    if (!this.contending || stored instanceof FactumError || lease.observation === null) return delayMs;
    if (nowMs < lease.noClaimUntilMs) return Math.min(delayMs, lease.noClaimUntilMs - nowMs); // stepped aside
    const claimAtMs = view.ours ? view.freeAtMs : view.freeAtMs + this.staggerMs(lease);
    if (nowMs >= claimAtMs) return this.claim(lease);
    return Math.min(delayMs, claimAtMs - nowMs);
  }

  private async claim(lease: DatabaseLease): Promise<number> {
    const seen = lease.observation;
    if (seen === null) throw new AssertionError('a claim follows a read');
    const startMs = this.clock.now(); // before the write: the belief must end no later than others' wait
    lease.claiming = true;
    const outcome = await this.swap(lease, seen.version, this.liveBytes);
    lease.claiming = false;
    if (outcome === true) this.wrote(lease, seen.version);
    if (!lease.active) return 0;
    if (outcome instanceof FactumError) return this.retryMs; // the next read shows whether it landed
    if (!outcome) return 0; // another node wrote first: read at once who
    if (this.clock.now() >= startMs + this.periodMs) return 0; // answered after a whole period: ours, claim again
    this.hold(lease, startMs + this.periodMs);
    this.events.acquired(lease.log);
    this.report(lease, this.self);
    return Math.max(0, startMs + this.renewMs - this.clock.now());
  }

  /** Holding: renew by CAS from the version this node wrote last. */
  private async renew(lease: DatabaseLease): Promise<number> {
    const seen = lease.observation;
    if (seen === null || lease.validUntilMs === null) throw new AssertionError('a renewal follows a claim');
    const startMs = this.clock.now();
    if (startMs >= lease.validUntilMs) {
      this.expire(lease); // paused past the belief's end: no renewal can extend it any more
      return 0;
    }
    const outcome = await this.swap(lease, seen.version, this.liveBytes);
    if (outcome === true) this.wrote(lease, seen.version);
    if (!lease.active) return 0;
    this.expire(lease); // when the belief ran out while the write was under way, lost first
    if (lease.validUntilMs === null) return 0; // the record may name us: the next step claims at once
    if (outcome instanceof FactumError) {
      lease.renewFailure = outcome;
      return this.retryMs;
    }
    if (outcome) {
      this.hold(lease, startMs + this.periodMs);
      return Math.max(0, startMs + this.renewMs - this.clock.now());
    }
    return this.refused(lease);
  }

  /** A renewal's CAS was refused: another node took the lease, or a write of ours whose answer was lost landed. */
  private async refused(lease: DatabaseLease): Promise<number> {
    const stored = await this.read(lease);
    if (!(stored instanceof FactumError)) this.see(lease, stored);
    if (!lease.active || lease.validUntilMs === null) return 0;
    const view = stored instanceof FactumError ? null : this.view(lease, this.clock.now());
    if (view?.ours === true) return 0; // renew at once from the version read
    const record = lease.observation?.record ?? null;
    const taker = view === null || record === null ? null : { nodeId: record.nodeId, address: record.address };
    this.lose(lease, leaseTaken(lease.log, this.self.nodeId, taker));
    return view === null ? this.retryMs : this.pollMs;
  }

  /** Releases a lease this node holds or may hold, at most three tries; on failure it runs out after its period. */
  private async release(lease: DatabaseLease): Promise<void> {
    let version = lease.observation?.version ?? null;
    for (let attempt = 0; attempt < 3; attempt++) {
      let outcome: boolean;
      let stored: VersionedRecord | null;
      try {
        outcome = await this.storage.casRecord(lease.key, version, this.releasedBytes);
        if (outcome) return;
        stored = await this.storage.getRecord(lease.key);
      } catch (error) {
        if (!isFactumError(error)) throw error;
        this.events.storageFailed?.(lease.log, error);
        return;
      }
      if (stored === null || !sameBytes(stored.bytes, this.liveBytes)) return; // not ours any more
      version = stored.version;
    }
  }

  // ---- belief ----

  private hold(lease: DatabaseLease, validUntilMs: number): void {
    lease.validUntilMs = validUntilMs;
    lease.renewFailure = null;
    this.armExpiry(lease, validUntilMs);
  }

  /** A timer at the belief's end, so that `lost` is told even while a renewal hangs. */
  private armExpiry(lease: DatabaseLease, validUntilMs: number): void {
    if (lease.expiryTimer !== null) this.timers.clearTimeout(lease.expiryTimer);
    lease.expiryTimer = this.timers.setTimeout(() => {
      lease.expiryTimer = null;
      this.expire(lease);
      if (lease.active && lease.validUntilMs !== null) this.armExpiry(lease, lease.validUntilMs); // fired early
      else if (lease.active && lease.running === null) this.schedule(lease, 0); // observe now, not at the renewal's time
    }, validUntilMs - this.clock.now());
  }

  /** Tells `lost` when the belief has run out (by the clock, whether or not a timer ran). */
  private expire(lease: DatabaseLease): void {
    if (!lease.active || lease.validUntilMs === null) return;
    const nowMs = this.clock.now();
    if (nowMs < lease.validUntilMs) return;
    this.lose(lease, leaseExpired(lease.log, this.self.nodeId, nowMs - lease.validUntilMs, lease.renewFailure));
  }

  private lose(lease: DatabaseLease, reason: FactumError): void {
    lease.validUntilMs = null;
    lease.renewFailure = null;
    if (lease.expiryTimer !== null) this.timers.clearTimeout(lease.expiryTimer);
    lease.expiryTimer = null;
    this.events.lost(lease.log, reason);
    if (lease.active) this.report(lease, this.view(lease, this.clock.now()).holder);
  }

  // ---- the record ----

  private async read(lease: DatabaseLease): Promise<VersionedRecord | null | FactumError> {
    try {
      return await this.storage.getRecord(lease.key);
    } catch (error) {
      return this.failed(lease, error);
    }
  }

  private async swap(lease: DatabaseLease, version: number | null, bytes: Uint8Array): Promise<boolean | FactumError> {
    try {
      return await this.storage.casRecord(lease.key, version, bytes);
    } catch (error) {
      return this.failed(lease, error);
    }
  }

  /** A storage failure is an answer (retried by the steps); anything else is a bug and crashes. */
  private failed(lease: DatabaseLease, error: unknown): FactumError {
    if (!isFactumError(error)) throw error;
    if (lease.active) this.events.storageFailed?.(lease.log, error);
    return error;
  }

  /** Records what a read returned; a version not seen before starts its period now (after the read answered). */
  private see(lease: DatabaseLease, stored: VersionedRecord | null): void {
    const version = stored?.version ?? null;
    const bytes = stored?.bytes ?? null;
    if (unchanged(lease.observation, version, bytes)) return;
    let record: LeaseRecord | null = null;
    if (stored !== null) {
      try {
        record = decodeLeaseRecord(lease.key, stored.bytes);
      } catch (error) {
        this.failed(lease, error); // corrupt: a lease of an unknown node, taken over after a period
      }
    }
    lease.observation = { version, bytes, record, firstSeenMs: this.clock.now(), jitterMs: this.random() * (this.periodMs / 16) };
  }

  /** Records a write of this node's live record made from `version`. */
  private wrote(lease: DatabaseLease, version: number | null): void {
    lease.observation = { version: (version ?? 0) + 1, bytes: this.liveBytes, record: this.liveRecord, firstSeenMs: this.clock.now(), jitterMs: 0 };
  }

  private view(lease: DatabaseLease, nowMs: number): View {
    return viewLease(lease.observation, this.viewer, nowMs);
  }

  /** The wait before claiming a free lease: longer the more leases this node holds, so databases spread. */
  private staggerMs(lease: DatabaseLease): number {
    let others = 0;
    for (const other of this.leases.values()) if (other !== lease && (other.validUntilMs !== null || other.claiming)) others++;
    return Math.min(others, staggerLeasesMax) * (this.periodMs / 8) + (lease.observation?.jitterMs ?? 0);
  }

  private report(lease: DatabaseLease, holder: LeaseHolder | null): void {
    if (!lease.active || sameHolder(lease.reported, holder)) return;
    lease.reported = holder;
    this.events.holderChanged(lease.log, holder);
    if (holder !== null) for (const waiter of lease.waiters) waiter.resolve(holder);
  }

  private clearTimers(lease: DatabaseLease): void {
    if (lease.stepTimer !== null) this.timers.clearTimeout(lease.stepTimer);
    if (lease.expiryTimer !== null) this.timers.clearTimeout(lease.expiryTimer);
    lease.stepTimer = null;
    lease.expiryTimer = null;
  }
}
