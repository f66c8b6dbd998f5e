//! The shared storage service (one MemoryStorage: DynamoDB and S3 of the system) as one simulated
//! node reaches it: every call takes a latency to land and as long again for its answer, and may
//! meet a fault the simulation's plan picks for it (fakes are ordinary source files, STYLE.md).
//!
//!   throttle        refused before it lands: `storage/busy` (DynamoDB throttling, after the
//!                   AWS layer's own retries gave up)
//!   unavailable     a 5xx before it lands: `storage/unavailable`, nothing done
//!   timeout         no answer for `timeoutMs`, then `storage/unavailable`; a write may have
//!                   landed meanwhile (the plan says whether)
//!   lost-response   a write (log append, casRecord, segment put) landed and its answer was lost:
//!                   `storage/unavailable`, the ambiguous outcome
//!   corrupt         a segment read answers its bytes with one bit flipped (the node must detect
//!                   it by the segment's checksum, and never answer from it)
//!
//! Invariants: a request is on the wire once sent and lands even if its node dies meanwhile; its
//! answer is handled only while the node runs (held through a pause, dropped once it is killed),
//! as lease-test-support.ts's VirtualProcess runs it. Iterables (readLog, listSegments) are read
//! whole when the call lands. Every draw comes from the plan, so a seed replays exactly.
import { overriding, type VirtualProcess, type VirtualTime } from '../../nodes/cluster/lease-test-support.ts';
import type { LogEntry, Storage, VersionedRecord } from '../../nodes/storage/protocol.ts';
import { FactumError } from '../../nodes/util/errors.ts';

export type StorageFaultKind = 'throttle' | 'unavailable' | 'timeout' | 'lost-response' | 'corrupt';

/** A storage call as the plan sees it. */
export interface StorageCall {
  readonly name: string;
  /** The key, log or prefix it is about. */
  readonly key: string;
  readonly write: boolean;
}

/** What happens to one call. */
export interface StorageDecision {
  readonly latencyMs: number;
  readonly fault: StorageFaultKind | null;
  /** timeout: whether a write landed before its answer was lost. */
  readonly landed?: boolean;
  /** timeout: how long the caller waits for nothing. */
  readonly timeoutMs?: number;
  /** corrupt: which bit of the answer flips, in [0, 1). */
  readonly bit?: number;
}

export interface StoragePlan {
  decide(call: StorageCall): StorageDecision;
  /** A write landed on the shared storage (`applied`: its condition held); the plan may kill the node now, before the answer. */
  landed?(call: StorageCall, applied: boolean): void;
  /** An append is sent (right after the transactor's write guard passed). */
  appending?(log: string, position: number): void;
  /** A planted bug (the simulation's own test): this append is answered `true` and never stored. */
  forget?(log: string, position: number): boolean;
}

function injected(call: StorageCall, kind: StorageFaultKind): FactumError {
  if (kind === 'throttle') return new FactumError('storage/busy', `simulated: ${call.name}(${call.key}) was throttled`, { key: call.key, injected: true });
  const how = kind === 'timeout' ? 'timed out' : kind === 'lost-response' ? 'landed and its answer was lost' : 'failed with a 5xx';
  return new FactumError('storage/unavailable', `simulated: ${call.name}(${call.key}) ${how}`, { key: call.key, injected: true });
}

function flipped(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const index = Math.floor(bit * bytes.length * 8);
  copy[index >> 3]! ^= 1 << (index & 7);
  return copy;
}

/** `shared` as the node running `process` reaches it, with the faults `plan` picks. */
export function simulatedStorage(shared: Storage, time: VirtualTime, process: VirtualProcess, plan: StoragePlan): Storage {
  const call = <T>(described: StorageCall, operation: () => Promise<T>, alter?: (value: T, decision: StorageDecision) => T): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const decision = plan.decide(described);
      const { fault, latencyMs } = decision;
      const answer = (delayMs: number, settle: () => void) => time.schedule(delayMs, () => process.run(settle));
      time.schedule(latencyMs, () => {
        const lands = fault === null || fault === 'corrupt' || fault === 'lost-response' || (fault === 'timeout' && decision.landed === true && described.write);
        if (!lands) return answer(fault === 'timeout' ? (decision.timeoutMs ?? 0) : latencyMs, () => reject(injected(described, fault!)));
        operation().then(
          (value) => {
            if (fault === 'timeout' || fault === 'lost-response') return answer(fault === 'timeout' ? (decision.timeoutMs ?? 0) : latencyMs, () => reject(injected(described, fault)));
            answer(latencyMs, () => resolve(alter === undefined ? value : alter(value, decision)));
          },
          (error: unknown) => answer(latencyMs, () => reject(error)),
        );
      });
    });
  const write = <T>(name: string, key: string, operation: () => Promise<T>, applied: (value: T) => boolean = () => true): Promise<T> => {
    const described = { name, key, write: true };
    return call(described, async () => {
      const value = await operation();
      plan.landed?.(described, applied(value));
      return value;
    });
  };
  const whole = <T>(name: string, key: string, iterable: () => AsyncIterable<T>) =>
    (async function* () {
      yield* await call({ name, key, write: false }, async () => {
        const items: T[] = [];
        for await (const item of iterable()) items.push(item);
        return items;
      });
    })();
  return overriding(shared, {
    appendLog: (log, position, bytes) => {
      plan.appending?.(log, position);
      if (plan.forget?.(log, position) === true) return call({ name: 'appendLog', key: log, write: true }, () => Promise.resolve(true));
      return write('appendLog', log, () => shared.appendLog(log, position, bytes), (appended) => appended);
    },
    readLog: (log, start, end) => whole<LogEntry>('readLog', log, () => shared.readLog(log, start, end)),
    logLength: (log) => call({ name: 'logLength', key: log, write: false }, () => shared.logLength(log)),
    putSegment: (key, bytes) => write('putSegment', key, () => shared.putSegment(key, bytes)),
    getSegment: (key) =>
      call({ name: 'getSegment', key, write: false }, () => shared.getSegment(key), (bytes, decision) =>
        bytes !== null && bytes.length > 0 && decision.fault === 'corrupt' ? flipped(bytes, decision.bit ?? 0) : bytes,
      ),
    listSegments: (prefix) => whole<string>('listSegments', prefix, () => shared.listSegments(prefix)),
    deleteSegments: (keys) => write('deleteSegments', keys[0] ?? '', () => shared.deleteSegments(keys)),
    getRecord: (key): Promise<VersionedRecord | null> => call({ name: 'getRecord', key, write: false }, () => shared.getRecord(key)),
    casRecord: (key, version, bytes) => write('casRecord', key, () => shared.casRecord(key, version, bytes), (swapped) => swapped),
    deleteRecord: (key, version) => write('deleteRecord', key, () => shared.deleteRecord(key, version), (deleted) => deleted),
  });
}
