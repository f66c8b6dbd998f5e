//! Test support for the seeded simulation of several nodes in one process (seat-simulation.test.ts;
//! fakes are ordinary source files, STYLE.md): a seat's clock on virtual time, the shared storage
//! as one node reaches it (a latency each way), and the network between nodes (calls and streams
//! that take a latency each way and fail as a dead node's connections do).
//!
//! Invariants (on lease-test-support.ts's VirtualTime and VirtualProcess):
//! - A storage call may fail before it lands or, a write, after (its answer lost), as a hook says.
//! - A request is on the wire once sent: it arrives after its latency whatever its sender does
//!   meanwhile, and its answer is handled by the sender only while it runs (held while it is
//!   paused, dropped once it is killed). A storage request lands even if its sender died.
//! - A call or stream to a node runs there as that node (held while it is paused). A node killed
//!   with calls or streams open to it, or one that was never there, answers `client/network`.
//! - A stream's chunks arrive in the order they were sent (also when a stall held them).
//! - Errors cross the network as the node's wire does: a FactumError as its code, message and data
//!   (remoteError); anything else is a bug, reported to `onBug` and answered as `server/internal`.
import type { Storage, VersionedRecord, LogEntry } from '../storage/protocol.ts';
import { FactumError, isFactumError } from '../util/errors.ts';
import type { SeatClock } from './database-seat.ts';
import type { Peers } from './peers.ts';
import { overriding, type VirtualProcess, type VirtualTime } from './lease-test-support.ts';

/** A seat's clock (now, sleep, every, timeout) on one virtual process's clock and timers. */
export function virtualSeatClock(process: VirtualProcess): SeatClock {
  const { clock, timers } = process;
  return {
    now: () => clock.now(),
    sleep: (ms) => new Promise((resolve) => timers.setTimeout(resolve, ms)),
    every(ms, fn) {
      let handle: unknown;
      const tick = () => {
        handle = timers.setTimeout(tick, ms);
        fn();
      };
      handle = timers.setTimeout(tick, ms);
      return () => timers.clearTimeout(handle);
    },
    timeout(ms) {
      const controller = new AbortController();
      timers.setTimeout(() => controller.abort(new DOMException(`The operation timed out after ${ms} ms (virtual)`, 'TimeoutError')), ms);
      return controller.signal;
    },
  };
}

/** A storage call as a fault hook sees it: its name, the key (or log) it is about, and whether it writes. */
export interface StorageCall {
  readonly name: string;
  readonly key: string;
  readonly write: boolean;
}

export interface StorageHooks {
  /**
   * Whether a call fails: 'before' it lands (nothing done), or 'after' (a write landed and its
   * answer was lost: an ambiguous failure). Either way the node gets `storage/unavailable`.
   */
  failure?(call: StorageCall): 'before' | 'after' | null;
  /** An append is sent (right after the transactor's write guard passed). */
  appending?(position: number, bytes: Uint8Array): void;
  /** An append landed (`appended`: the position was free) or was refused. */
  landed?(position: number, bytes: Uint8Array, appended: boolean): void;
}

/**
 * `shared` as the node running `process` reaches it: each call waits `latencyMs(call)` to land and
 * as long again for its answer, which the node handles only while it runs. Iterables (readLog,
 * listSegments) are read whole when the call lands.
 */
export function latentStorage(shared: Storage, time: VirtualTime, process: VirtualProcess, latencyMs: (call: StorageCall) => number, hooks: StorageHooks = {}): Storage {
  const call = <T>(name: string, key: string, write: boolean, operation: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const described = { name, key, write };
      const failure = hooks.failure?.(described) ?? null;
      const failed = () => new FactumError('storage/unavailable', `injected: ${name}(${key}) failed ${failure === 'after' ? 'after it landed' : 'before it landed'}`, { key });
      const answer = (settle: () => void) => time.schedule(latencyMs(described), () => process.run(settle));
      time.schedule(latencyMs(described), () => {
        if (failure === 'before') return answer(() => reject(failed()));
        operation().then(
          (value) => answer(() => (failure === 'after' ? reject(failed()) : resolve(value))),
          (error: unknown) => answer(() => reject(error)),
        );
      });
    });
  const whole = <T>(name: string, key: string, iterable: () => AsyncIterable<T>) =>
    (async function* () {
      yield* await call(name, key, false, async () => {
        const items: T[] = [];
        for await (const item of iterable()) items.push(item);
        return items;
      });
    })();
  return overriding(shared, {
    appendLog: (log, position, bytes) => {
      hooks.appending?.(position, bytes);
      return call('appendLog', log, true, async () => {
        const appended = await shared.appendLog(log, position, bytes);
        hooks.landed?.(position, bytes, appended);
        return appended;
      });
    },
    readLog: (log, start, end) => whole<LogEntry>('readLog', log, () => shared.readLog(log, start, end)),
    logLength: (log) => call('logLength', log, false, () => shared.logLength(log)),
    putSegment: (key, bytes) => call('putSegment', key, true, () => shared.putSegment(key, bytes)),
    getSegment: (key) => call('getSegment', key, false, () => shared.getSegment(key)),
    listSegments: (prefix) => whole<string>('listSegments', prefix, () => shared.listSegments(prefix)),
    deleteSegments: (keys) => call('deleteSegments', keys[0] ?? '', true, () => shared.deleteSegments(keys)),
    getRecord: (key): Promise<VersionedRecord | null> => call('getRecord', key, false, () => shared.getRecord(key)),
    casRecord: (key, version, bytes) => call('casRecord', key, true, () => shared.casRecord(key, version, bytes)),
    deleteRecord: (key, version) => call('deleteRecord', key, true, () => shared.deleteRecord(key, version)),
  });
}

/** A node as the network reaches it. */
export interface Endpoint {
  readonly process: VirtualProcess;
  /** Answers an operation whose answer is one message. */
  call(operation: string, args: Readonly<Record<string, unknown>>): Promise<unknown>;
  /** Answers an operation whose answer is a stream. */
  stream(operation: string, args: Readonly<Record<string, unknown>>): AsyncGenerator<readonly unknown[]>;
}

/** What a stream carries to its reader: a chunk, its end, or the error that ended it. */
type StreamItem = { readonly chunk: readonly unknown[] } | { readonly end: true } | { readonly error: unknown };

/** One call or stream open between two nodes. */
interface Connection {
  readonly source: VirtualProcess;
  readonly target: string;
  /** Ends it with `client/network` (its target died), unless it has ended. */
  broken(): void;
  /** Its source stopped reading (or died): a stream stops producing. */
  closed: boolean;
}

export class SimulatedNetwork {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly connections = new Set<Connection>();
  /** Nodes whose incoming stream items are held (a stalled connection), with those held so far. */
  private readonly stalled = new Map<VirtualProcess, (() => void)[]>();

  constructor(
    private readonly time: VirtualTime,
    private readonly latencyMs: () => number,
    /** Told an error that is not a FactumError: a bug of the node that threw it. */
    private readonly onBug: (error: unknown) => void,
  ) {}

  /** `endpoint` answers at `address` from now on (a node that started). */
  attach(address: string, endpoint: Endpoint): void {
    this.endpoints.set(address, endpoint);
  }

  /** kill -9 of the node at `address`: its open calls and streams fail, those it made stop. */
  crashed(address: string): void {
    const endpoint = this.endpoints.get(address);
    this.endpoints.delete(address);
    for (const connection of [...this.connections]) {
      if (connection.target === address) connection.broken();
      else if (endpoint !== undefined && connection.source === endpoint.process) connection.closed = true;
    }
  }

  /**
   * The end of a run: every stream stops producing at its next item. (A transactor's stream waits
   * for its next item on a real timer, its heartbeat, and the lease it checks then is on virtual
   * time that no longer moves: left alone, it would go on, and keep the whole run in memory.)
   */
  shutdown(): void {
    for (const connection of this.connections) connection.closed = true;
    this.connections.clear();
    this.endpoints.clear();
  }

  /** Holds every stream item to the node running `source` (its streams stall, nothing fails) until `flow`. */
  stall(source: VirtualProcess): void {
    if (!this.stalled.has(source)) this.stalled.set(source, []);
  }

  /** Delivers what a stall held, in order, and what comes after at once. */
  flow(source: VirtualProcess): void {
    const held = this.stalled.get(source) ?? [];
    this.stalled.delete(source);
    for (const arrive of held) arrive();
  }

  /** A call from the node running `source` to the node at `address`. */
  call(source: VirtualProcess, address: string, operation: string, args: Readonly<Record<string, unknown>>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      let ended = false;
      const end = (settle: () => void) => {
        if (ended) return;
        ended = true;
        this.connections.delete(connection);
        this.time.schedule(this.latencyMs(), () => source.run(settle));
      };
      const connection: Connection = { source, target: address, broken: () => end(() => reject(unreachable(address, operation))), closed: false };
      this.time.schedule(this.latencyMs(), () => {
        const endpoint = this.endpoints.get(address);
        if (endpoint === undefined) return end(() => reject(unreachable(address, operation)));
        this.connections.add(connection);
        endpoint.process.run(() => {
          Promise.resolve()
            .then(() => endpoint.call(operation, args))
            .then(
              (value) => end(() => resolve(value)),
              (error: unknown) => end(() => reject(this.wire(error))),
            );
        });
      });
    });
  }

  /** A stream from the node at `address` to the node running `source`. */
  async *stream(source: VirtualProcess, address: string, operation: string, args: Readonly<Record<string, unknown>>): AsyncGenerator<readonly unknown[]> {
    const arrived: StreamItem[] = [];
    let wake: (() => void) | null = null;
    let ended = false;
    let deliverAtMs = 0;
    // In order: each item arrives no sooner than the one sent before it.
    const deliver = (item: StreamItem) => {
      if (ended) return;
      if (!('chunk' in item)) {
        ended = true;
        this.connections.delete(connection);
      }
      deliverAtMs = Math.max(deliverAtMs, this.time.nowMs + this.latencyMs());
      const arrive = () =>
        source.run(() => {
          arrived.push(item);
          wake?.();
        });
      this.time.schedule(deliverAtMs - this.time.nowMs, () => {
        const held = this.stalled.get(source);
        if (held === undefined) arrive();
        else held.push(arrive);
      });
    };
    const connection: Connection = {
      source,
      target: address,
      broken: () => {
        connection.closed = true;
        deliver({ error: unreachable(address, operation) });
      },
      closed: false,
    };
    this.time.schedule(this.latencyMs(), () => {
      const endpoint = this.endpoints.get(address);
      if (endpoint === undefined) return deliver({ error: unreachable(address, operation) });
      this.connections.add(connection);
      endpoint.process.run(() => void this.produce(endpoint, operation, args, connection, deliver));
    });
    try {
      for (;;) {
        if (arrived.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        const item = arrived.shift();
        if (item === undefined) continue;
        if ('end' in item) return;
        if ('error' in item) throw item.error;
        yield item.chunk;
      }
    } finally {
      connection.closed = true; // stopped reading: the producing node stops at its next item
      this.connections.delete(connection);
    }
  }

  private async produce(endpoint: Endpoint, operation: string, args: Readonly<Record<string, unknown>>, connection: Connection, deliver: (item: StreamItem) => void): Promise<void> {
    try {
      for await (const chunk of endpoint.stream(operation, args)) {
        if (connection.closed) return;
        deliver({ chunk });
      }
      deliver({ end: true });
    } catch (error) {
      deliver({ error: this.wire(error) });
    }
  }

  /** An error as the calling node receives it. */
  private wire(error: unknown): FactumError {
    if (isFactumError(error)) return new FactumError(error.code, error.message, { ...error.data });
    this.onBug(error);
    return new FactumError('server/internal', `The node failed while answering (a bug): ${String(error)}`, {});
  }

  /** The Peers of the node running `source`, as a seat and its novelty feed use them. */
  peersOf(source: VirtualProcess): Peers {
    const peers = {
      at: (address: string) => ({
        call: async (operation: string, args: Record<string, unknown>) => ({ value: await this.call(source, address, operation, args), basisT: null }),
        streamChunks: (operation: string, args: Record<string, unknown>) => this.stream(source, address, operation, args),
      }),
    };
    // The seat and its feed call only at(address).call and .streamChunks; Peers itself holds HTTP transports.
    return peers as unknown as Peers;
  }
}

function unreachable(address: string, operation: string): FactumError {
  return new FactumError('client/network', `The connection to ${address} failed during ${operation} (simulated: the node is down).`, { host: address, operation });
}
