// The errors of the transactor lease (lease-keeper.ts): why this node may not write a database's
// log, said so that a user (or the forwarding layer) knows what happened and what to do.
import { FactumError } from '../util/errors.ts';
import type { LeaseHolder } from './lease-keeper.ts';

function named(holder: LeaseHolder | null): string {
  return holder === null ? 'no node is known to hold it now' : `node ${holder.nodeId} (${holder.address}) holds it now`;
}

/** Another node wrote the lease record: this node's renewal was refused. */
export function leaseTaken(log: string, nodeId: string, taker: LeaseHolder | null): FactumError {
  return new FactumError(
    'cluster/lease-lost',
    `Node ${nodeId} lost the transactor lease of database log ${log}: another node took it over (${named(taker)}). ` +
      'This node writes nothing more to that log; retry the transaction, it goes to the new transactor.',
    { log, nodeId, reason: 'taken', holder: taker?.nodeId ?? null },
  );
}

/** The belief ran out before a renewal succeeded (storage unreachable, or the process was paused). */
export function leaseExpired(log: string, nodeId: string, lateMs: number, cause: FactumError | null): FactumError {
  const why = cause === null ? 'no renewal succeeded in time (was the process paused?)' : `renewals failed: ${cause.message}`;
  return new FactumError(
    'cluster/lease-lost',
    `Node ${nodeId} lost the transactor lease of database log ${log}: it ran out ${Math.round(lateMs)} ms ago because ${why}. ` +
      'Another node may now take it over; retry the transaction, it goes to whichever node holds the lease.',
    { log, nodeId, reason: 'expired', lateMs, cause: cause?.code ?? null },
    { cause },
  );
}

/** This node released the lease: it stopped, or stopped watching the database. */
export function leaseReleased(log: string, nodeId: string): FactumError {
  return new FactumError(
    'cluster/lease-lost',
    `Node ${nodeId} released the transactor lease of database log ${log} because it is stopping or no longer serves the database. ` +
      'Retry the transaction; another node takes the lease over at once.',
    { log, nodeId, reason: 'released' },
  );
}

/** `guard` on a node that does not hold the lease. */
export function notLeaseHolder(log: string, nodeId: string, holder: LeaseHolder | null): FactumError {
  return new FactumError(
    'cluster/lease-lost',
    `Node ${nodeId} does not hold the transactor lease of database log ${log} (${named(holder)}), so it may not write the log. ` +
      'Forward the transaction to the holder, or retry once a node holds the lease.',
    { log, nodeId, reason: 'not-holder', holder: holder?.nodeId ?? null },
  );
}

/** `waitForHolder` gave up: aborted by its signal, or the database stopped being watched. */
export function noLeaseHolder(log: string, why: string, cause?: unknown): FactumError {
  return new FactumError(
    'cluster/no-leader',
    `No node held the transactor lease of database log ${log} in time: ${why}. ` +
      'The transaction was not sent; retry it later (a failover takes up to two lease periods).',
    { log },
    { cause },
  );
}
