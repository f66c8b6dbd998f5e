//! What a leader tells those who feed its followers (Transactor.onCommitted, onRootMoved): each
//! log entry once it is durable, and each index root once its db value is on it.
//!
//!   leader: appendLog durable ──onCommitted(position, bytes, basisT)──▶ node pushes to followers ──▶ applyEntry
//!           rebase onto root   ──onRootMoved(root t)──────────────────▶ node tells followers   ──▶ refreshRoot
//!
//! Invariants: listeners are called synchronously, in the order they were added, inside the
//! writer's step that made the event, so a listener must not block (it hands the work on). A
//! listener that throws is a bug in it: it is reported and the writer and the other listeners go
//! on, since the event (a durable write) has happened whatever a listener does.

export class Listeners<Args extends unknown[]> {
  private readonly listeners = new Set<(...args: Args) => void>();

  constructor(private readonly event: string) {}

  /** Adds `listener`; the function returned removes it. */
  add(listener: (...args: Args) => void): () => void {
    const own = (...args: Args): void => listener(...args); // the same function added twice is two listeners
    this.listeners.add(own);
    return () => {
      this.listeners.delete(own);
    };
  }

  /** Calls every listener with `args`. */
  emit(...args: Args): void {
    for (const listener of this.listeners) {
      try {
        listener(...args);
      } catch (error) {
        console.error(`factum: a listener of ${this.event} threw (${String(error)}); the event happened, and the other listeners were called.`);
      }
    }
  }
}
