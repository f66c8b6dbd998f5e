//! The node's HTTP server: the client API of client/types.ts over HTTP/1.1 with keep-alive
//! (client/wire/protocol.ts has the protocol).
//!
//!   request ─▶ /health? ─▶ authenticate headers ─▶ read body (bounded) ─▶ authenticate body
//!           ─▶ decode ─▶ authorize
//!           ─▶ admit (gate per kind of work, or busy) ─▶ handler ─▶ one message | frames | EDN
//!
//! Every request but `GET /health` is authenticated (nodes/server/authenticate.ts). Errors keep
//! their code, category, message and data, with the category's HTTP status. A stream stops
//! producing as soon as its client stops reading (backpressure) or goes away (close).
//! An admin request is carried out once (a replayed signature is refused); a transaction without
//! an idempotency key gets one made from its signature, so a replayed request is applied once.
//! `drain()` stops taking requests, lets those in flight finish, then resolves.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basisHeader, contentTypes, httpStatusOf, operations, type Operation } from '../../client/wire/protocol.ts';
import type { AccessKey } from '../../client/remote/access-key.ts';
import { FactumError, isFactumError } from '../util/errors.ts';
import { authenticateBody, authenticateHeaders, authorize, type Need } from './authenticate.ts';
import { Gate } from './gate.ts';
import { databasesOf, handlers, Stream, type OperationContext } from './operations.ts';
import type { DatabaseHandle } from '../cluster/database-handle.ts';
import { ReplayGuard } from './replay-guard.ts';
import { decodeArgs, readBody } from './request-body.ts';
import { ionRequestOf, isIonPath, sendIonError, sendIonResponse, unavailableIons, type IonHttpRoute } from './ion-route.ts';
import { endStreamWithError, sendStream, sendValue, toWireError } from './responses.ts';

/** What the server logs and counts through (nodes/server/log.ts and metrics.ts provide them). */
export interface ServerObservers {
  readonly log: {
    info(fields: object, message?: string): void;
    warn(fields: object, message?: string): void;
    error(fields: object, message?: string): void;
  };
  readonly metrics?: {
    count(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
    timing(name: string, ms: number, dimensions?: Readonly<Record<string, string>>): void;
  };
}

export interface NodeServerOptions {
  readonly system: string;
  readonly host: string;
  readonly port: number;
  /** The key of an access key id, or undefined (the key store keeps this current). */
  readonly lookupKey: (keyId: string) => AccessKey | undefined;
  /** Reloads the keys after a request named an unknown one; true when they were (KeyCache.reloadForUnknown). */
  readonly reloadKeys?: () => Promise<boolean>;
  readonly context: Omit<OperationContext, 'visibleDatabases' | 'signature'>;
  readonly readsMax: number;
  readonly queueMax: number;
  readonly requestBytesMax: number;
  readonly observers: ServerObservers;
  /** The running revision's HTTP handler, for requests under /ion/ (nodes/ions). @default - none: they are refused */
  readonly ionHttp?: IonHttpRoute;
  /** What /health reports besides `status` (role, group, system). */
  readonly health: Readonly<Record<string, unknown>>;
}

export interface NodeServer {
  readonly server: Server;
  readonly endpoint: string;
  /** Marks the node ready: /health answers 200 from now on. */
  ready(): void;
  /** Stops taking requests, waits up to `drainMs` for those in flight, closes every connection. */
  drain(drainMs: number): Promise<void>;
}

const AUTH_WINDOW_MS = 5 * 60_000;

/** What each permission of client/wire/protocol.ts `operations` needs of the caller's key. */
const needOf: Readonly<Record<(typeof operations)[Operation], Need['kind'] | null>> = { list: null, read: 'read', write: 'write', admin: 'admin', node: 'admin' };

/** Novelty streams a node serves at most (each following node opens one per database it leads). */
const FOLLOWS_MAX = 4096;

/** How many writes may wait on the transactor at once (it processes at most 256 per log write). */
const WRITES_RUNNING_MAX = 1024;

export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const handler = new RequestHandler(options);
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 300_000 }, (request, response) => handler.handle(request, response));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    endpoint: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    ready: () => handler.ready(),
    async drain(drainMs: number) {
      handler.state = 'stopping';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await handler.idle(drainMs);
      server.closeAllConnections();
      await closed;
    },
  };
}

class RequestHandler {
  state: 'starting' | 'ready' | 'stopping' = 'starting';
  private inFlight = 0;
  private onIdle: (() => void) | null = null;
  private readonly gates: Readonly<Record<'read' | 'write' | 'admin' | 'node', Gate>>;
  /** Novelty streams served now (internalFollow): one per following node and database. */
  private follows = 0;
  private readonly replays = new ReplayGuard(AUTH_WINDOW_MS);
  /**
   * Transactors by the promise `System.connect` answers for them, the same while the database
   * stays open: a request reads its basis t without waiting a turn of the event loop for it.
   */
  private readonly transactors = new WeakMap<Promise<DatabaseHandle>, DatabaseHandle>();

  constructor(private readonly options: NodeServerOptions) {
    this.gates = {
      read: new Gate('read', options.readsMax, options.queueMax),
      write: new Gate('write', WRITES_RUNNING_MAX, options.queueMax),
      admin: new Gate('admin', 4, Math.min(options.queueMax, 64)),
      // Work other nodes forward (transactions, gc) has its own places: a forwarded transaction
      // holds a write place on the node it came through, and must never wait for one here, or two
      // transactors forwarding to each other could fill each other's gates.
      node: new Gate('node', WRITES_RUNNING_MAX, options.queueMax),
    };
  }

  ready(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  /** Resolves when no request is in flight, or after `ms`. */
  async idle(ms: number): Promise<void> {
    if (this.inFlight === 0) return;
    await Promise.race([new Promise<void>((resolve) => (this.onIdle = resolve)), new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    if (request.url === '/health' && (request.method === 'GET' || request.method === 'HEAD')) {
      const ready = this.state === 'ready';
      response.writeHead(ready ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: ready ? 'ok' : this.state, ...this.options.health }));
      return;
    }
    this.inFlight++;
    void this.serve(request, response);
  }

  /** Answers one request, as a value or as a wire error; never rejects. */
  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { observers } = this.options;
    const started = performance.now();
    let gone = false;
    response.once('close', () => (gone = true));
    const edn = (request.headers.accept ?? '').includes(contentTypes.edn);
    const log: { operation: string; keyId?: string } = { operation: '-' };
    try {
      try {
        const streamed = await this.answer(request, response, edn, log, () => gone);
        observers.metrics?.count('Requests', 1, { Operation: log.operation });
        observers.log.info({ event: 'request', ...log, status: response.statusCode, ms: Math.round(performance.now() - started), ...streamed });
      } catch (error) {
        this.fail(request, response, edn, log, started, error);
      }
    } catch (error) {
      // A failure while answering a failure: the client must still get an answer, or a closed connection.
      observers.log.error({ event: 'error', error: error instanceof Error ? error.stack : String(error) }, 'could not answer a request');
      if (!response.headersSent) response.writeHead(500, { connection: 'close' }).end();
      else response.destroy();
    } finally {
      if (--this.inFlight === 0) this.onIdle?.();
      observers.metrics?.timing('RequestLatency', performance.now() - started);
    }
  }

  /** Logs, counts and answers a request's error. */
  private fail(request: IncomingMessage, response: ServerResponse, edn: boolean, log: { operation: string; keyId?: string }, started: number, error: unknown): void {
    const { observers } = this.options;
    const wire = toWireError(error);
    if (wire.category === 'fault') observers.log.error({ event: 'error', ...log, code: wire.code, error: error instanceof Error ? error.stack : String(error) }, 'request failed');
    else observers.log.info({ event: 'request', ...log, status: httpStatusOf(wire), code: wire.code, ms: Math.round(performance.now() - started) });
    observers.metrics?.count('Errors', 1, { Category: wire.category });
    if (wire.category === 'busy') observers.metrics?.count('BusyRefusals', 1);
    if (response.headersSent) return isIonPath(request.url) ? void response.destroy() : endStreamWithError(response, wire, edn);
    const headers: Record<string, string> = this.state === 'stopping' ? { connection: 'close' } : {};
    if (wire.category === 'busy' || wire.category === 'unavailable') headers['retry-after'] = '1';
    // The unread rest of a refused body would be taken for the next request on this connection.
    if (!request.complete) headers.connection = 'close';
    // An ion's HTTP callers (browsers, webhooks) read JSON, not the client's messages.
    if (isIonPath(request.url)) return sendIonError(response, httpStatusOf(wire), wire, headers);
    sendValue(response, httpStatusOf(wire), { error: wire }, edn, headers);
  }

  /** The transactor of an open database, if this handler has seen it open. */
  private opened(database: string): DatabaseHandle | undefined {
    return this.transactors.get(this.options.context.system.connect(database));
  }

  /** The transactor of a database (a handler used it just now, so it is open: no storage read). */
  private async open(database: string): Promise<DatabaseHandle> {
    const connecting = this.options.context.system.connect(database);
    const transactor = await connecting;
    this.transactors.set(connecting, transactor);
    return transactor;
  }

  /** A signed request's body and key (every check but the body's hash is made before the body is read). */
  private async authenticate(request: IncomingMessage): Promise<{ readonly signed: ReturnType<typeof authenticateHeaders>; readonly body: Uint8Array; readonly key: AccessKey }> {
    // Everything but the body's hash, the signature included, is checked before the body is read:
    // a client that cannot sign cannot make the node buffer a body.
    const toAuthenticate = { method: request.method ?? '', path: request.url ?? '', headers: request.headers };
    let signed;
    try {
      signed = authenticateHeaders(this.options.lookupKey, this.options.system, toAuthenticate, Date.now(), AUTH_WINDOW_MS);
    } catch (error) {
      // A key made since the last load (another node created a database): load the keys, check again.
      if (!isFactumError(error, 'auth/unknown-key') || this.options.reloadKeys === undefined || !(await this.options.reloadKeys())) throw error;
      signed = authenticateHeaders(this.options.lookupKey, this.options.system, toAuthenticate, Date.now(), AUTH_WINDOW_MS);
    }
    const body = await readBody(request, this.options.requestBytesMax);
    return { signed, body, key: authenticateBody(signed, body) };
  }

  /**
   * A request under /ion/, answered by the running revision's HTTP handler: signed like every
   * request (any key of the system), unless the revision's ion-config makes its handler public.
   */
  private async answerIon(request: IncomingMessage, response: ServerResponse, log: { operation: string; keyId?: string }, gone: () => boolean): Promise<undefined> {
    log.operation = 'ion-http';
    const handler = (this.options.ionHttp ?? unavailableIons()).handler();
    let body: Uint8Array;
    if (handler.isPublic) body = await readBody(request, this.options.requestBytesMax);
    else {
      const { signed, body: read, key } = await this.authenticate(request);
      body = read;
      log.keyId = key.keyId;
      // A signed request that may change something is carried out once: a captured one sent again is refused.
      if (request.method !== 'GET' && request.method !== 'HEAD') this.replays.check(signed.signature, key.keyId, Number(request.headers['x-factum-date']), Date.now());
    }
    return this.gates.read.run(async () => {
      const answer = await handler.handle(ionRequestOf(request, body));
      if (!gone()) sendIonResponse(response, answer);
      return undefined;
    });
  }

  /** Authenticates, authorizes, admits and runs one request; what it streamed, if it did. */
  private async answer(request: IncomingMessage, response: ServerResponse, edn: boolean, log: { operation: string; keyId?: string }, gone: () => boolean): Promise<{ items: number; complete: boolean } | undefined> {
    if (this.state !== 'ready') {
      const stopping = this.state === 'stopping';
      throw new FactumError(stopping ? 'server/stopping' : 'server/not-ready', stopping ? 'This node is stopping; retry against another node or in a moment.' : 'This node is still starting (opening storage and catching up with the log); retry in a moment.', {});
    }
    if (isIonPath(request.url)) return this.answerIon(request, response, log, gone);
    const { signed, body, key } = await this.authenticate(request);
    log.keyId = key.keyId;
    const match = /^\/api\/([A-Za-z]+)$/.exec(request.url ?? '');
    if (request.method !== 'POST' || match === null || !Object.hasOwn(operations, match[1]!)) {
      throw new FactumError('request/unknown-operation', `There is no operation at ${request.method} ${JSON.stringify(request.url)}; expected POST /api/<operation>, one of ${Object.keys(operations).join(', ')}.`, { method: request.method, path: request.url });
    }
    const operation = match[1]! as Operation;
    log.operation = operation;
    const args = decodeArgs(body, request.headers['content-type']);
    const need = needOf[operations[operation]];
    if (need !== null) for (const database of databasesOf(operation, args)) authorize(key, { kind: need, database });
    if (need === 'admin') authorize(key, { kind: 'admin' });
    const context: OperationContext = {
      ...this.options.context,
      visibleDatabases: key.permission === 'admin' || key.permission === 'ions' ? null : new Set(key.database === null ? [] : [key.database]),
      signature: signed.signature,
    };
    const internal = operations[operation] === 'node';
    // A novelty stream lasts while its node follows the transactor: it holds no place of a gate,
    // and their number is bounded on its own (a node follows each database once).
    if (operation === 'internalFollow') {
      if (this.follows >= FOLLOWS_MAX) throw new FactumError('server/busy', `This node already serves ${FOLLOWS_MAX} novelty streams; retry later.`, { follows: this.follows });
      this.follows++;
      try {
        return await sendStream(response, (await handlers[operation](args, context)) as Stream, edn, {}, gone);
      } finally {
        this.follows--;
      }
    }
    const gate = this.gates[internal ? 'node' : need === 'write' || need === 'admin' ? need : 'read'];
    return gate.run(async () => {
      // Once admitted (a request refused as busy may be sent again as it was). Between nodes,
      // what is sent is applied once anyway: transactions by their idempotency key.
      // So is an ion's Lambda entry point (it may write).
      if ((need === 'admin' && !internal) || operation === 'ionInvoke') this.replays.check(signed.signature, key.keyId, Number(request.headers['x-factum-date']), Date.now());
      const result = await handlers[operation](args, context);
      const headers: Record<string, string> = {};
      const database = typeof args.database === 'string' ? args.database : (args.db as { database?: unknown } | undefined)?.database;
      if (typeof database === 'string' && need !== 'admin') headers[basisHeader] = String((this.opened(database) ?? (await this.open(database))).db().basisT);
      if (result instanceof Stream) return sendStream(response, result, edn, headers, gone);
      if (!gone()) sendValue(response, 200, result, edn, headers);
      return undefined;
    });
  }
}

