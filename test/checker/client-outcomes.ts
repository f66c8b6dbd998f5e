// What the workloads make of a client call that failed: whether the transaction certainly did
// not happen, and a connection retried while the node is down.
import type { Client, Connection } from '../../client/types.ts';
import { isFactumError } from '../../nodes/util/errors.ts';

/**
 * Errors after which a transaction certainly did not commit: the node refused it as incorrect,
 * forbidden, not found or in conflict (a lost :db/cas race). Anything else (a timeout, a lost
 * connection, busy or unavailable after the client's own retries) leaves it unknown.
 */
export function definitelyRefused(error: unknown): boolean {
  return isFactumError(error) && (error.category === 'incorrect' || error.category === 'forbidden' || error.category === 'not-found' || error.category === 'conflict');
}

/** A connection, retried while the node is down (a killed node comes back); null once `more` says the run is over. */
export async function connectRetrying(client: Client, database: string, more: () => boolean): Promise<Connection | null> {
  for (let wait = 50; more(); wait = Math.min(wait * 2, 1000)) {
    try {
      return await client.connect(database);
    } catch (error) {
      if (isFactumError(error) && (error.category === 'incorrect' || error.category === 'forbidden' || error.category === 'not-found')) throw error;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  return null;
}
