//! What a lease record, as one node last saw it, means at a moment by that node's clock: who holds
//! the lease, from when it is free to take, and whether the record is this node's own. Pure: the
//! keeper (lease-keeper.ts) reads and writes; these functions only decide.
//!
//!   record                          holder        free to take from
//!   ------------------------------  ------------  -------------------------------------------------
//!   absent, or released             none          firstSeenMs (at once)
//!   names this keeper, not released  none (ours)  firstSeenMs: no other node can believe in it
//!   names another node              that node     firstSeenMs + its periodMs × (1 + clockRateErrorMax)
//!   corrupt                         none          firstSeenMs + this node's periodMs × (1 + ...)
//!
//! Invariant: `firstSeenMs` is the time of the first read that returned this version, taken after
//! the read answered, so after the write landed (and so after its writer took its `start`); a later
//! read of the same version and bytes keeps it. A taker's clock then counts a whole period, plus
//! the rate margin, past the end of the belief that write gave its holder.
import type { LeaseHolder } from './lease-keeper.ts';
import type { LeaseRecord } from './lease-record.ts';

/** Clocks of two nodes may run at rates this far apart (quartz: 0.01%): a taker waits this much longer. */
export const clockRateErrorMax = 0.01;

/** The lease record as a node last knew it: read from storage, or written by the node itself. */
export interface Observation {
  readonly version: number | null; // null: no record
  readonly bytes: Uint8Array | null;
  readonly record: LeaseRecord | null; // null: no record, or a corrupt one
  readonly firstSeenMs: number;
  /** This node's claim jitter for this version (spreads claims of nodes that saw it together). */
  readonly jitterMs: number;
}

export interface View {
  /** The live holder other nodes should talk to; null when none (this node's own record included). */
  readonly holder: LeaseHolder | null;
  /** From when this node may take the lease (before any stagger). */
  readonly freeAtMs: number;
  /** The record names this node and is not released. */
  readonly ours: boolean;
}

export function sameBytes(left: Uint8Array | null, right: Uint8Array | null): boolean {
  if (left === null || right === null) return left === right;
  return left.length === right.length && left.every((byte, index) => byte === right[index]);
}

/** Whether a read returned the record `seen` already holds (so its period keeps counting). */
export function unchanged(seen: Observation | null, version: number | null, bytes: Uint8Array | null): boolean {
  return seen !== null && seen.version === version && sameBytes(seen.bytes, bytes);
}

/** Who is looking: the keeper's node id and incarnation (lease-record.ts), and its own period. */
export interface Viewer {
  readonly nodeId: string;
  readonly incarnation: string;
  readonly periodMs: number;
}

/** What `seen` means at `nowMs` to `viewer`. */
export function viewLease(seen: Observation | null, viewer: Viewer, nowMs: number): View {
  if (seen === null) return { holder: null, freeAtMs: Number.POSITIVE_INFINITY, ours: false }; // nothing read yet
  const record = seen.record;
  if (seen.version === null || record?.released === true) return { holder: null, freeAtMs: seen.firstSeenMs, ours: false };
  if (record?.nodeId === viewer.nodeId && record.incarnation === viewer.incarnation) return { holder: null, freeAtMs: seen.firstSeenMs, ours: true };
  const freeAtMs = seen.firstSeenMs + (record?.periodMs ?? viewer.periodMs) * (1 + clockRateErrorMax);
  const live = record !== null && nowMs < freeAtMs;
  return { holder: live ? { nodeId: record.nodeId, address: record.address } : null, freeAtMs, ours: false };
}
