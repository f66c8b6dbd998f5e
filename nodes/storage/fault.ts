//! A storage that wraps another and injects faults, drawn from a seeded generator so that a failing
//! test replays exactly: operations fail before they reach storage, fail after a write was made (the
//! ambiguous outcome a timeout gives: the caller cannot know whether it happened), wait a random
//! delay first (which reorders concurrent calls), or return bytes with one bit flipped.
//!
//! Faults are ordinary return values of the wrapped storage's contract: failures are FactumErrors
//! `storage/unavailable` with `data.injected === true`, so upper layers are tested on the same
//! paths real failures take. Turn injection off and on with `faults.enabled`.

import type { LogEntry, Storage, VersionedRecord } from './protocol.ts';
import { FactumError } from '../util/errors.ts';
import { seededRandom } from '../util/random.ts';

export { seededRandom };


export type StorageOperation = Exclude<keyof Storage, 'kind'>;

export interface FaultOptions {
  readonly seed: number;
  /** Probability that an operation fails before it reaches storage. @default 0 */
  readonly failRate?: number;
  /** Probability that a write is made and then reported as failed. @default 0 */
  readonly failAfterWriteRate?: number;
  /** Each operation first waits a random time in [0, delayMs). @default 0 */
  readonly delayMs?: number;
  /** Probability that the bytes of a read (log entry, segment, record) come back with one bit flipped. @default 0 */
  readonly corruptReadRate?: number;
  /** The operations faults apply to. @default every operation except close */
  readonly operations?: readonly StorageOperation[];
}

export interface FaultEvent {
  readonly operation: StorageOperation;
  readonly fault: 'fail' | 'fail-after-write' | 'corrupt-read';
}

export interface FaultControl {
  /** Injection happens only while true. @default true */
  enabled: boolean;
  /** Every fault injected so far, in order. */
  readonly events: FaultEvent[];
}

export interface FaultyStorage extends Storage {
  readonly faults: FaultControl;
}

const writes: ReadonlySet<StorageOperation> = new Set([
  'appendLog',
  'deleteLog',
  'putSegment',
  'deleteSegments',
  'casRecord',
  'deleteRecord',
]);

class FaultInjector {
  readonly control: FaultControl = { enabled: true, events: [] };
  private readonly random: () => number;
  private readonly operations: ReadonlySet<StorageOperation>;

  constructor(private readonly options: FaultOptions) {
    this.random = seededRandom(options.seed);
    const all: StorageOperation[] = [...writes, 'readLog', 'logLength', 'getSegment', 'listSegments', 'getRecord'];
    this.operations = new Set(options.operations ?? all);
  }

  private roll(operation: StorageOperation, rate: number | undefined): boolean {
    return this.control.enabled && this.operations.has(operation) && (rate ?? 0) > 0 && this.random() < (rate ?? 0);
  }

  private injected(operation: StorageOperation, fault: FaultEvent['fault']): FactumError {
    this.control.events.push({ operation, fault });
    return new FactumError('storage/unavailable', `injected fault: ${operation} failed (${fault})`, {
      operation,
      fault,
      injected: true,
    });
  }

  /** The delay before `operation`, in milliseconds (0: none, the call goes straight through). */
  delayFor(operation: StorageOperation): number {
    const delayMs = this.options.delayMs ?? 0;
    return this.control.enabled && this.operations.has(operation) && delayMs > 0 ? this.random() * delayMs : 0;
  }

  /** Fails if the roll says so; call just before the operation. */
  before(operation: StorageOperation): void {
    if (this.roll(operation, this.options.failRate)) throw this.injected(operation, 'fail');
  }

  /** Fails a write that was made, if the roll says so; call after the operation. */
  after(operation: StorageOperation): void {
    if (writes.has(operation) && this.roll(operation, this.options.failAfterWriteRate)) {
      throw this.injected(operation, 'fail-after-write');
    }
  }

  /** The bytes, or a copy with one bit flipped. */
  read(operation: StorageOperation, bytes: Uint8Array): Uint8Array {
    if (bytes.length === 0 || !this.roll(operation, this.options.corruptReadRate)) return bytes;
    this.control.events.push({ operation, fault: 'corrupt-read' });
    const corrupted = Uint8Array.from(bytes);
    const bit = Math.floor(this.random() * bytes.length * 8);
    corrupted[bit >> 3] ^= 1 << (bit & 7);
    return corrupted;
  }
}

class FaultyStorageImpl implements FaultyStorage {
  readonly kind: string;
  readonly faults: FaultControl;

  constructor(
    private readonly inner: Storage,
    private readonly injector: FaultInjector,
  ) {
    this.kind = inner.kind;
    this.faults = injector.control;
  }

  /** Without a delay the call reaches the wrapped storage at once, as it would unwrapped. */
  private around<T>(operation: StorageOperation, run: () => Promise<T>): Promise<T> {
    const start = async (): Promise<T> => {
      this.injector.before(operation);
      const value = await run();
      this.injector.after(operation);
      return value;
    };
    const delay = this.injector.delayFor(operation);
    if (delay === 0) return start();
    return new Promise((resolve) => setTimeout(resolve, delay)).then(start);
  }

  private async wait(operation: StorageOperation): Promise<void> {
    const delay = this.injector.delayFor(operation);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  }

  appendLog(log: string, position: number, bytes: Uint8Array): Promise<boolean> {
    return this.around('appendLog', () => this.inner.appendLog(log, position, bytes));
  }

  async *readLog(log: string, start: number, end?: number): AsyncIterable<LogEntry> {
    await this.wait('readLog');
    this.injector.before('readLog');
    for await (const entry of this.inner.readLog(log, start, end)) {
      yield { position: entry.position, bytes: this.injector.read('readLog', entry.bytes) };
    }
  }

  logLength(log: string): Promise<number> {
    return this.around('logLength', () => this.inner.logLength(log));
  }

  deleteLog(log: string): Promise<void> {
    return this.around('deleteLog', () => this.inner.deleteLog(log));
  }

  putSegment(key: string, bytes: Uint8Array): Promise<void> {
    return this.around('putSegment', () => this.inner.putSegment(key, bytes));
  }

  async getSegment(key: string): Promise<Uint8Array | null> {
    const bytes = await this.around('getSegment', () => this.inner.getSegment(key));
    return bytes === null ? null : this.injector.read('getSegment', bytes);
  }

  async *listSegments(prefix: string): AsyncIterable<string> {
    await this.wait('listSegments');
    this.injector.before('listSegments');
    yield* this.inner.listSegments(prefix);
  }

  deleteSegments(keys: readonly string[]): Promise<void> {
    return this.around('deleteSegments', () => this.inner.deleteSegments(keys));
  }

  async getRecord(key: string): Promise<VersionedRecord | null> {
    const record = await this.around('getRecord', () => this.inner.getRecord(key));
    return record === null ? null : { version: record.version, bytes: this.injector.read('getRecord', record.bytes) };
  }

  casRecord(key: string, expectedVersion: number | null, bytes: Uint8Array): Promise<boolean> {
    return this.around('casRecord', () => this.inner.casRecord(key, expectedVersion, bytes));
  }

  deleteRecord(key: string, expectedVersion: number): Promise<boolean> {
    return this.around('deleteRecord', () => this.inner.deleteRecord(key, expectedVersion));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/**
 * Wraps `storage` so that it fails, delays or corrupts operations at the given rates.
 *
 * @example
 * const storage = withFaults(createMemoryStorage(), { seed: 7, failRate: 0.1, delayMs: 5 });
 * storage.faults.enabled = false; // set up data without faults, then turn them back on
 */
export function withFaults(storage: Storage, options: FaultOptions): FaultyStorage {
  return new FaultyStorageImpl(storage, new FaultInjector(options));
}
