//! Runs asynchronous work one piece at a time, in the order it was submitted: the in-process
//! serialization behind log appends and compare-and-swap of one record. A failed piece fails only
//! its own caller; the pieces after it still run.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  run<T>(work: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(work);
    this.tail = result.then(
      () => this.pending--,
      () => this.pending--,
    );
    return result;
  }

  /** True when no work is queued or running. */
  get idle(): boolean {
    return this.pending === 0;
  }

  /** Resolves once everything submitted so far has finished. */
  async drained(): Promise<void> {
    await this.tail;
  }
}

/** One SerialQueue per key, dropped when idle so that the map stays small. */
export class KeyedSerialQueue {
  private readonly queues = new Map<string, SerialQueue>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = new SerialQueue();
      this.queues.set(key, queue);
    }
    const owner = queue;
    return owner.run(work).finally(() => {
      if (owner.idle && this.queues.get(key) === owner) this.queues.delete(key);
    });
  }

  async drained(): Promise<void> {
    await Promise.all([...this.queues.values()].map((queue) => queue.drained()));
  }
}
