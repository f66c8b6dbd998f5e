//! The other nodes of the system, as this node calls them: one keep-alive transport per address,
//! every request signed with the system's admin key (the nodes trust each other; a client's own
//! permission was checked by the node it called).
//!
//! A call is tried once: the caller (database-seat.ts) decides whether and where to try again,
//! because after a failover the right node is another one.
import { Transport } from '../../client/remote/transport.ts';
import type { AccessKey } from '../../client/remote/access-key.ts';
import { FactumError } from '../util/errors.ts';

/** How long a node waits for another's answer to a forwarded call. */
const PEER_TIMEOUT_MS = 30_000;

export class Peers {
  private readonly transports = new Map<string, Transport>();
  private closed = false;

  constructor(
    private readonly system: string,
    private readonly adminKey: () => Promise<AccessKey>,
  ) {}

  /** The transport to the node at `address` (http://host:port). */
  at(address: string): Transport {
    let transport = this.transports.get(address);
    if (transport === undefined) {
      if (this.closed) throw new FactumError('server/stopping', `This node is stopping: it makes no more calls to other nodes (here: ${address}). Retry against another node.`, { address });
      transport = new Transport({ endpoint: address, system: this.system, key: this.adminKey, timeoutMs: PEER_TIMEOUT_MS, retry: { attemptsMax: 1 } });
      this.transports.set(address, transport);
    }
    return transport;
  }

  close(): void {
    this.closed = true;
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
  }
}
