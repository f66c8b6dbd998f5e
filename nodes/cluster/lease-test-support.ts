//! Test support for the lease (fakes are ordinary source files, STYLE.md): virtual time, one queue
//! of (time, seq, callback) run in order; processes whose clocks and timers come from it; and a
//! storage whose calls a test can replace one by one.
//!
//! Invariants:
//! - Callbacks run in (time, seq) order: ties in the order they were scheduled, so a run replays
//!   exactly. Time never moves backwards.
//! - After each callback, the promise jobs it started run to their end before the next callback
//!   (one macrotask turn: everything here is in memory), so a storage answer delivered at instant t
//!   is handled at instant t, as a real process would handle it when it arrives.
//! - A process runs its callbacks only while it runs: paused (SIGSTOP), they are held and run in
//!   order when it resumes; killed, they are dropped. Its clock runs on through a pause, as
//!   CLOCK_MONOTONIC does, at its own rate and from its own offset (clocks are never compared).
import type { Storage } from '../storage/protocol.ts';
import type { LeaseClock, LeaseTimers } from './lease-keeper.ts';

export interface VirtualTimer {
  readonly timeMs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

function before(left: VirtualTimer, right: VirtualTimer): boolean {
  return left.timeMs < right.timeMs || (left.timeMs === right.timeMs && left.seq < right.seq);
}

/** Runs every promise job already queued, and those they queue, to the end. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class VirtualTime {
  nowMs = 0;
  private readonly heap: VirtualTimer[] = [];
  private seq = 0;

  schedule(delayMs: number, callback: () => void): VirtualTimer {
    const timer: VirtualTimer = { timeMs: this.nowMs + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.heap.push(timer);
    this.up(this.heap.length - 1);
    return timer;
  }

  cancel(timer: VirtualTimer): void {
    timer.cancelled = true;
  }

  /** Moves the clock without running anything: what a process that was not scheduled sees. */
  jump(delayMs: number): void {
    this.nowMs += delayMs;
  }

  /** Runs every callback due up to `timeMs` (calling `afterEach` after each), then sets the clock there. */
  async runUntil(timeMs: number, afterEach?: () => void): Promise<void> {
    await settle();
    for (;;) {
      const next = this.heap[0];
      if (next === undefined || next.timeMs > timeMs) break;
      this.pop();
      if (next.cancelled) continue;
      this.nowMs = Math.max(this.nowMs, next.timeMs);
      next.callback();
      await settle();
      afterEach?.();
    }
    this.nowMs = Math.max(this.nowMs, timeMs);
  }

  advance(delayMs: number, afterEach?: () => void): Promise<void> {
    return this.runUntil(this.nowMs + delayMs, afterEach);
  }

  private pop(): void {
    const last = this.heap.pop() as VirtualTimer;
    if (this.heap.length === 0) return;
    this.heap[0] = last;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let least = index;
      if (left < this.heap.length && before(this.heap[left], this.heap[least])) least = left;
      if (right < this.heap.length && before(this.heap[right], this.heap[least])) least = right;
      if (least === index) return;
      [this.heap[index], this.heap[least]] = [this.heap[least], this.heap[index]];
      index = least;
    }
  }

  private up(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!before(this.heap[index], this.heap[parent])) return;
      [this.heap[index], this.heap[parent]] = [this.heap[parent], this.heap[index]];
      index = parent;
    }
  }
}

/** One process on virtual time: its clock, its timers, and SIGSTOP/SIGCONT/kill -9. */
export class VirtualProcess {
  paused = false;
  killed = false;
  /** Timers set and neither fired nor cleared. */
  readonly live = new Set<VirtualTimer>();
  private held: (() => void)[] = [];

  constructor(
    readonly time: VirtualTime,
    private readonly offsetMs = 0,
    private readonly rate = 1,
  ) {}

  readonly clock: LeaseClock = { now: () => this.offsetMs + this.time.nowMs * this.rate };

  readonly timers: LeaseTimers = {
    setTimeout: (fn, ms) => {
      const timer = this.time.schedule(ms / this.rate, () => {
        this.live.delete(timer);
        this.run(fn);
      });
      this.live.add(timer);
      return timer;
    },
    clearTimeout: (handle) => {
      const timer = handle as VirtualTimer;
      this.time.cancel(timer);
      this.live.delete(timer);
    },
  };

  /** Runs `fn` as this process: now while it runs, at its resumption while paused, never once killed. */
  run(fn: () => void): void {
    if (this.killed) return;
    if (this.paused) this.held.push(fn);
    else fn();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    for (const fn of held) this.time.schedule(0, () => this.run(fn)); // one at a time, as a woken event loop
  }

  kill(): void {
    this.killed = true;
    this.held = [];
    for (const timer of this.live) this.time.cancel(timer);
    this.live.clear();
  }
}

/** `inner` with some calls replaced (each replacement may call `inner` itself). */
export function overriding(inner: Storage, overrides: Partial<Omit<Storage, 'kind'>>): Storage {
  return {
    kind: inner.kind,
    appendLog: (log, position, bytes) => inner.appendLog(log, position, bytes),
    readLog: (log, start, end) => inner.readLog(log, start, end),
    logLength: (log) => inner.logLength(log),
    deleteLog: (log) => inner.deleteLog(log),
    putSegment: (key, bytes) => inner.putSegment(key, bytes),
    getSegment: (key) => inner.getSegment(key),
    listSegments: (prefix) => inner.listSegments(prefix),
    deleteSegments: (keys) => inner.deleteSegments(keys),
    getRecord: (key) => inner.getRecord(key),
    casRecord: (key, expectedVersion, bytes) => inner.casRecord(key, expectedVersion, bytes),
    deleteRecord: (key, expectedVersion) => inner.deleteRecord(key, expectedVersion),
    close: () => inner.close(),
    ...overrides,
  };
}
