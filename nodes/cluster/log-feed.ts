//! The transactor's side of novelty to every node: a stream, per following node and database, of
//! the log entries from a position on — first those already in the log (read from storage), then
//! each entry as it commits — and a notice each time the transactor moves onto a new index root.
//!
//!   items:  ['e', position, bytes, sentMs?]  a log entry, exactly its bytes in the log; sentMs
//!                                     (this node's clock as it committed) when pushed, for the lag
//!           ['r', rootT]              the transactor moved onto an index root (followers re-read it)
//!           ['h']                     nothing new for HEARTBEAT_MS (the connection is alive)
//!
//! Invariants: entries come in position order with no gap from `from` until the stream ends (the
//! listener is registered before the log's end is read, so an entry is either read from storage
//! or queued, and a follower ignores one it has). The stream ends — and the follower reconnects
//! to whichever node holds the lease then, catching up from its own position — when this node
//! stops leading, or when the follower reads so slowly that QUEUED_BYTES_MAX of entries wait: a
//! slow follower costs the transactor bounded memory, never a wait.
//!
//! The heartbeat's wait is on real timers, or on the seat's virtual clock in the seeded
//! simulations (an injection point: a real timer firing in the middle of a simulated run would
//! make it replay differently).
import type { Storage } from '../storage/protocol.ts';
import type { Transactor } from '../transactor/transactor.ts';

export type FeedItem = readonly ['e', number, Uint8Array, number?] | readonly ['r', number] | readonly ['h'];

const HEARTBEAT_MS = 2000;
/** Bytes of entries waiting for a slow follower at most; past it, its stream ends. */
const QUEUED_BYTES_MAX = 32 * 1024 * 1024;
/** Bytes of entries per chunk (one frame on the wire), at most (one entry may pass it alone). */
const CHUNK_BYTES_MAX = 1024 * 1024;

/** Calls `wake` after `ms` (the heartbeat), unless the function it returns is called first. */
export type HeartbeatTimer = (ms: number, wake: () => void) => () => void;

const realHeartbeat: HeartbeatTimer = (ms, wake) => {
  const timer = setTimeout(wake, ms);
  return () => clearTimeout(timer);
};

export async function* leaderFeed(leader: Transactor, storage: Storage, from: number, leading: () => boolean, heartbeat: HeartbeatTimer = realHeartbeat): AsyncGenerator<FeedItem[]> {
  const queue: FeedItem[] = [];
  let queuedBytes = 0;
  let overflow = false;
  let wake: (() => void) | null = null;
  const push = (item: FeedItem): void => {
    const bytes = item[0] === 'e' ? item[2].length : 0;
    if (queuedBytes + bytes > QUEUED_BYTES_MAX) overflow = true;
    else {
      queue.push(item);
      queuedBytes += bytes;
    }
    wake?.();
  };
  /** The queued items of the next chunk, at most CHUNK_BYTES_MAX of entries. */
  const nextChunk = (): FeedItem[] => {
    let bytes = 0;
    let n = 0;
    while (n < queue.length) {
      const item = queue[n]!;
      const size = item[0] === 'e' ? item[2].length : 0;
      if (n > 0 && bytes + size > CHUNK_BYTES_MAX) break;
      bytes += size;
      n++;
    }
    queuedBytes -= bytes;
    return queue.splice(0, n);
  };
  const offCommitted = leader.onCommitted((position, bytes) => push(['e', position, bytes, Date.now()]));
  const offRoot = leader.onRootMoved((rootT) => push(['r', rootT]));
  try {
    const until = leader.nextPosition; // from here on, entries come through the queue
    let chunk: FeedItem[] = [];
    let chunkBytes = 0;
    for await (const entry of storage.readLog(leader.logName, from, until)) {
      if (chunk.length > 0 && chunkBytes + entry.bytes.length > CHUNK_BYTES_MAX) {
        yield chunk;
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push(['e', entry.position, entry.bytes]);
      chunkBytes += entry.bytes.length;
    }
    if (chunk.length > 0) yield chunk;
    for (;;) {
      if (overflow || !leading()) return;
      if (queue.length > 0) {
        yield nextChunk();
        continue;
      }
      let cancel: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        cancel = heartbeat(HEARTBEAT_MS, resolve);
      });
      cancel?.();
      wake = null;
      if (queue.length === 0) yield [['h']];
    }
  } finally {
    offCommitted();
    offRoot();
  }
}
