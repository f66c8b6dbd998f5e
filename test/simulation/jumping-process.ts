//! A simulated node's process whose clock can jump forward (a VM suspended and resumed, a host
//! whose monotonic clock was stepped): the clock the lease keeper and the seat read moves on at
//! once by the jump, while timers already set still fire after their virtual delay, as a real
//! process's timers do after its clock moved under them.
//!
//! Only forward jumps: the nodes read a monotonic clock (performance.now), which never goes back.
import { VirtualProcess, type VirtualTime } from '../../nodes/cluster/lease-test-support.ts';
import type { LeaseClock } from '../../nodes/cluster/lease-keeper.ts';

export class JumpingProcess extends VirtualProcess {
  /** The sum of the jumps so far, in ms. */
  jumpedMs = 0;
  declare readonly clock: LeaseClock;

  constructor(time: VirtualTime, offsetMs = 0, rate = 1) {
    super(time, offsetMs, rate);
    const steady = this.clock;
    // The parent's clock is a field made in its constructor: replaced here by one that adds the jumps.
    (this as { clock: LeaseClock }).clock = { now: () => steady.now() + this.jumpedMs };
  }

  /** The clock jumps `ms` forward now. */
  jump(ms: number): void {
    this.jumpedMs += ms;
  }
}
