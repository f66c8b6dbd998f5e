//! Which faults a run of the whole-system simulation meets, all drawn from its seed: the events
//! (a node crashed, stopped, paused, its clock jumping, its novelty pushes slow or lost, storage
//! in trouble for a while) and, while storage is in trouble, which calls fail and how.
//!
//!   event             what it does                                            then
//!   crash             kill -9 of a node at a random instant (any await point)  a new node later
//!   crash-at-call     kill -9 of a node as it sends its next storage call      a new node later
//!                     (the call lands; the node never resumes from its await)
//!   crash-at-write    kill -9 of a node as its next write lands, before the    a new node later
//!                     answer reaches it
//!   stop              a graceful stop (leases released, seats closed)         a new node later
//!   pause             SIGSTOP, 0.2 to 3 lease periods (longer than the lease   SIGCONT
//!                     counts as a long pause)
//!   clock-jump        the node's monotonic clock jumps 0.3 to 3 periods ahead
//!   slow-pushes       novelty streams to the node are held, then delivered
//!   lost-pushes       novelty streams to the node break (chunks lost)          it reconnects
//!   partition         the node is cut off from the other nodes (clients and    healed
//!                     storage still reach it)
//!   throttle, unavailable, timeout, lost-response, corrupt
//!                     storage in trouble for one node or all, for a while:
//!                     a share of its calls meets that fault (simulated-storage.ts)
//!
//! Every event ends by `quietMs` (the liveness mode's last fifth has none): a pause resumes, a
//! crashed node's replacement starts, storage trouble ends.
import type { StorageCall, StorageDecision, StorageFaultKind } from './simulated-storage.ts';

export type EventKind = 'crash' | 'crash-at-call' | 'crash-at-write' | 'stop' | 'pause' | 'long-pause' | 'clock-jump' | 'slow-pushes' | 'lost-pushes' | 'partition';
export type FaultKind = EventKind | StorageFaultKind;

/** Faults injected, by kind: events as they happen, storage faults per call that met one. */
export type FaultCounts = Record<FaultKind, number>;

export function noFaults(): FaultCounts {
  return { crash: 0, 'crash-at-call': 0, 'crash-at-write': 0, stop: 0, pause: 0, 'long-pause': 0, 'clock-jump': 0, 'slow-pushes': 0, 'lost-pushes': 0, partition: 0, throttle: 0, unavailable: 0, timeout: 0, 'lost-response': 0, corrupt: 0 };
}

/** One planned event: at `atMs`, on the running node picked by `pick` (in [0, 1)), lasting `durationMs`. */
export interface PlannedEvent {
  readonly atMs: number;
  readonly kind: EventKind | StorageFaultKind;
  readonly pick: number;
  readonly durationMs: number;
  /** Storage trouble: all nodes' calls, or only the picked node's. */
  readonly everyNode: boolean;
}

/** Weights of the event kinds (storage trouble is picked as often as node faults). */
const weights: ReadonlyArray<readonly [PlannedEvent['kind'], number]> = [
  ['crash', 3],
  ['crash-at-call', 1],
  ['crash-at-write', 2],
  ['stop', 1],
  ['pause', 3],
  ['clock-jump', 1],
  ['slow-pushes', 1],
  ['lost-pushes', 1],
  ['partition', 1],
  ['throttle', 2],
  ['unavailable', 2],
  ['timeout', 1],
  ['lost-response', 2],
  ['corrupt', 2],
];
const totalWeight = weights.reduce((sum, [, weight]) => sum + weight, 0);

function kindAt(roll: number): PlannedEvent['kind'] {
  let left = roll * totalWeight;
  for (const [kind, weight] of weights) {
    if (left < weight) return kind;
    left -= weight;
  }
  return weights[weights.length - 1]![0];
}

/**
 * The events of a run, from 0.5 periods on until `faultEndMs`, each ending by `quietMs`. Runs
 * differ in intensity: from a fault every 0.06 to 0.54 periods (a storm) to one every 0.2 to 1.8.
 */
export function planEvents(random: () => number, periodMs: number, faultEndMs: number, quietMs: number): PlannedEvent[] {
  const events: PlannedEvent[] = [];
  const intensity = 0.3 + random() * 0.7;
  for (let atMs = (0.5 + random()) * periodMs; atMs < faultEndMs; atMs += (0.2 + random() * 1.6) * intensity * periodMs) {
    const kind = kindAt(random());
    const pick = random();
    const durationMs = Math.min((0.2 + random() * 2.8) * periodMs, quietMs - atMs);
    events.push({ atMs, kind, pick, durationMs, everyNode: random() < 0.5 });
  }
  return events;
}

/** Storage in trouble: until `untilMs`, calls of `nodeId` (null: every node) meet `kind` at its rate. */
export interface Trouble {
  readonly kind: StorageFaultKind;
  readonly nodeId: string | null;
  readonly untilMs: number;
}

/** The share of calls that meet each fault while it is on (of the calls it can apply to). */
const rates: Readonly<Record<StorageFaultKind, number>> = { throttle: 0.3, unavailable: 0.2, timeout: 0.1, 'lost-response': 0.3, corrupt: 0.3 };

function appliesTo(kind: StorageFaultKind, call: StorageCall): boolean {
  if (kind === 'corrupt') return call.name === 'getSegment';
  if (kind === 'lost-response') return call.name === 'appendLog' || call.name === 'casRecord' || call.name === 'putSegment';
  return true;
}

/** What one storage call meets, given the troubles on now. */
export function decideCall(random: () => number, nowMs: number, nodeId: string, call: StorageCall, troubles: readonly Trouble[], periodMs: number): StorageDecision {
  const latencyMs = 1 + random() * 10;
  for (const trouble of troubles) {
    if (trouble.untilMs <= nowMs || (trouble.nodeId !== null && trouble.nodeId !== nodeId) || !appliesTo(trouble.kind, call)) continue;
    if (random() >= rates[trouble.kind]) continue;
    if (trouble.kind === 'timeout') return { latencyMs, fault: 'timeout', landed: random() < 0.5, timeoutMs: (0.5 + random() * 1.5) * periodMs };
    if (trouble.kind === 'corrupt') return { latencyMs, fault: 'corrupt', bit: random() };
    return { latencyMs, fault: trouble.kind };
  }
  return { latencyMs, fault: null };
}
