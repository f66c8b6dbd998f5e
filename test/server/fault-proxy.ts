//! A TCP proxy on 127.0.0.1 between a client and a node that injects faults per a seeded plan.
//!
//!   client ──▶ proxy (127.0.0.1:<port>) ──▶ node
//!
//! For each HTTP request it decides, with the plan's seeded generator, one action:
//! - `forward`: bytes go both ways untouched;
//! - `drop-response`: the request reaches the node, which does the work; when the first byte of
//!   the response comes back, both connections are destroyed, so the client sees a reset with
//!   no answer (the case idempotency keys exist for: did it happen or not?);
//! - `delay`: the response is held back a seeded number of ms before it is forwarded.
//!
//! Request boundaries without parsing HTTP: a client of this project never pipelines, so a chunk
//! from the client while no request waits for its answer starts a new request, and the first chunk
//! of the answer ends the wait. The request line of that first chunk (`POST /api/transact`) is
//! kept, so a plan can inject faults only into some operations and a test can count what it did.
//! The generator is drawn from in the order requests arrive, so concurrent runs draw the same
//! numbers but may give them to other requests: the seed fixes the mix of faults, not which call
//! receives which.
import net from 'node:net';
import { seededRandom } from '../../nodes/util/random.ts';

export type FaultAction = 'forward' | 'drop-response' | 'delay';

export interface FaultPlan {
  readonly seed: number;
  /** Fraction of requests whose response is dropped. */
  readonly dropRate: number;
  /** Fraction of requests whose response is delayed. */
  readonly delayRate?: number;
  /** The longest delay. @default 20 */
  readonly delayMsMax?: number;
  /** Paths (`/api/transact`) that may get faults; others are always forwarded. @default - every path */
  readonly paths?: readonly string[];
}

/** What the proxy did, per action, by request path. */
export interface FaultCounts {
  readonly forward: Map<string, number>;
  readonly 'drop-response': Map<string, number>;
  readonly delay: Map<string, number>;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the client as its endpoint. */
  readonly endpoint: string;
  readonly counts: FaultCounts;
  /** How many requests to `path` got `action`. */
  count(action: FaultAction, path: string): number;
  /** Stops listening and destroys every open connection. */
  close(): Promise<void>;
}

/** Starts a proxy to `target` (host:port, as in the node's endpoint) on a port chosen at run time. */
export async function startFaultProxy(target: { readonly host: string; readonly port: number }, plan: FaultPlan): Promise<FaultProxy> {
  const random = seededRandom(plan.seed);
  const delayRate = plan.delayRate ?? 0;
  const delayMsMax = plan.delayMsMax ?? 20;
  const counts: FaultCounts = { forward: new Map(), 'drop-response': new Map(), delay: new Map() };
  const sockets = new Set<net.Socket>();

  const decide = (path: string): { action: FaultAction; delayMs: number } => {
    // Draw the same numbers whatever the path, so the sequence of draws depends on requests only.
    const roll = random();
    const delayMs = Math.floor(random() * delayMsMax);
    const faulty = plan.paths === undefined || plan.paths.includes(path);
    const action: FaultAction = !faulty ? 'forward' : roll < plan.dropRate ? 'drop-response' : roll < plan.dropRate + delayRate ? 'delay' : 'forward';
    counts[action].set(path, (counts[action].get(path) ?? 0) + 1);
    return { action, delayMs };
  };

  const server = net.createServer((downstream) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(downstream);
    sockets.add(upstream);
    const destroyBoth = (): void => {
      downstream.destroy();
      upstream.destroy();
    };
    // A failure on either side ends the pair: the client sees the connection go, as it would.
    downstream.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
    downstream.on('close', () => {
      sockets.delete(downstream);
      upstream.destroy();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      // Answers held back by a delay go out before the client's side is ended.
      void sending.then(() => downstream.end());
    });

    let current: { action: FaultAction; delayMs: number } | null = null;
    let sending: Promise<void> = Promise.resolve();
    downstream.on('data', (chunk: Buffer) => {
      if (current === null) current = decide(requestPath(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const request = current;
      current = null; // the answer has begun: the client's next chunk is a new request
      const action = request?.action ?? 'forward';
      if (action === 'drop-response') {
        destroyBoth();
        return;
      }
      if (action === 'delay') {
        const wait = request!.delayMs;
        sending = sending.then(() => new Promise<void>((resolve) => setTimeout(resolve, wait)));
      }
      sending = sending.then(() => {
        if (!downstream.destroyed) downstream.write(chunk);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts,
    count: (action, path) => counts[action].get(path) ?? 0,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The path of the request line at the start of `chunk` (`POST /api/transact HTTP/1.1`), or `?`. */
function requestPath(chunk: Buffer): string {
  const line = chunk.subarray(0, Math.min(chunk.length, 512)).toString('latin1');
  const match = /^[A-Z]+ (\S+) HTTP\//.exec(line);
  return match === null ? '?' : match[1]!;
}
