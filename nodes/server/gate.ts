//! Admission of one kind of work: at most `runningMax` run at once, at most `queueMax` wait; past
//! that, a request is refused at once with `server/busy` (HTTP 429, retryable) instead of joining
//! a queue without end, so an overloaded node answers quickly and its clients back off.
import { FactumError } from '../util/errors.ts';

export class Gate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  /** Requests refused so far (for metrics). */
  refused = 0;

  constructor(
    readonly kind: string,
    private readonly runningMax: number,
    private readonly queueMax: number,
  ) {}

  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  /** Runs `work` when a place is free; refuses with `server/busy` when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.runningMax) {
      if (this.waiting.length >= this.queueMax) {
        this.refused++;
        throw new FactumError('server/busy', `This node is busy: ${this.running} ${this.kind} requests are running and ${this.waiting.length} are waiting (the limit). Retry with backoff; nothing of this request was done.`, {
          kind: this.kind,
          running: this.running,
          waiting: this.waiting.length,
        });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.running--;
      else next(); // the place passes to the next waiter
    }
  }
}
