//! The node's HTTP server: the client API of client/types.ts over HTTP/1.1 with keep-alive
//! (client/wire/protocol.ts has the protocol).
//!
//!   request ─▶ /health? ─▶ read body (bounded) ─▶ authenticate ─▶ decode ─▶ authorize
//!           ─▶ admit (gate per kind of work, or busy) ─▶ handler ─▶ one message | frames | EDN
//!
//! Every request but `GET /health` is authenticated (nodes/server/authenticate.ts). Errors keep
//! their code, category, message and data, with the category's HTTP status. A stream stops
//! producing as soon as its client stops reading (backpressure) or goes away (close).
//! `drain()` stops taking requests, lets those in flight finish, then resolves.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decode, encode } from '../../client/wire/codec.ts';
import { encodeFrame } from '../../client/wire/frames.ts';
import { basisHeader, contentTypes, httpStatusOf, operations, type Operation, type WireError } from '../../client/wire/protocol.ts';
import type { AccessKey } from '../../client/remote/access-key.ts';
import { printEdn } from '../edn/printer.ts';
import { readEdn } from '../edn/reader.ts';
import { Keyword } from '../values/values.ts';
import { FactumError, isFactumError } from '../util/errors.ts';
import { authenticate, authorize } from './authenticate.ts';
import { Gate } from './gate.ts';
import { databasesOf, handlers, Stream, type Args, type OperationContext } from './operations.ts';

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
  readonly context: Omit<OperationContext, 'visibleDatabases'>;
  readonly readsMax: number;
  readonly queueMax: number;
  readonly requestBytesMax: number;
  readonly observers: ServerObservers;
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

export async function startNodeServer(options: NodeServerOptions): Promise<NodeServer> {
  const { observers } = options;
  const gates = {
    read: new Gate('read', options.readsMax, options.queueMax),
    write: new Gate('write', options.queueMax, options.queueMax),
    admin: new Gate('admin', 4, Math.min(options.queueMax, 64)),
  };
  let state: 'starting' | 'ready' | 'stopping' = 'starting';
  let inFlight = 0;
  let idle: (() => void) | null = null;

  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 300_000 }, (request, response) => {
    if (request.url === '/health' && (request.method === 'GET' || request.method === 'HEAD')) {
      const status = state === 'ready' ? 200 : 503;
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify({ status: state === 'ready' ? 'ok' : state, ...options.health }));
      return;
    }
    inFlight++;
    const started = performance.now();
    void serve(request, response)
      .catch((error: unknown) => observers.log.error({ event: 'error', error: String(error) }, 'request handling failed'))
      .finally(() => {
        if (--inFlight === 0 && idle !== null) idle();
        observers.metrics?.timing('RequestLatency', performance.now() - started);
      });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = performance.now();
    const edn = (request.headers.accept ?? '').includes(contentTypes.edn);
    let operation: string = '-';
    let keyId: string | undefined;
    let streamed: { items: number; complete: boolean } | undefined;
    try {
      if (state !== 'ready') {
        throw new FactumError(state === 'stopping' ? 'server/stopping' : 'server/not-ready', state === 'stopping' ? 'This node is stopping; retry against another node or in a moment.' : 'This node is still starting (opening storage and catching up with the log); retry in a moment.', {});
      }
      const match = /^\/api\/([A-Za-z]+)$/.exec(request.url ?? '');
      const body = await readBody(request, options.requestBytesMax);
      const key = authenticate(options.lookupKey, options.system, { method: request.method ?? '', path: request.url ?? '', headers: request.headers as Record<string, string>, body }, Date.now(), AUTH_WINDOW_MS);
      keyId = key.keyId;
      if (request.method !== 'POST' || match === null || !Object.hasOwn(operations, match[1]!)) {
        throw new FactumError('request/unknown-operation', `There is no operation at ${request.method} ${JSON.stringify(request.url)}; expected POST /api/<operation>, one of ${Object.keys(operations).join(', ')}.`, { method: request.method, path: request.url });
      }
      operation = match[1]!;
      const op = operation as Operation;
      const args = decodeArgs(body, request.headers['content-type']);
      const permission = operations[op];
      for (const database of databasesOf(op, args)) authorize(key, { kind: permission === 'write' ? 'write' : permission === 'admin' ? 'admin' : 'read', database });
      if (permission === 'admin') authorize(key, { kind: 'admin' });
      const visible = key.permission === 'admin' ? null : new Set(key.database === null ? [] : [key.database]);
      const gate = permission === 'write' ? gates.write : permission === 'admin' ? gates.admin : gates.read;
      const context: OperationContext = { ...options.context, visibleDatabases: visible };
      await gate.run(async () => {
        const result = await handlers[op](args, context);
        const database = typeof args.database === 'string' ? args.database : (args.db as { database?: unknown } | undefined)?.database;
        const headers: Record<string, string> = {};
        // The handler used the database, so its transactor is open: this costs no storage read.
        if (typeof database === 'string' && permission !== 'admin') headers[basisHeader] = String((await context.system.connect(database)).db().basisT);
        if (result instanceof Stream) streamed = await sendStream(response, result, edn, headers);
        else sendValue(response, 200, result, edn, headers);
      });
      observers.metrics?.count('Requests', 1, { Operation: operation });
      observers.log.info({ event: 'request', operation, keyId, status: response.statusCode, ms: Math.round(performance.now() - started), ...streamed });
    } catch (error) {
      const wire = toWireError(error);
      if (wire.category === 'fault') observers.log.error({ event: 'error', operation, keyId, code: wire.code, error: error instanceof Error ? error.stack : String(error) }, 'request failed');
      else observers.log.info({ event: 'request', operation, keyId, status: httpStatusOf(wire), code: wire.code, ms: Math.round(performance.now() - started) });
      observers.metrics?.count('Errors', 1, { Category: wire.category });
      if (wire.category === 'busy') observers.metrics?.count('BusyRefusals', 1);
      if (response.headersSent) {
        // Mid-stream: the error travels as the last frame (the client raises it).
        if (!response.writableEnded && !response.destroyed) response.end(encodeFrame(encode({ error: wire })));
        return;
      }
      const headers: Record<string, string> = state === 'stopping' ? { connection: 'close' } : {};
      if (wire.category === 'busy' || wire.category === 'unavailable') headers['retry-after'] = '1';
      // The unread rest of a refused body would be taken for the next request on this connection.
      if (!request.complete) headers.connection = 'close';
      sendValue(response, httpStatusOf(wire), { error: wire }, edn, headers);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    endpoint: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    ready: () => {
      if (state === 'starting') state = 'ready';
    },
    async drain(drainMs: number) {
      state = 'stopping';
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        await Promise.race([new Promise<void>((resolve) => (idle = resolve)), new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref())]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Reads a request body, refusing past `bytesMax` without buffering the rest. */
function readBody(request: IncomingMessage, bytesMax: number): Promise<Uint8Array> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > bytesMax) return Promise.reject(tooLarge(declared, bytesMax));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) {
        request.removeAllListeners('data');
        request.pause();
        reject(tooLarge(length, bytesMax));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function tooLarge(length: number, bytesMax: number): FactumError {
  return new FactumError('request/too-large', `The request body has ${length} bytes or more; this node takes at most ${bytesMax} (FACTUM_REQUEST_BYTES_MAX). Send smaller transactions or queries.`, { bytes: length, bytesMax });
}

/** The arguments of an operation: one message, or an EDN map with keyword keys (curl). */
function decodeArgs(body: Uint8Array, contentType: string | undefined): Args {
  let value: unknown;
  if (body.length === 0) value = {};
  else if ((contentType ?? '').startsWith(contentTypes.edn)) {
    const map = readEdn(new TextDecoder().decode(body));
    if (!(map instanceof Map)) fail('request/malformed', 'An EDN request body is a map of the operation\'s arguments, e.g. {:database "shop"}.', {});
    const args: Record<string, unknown> = {};
    for (const [k, v] of map as Map<unknown, unknown>) args[k instanceof Keyword ? k.fqn : String(k)] = v;
    value = args;
  } else {
    value = decode(body);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Map) {
    fail('request/malformed', 'A request body is one message holding an object of the operation\'s arguments.', {});
  }
  return value as Args;
}

function fail(code: 'request/malformed', message: string, data: Record<string, unknown>): never {
  throw new FactumError(code, message, data);
}

function toWireError(error: unknown): WireError {
  if (isFactumError(error)) return { code: error.code, category: error.category, message: error.message, data: safeData(error.data) };
  return { code: 'server/internal', category: 'fault', message: 'The node failed while answering (a bug, logged on the node with its stack). Retrying will likely fail the same way; report it.', data: {} };
}

/** Error data as the wire can carry it: values it cannot encode become their text. */
function safeData(data: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) {
    try {
      encode(value);
      out[name] = value;
    } catch {
      out[name] = String(value);
    }
  }
  return out;
}

function sendValue(response: ServerResponse, status: number, value: unknown, edn: boolean, headers: Record<string, string>): void {
  const body = edn ? Buffer.from(printEdn(toEdn(value)) + '\n') : encode(value);
  response.writeHead(status, { 'content-type': edn ? contentTypes.edn : contentTypes.message, 'content-length': String(body.length), ...headers });
  response.end(body);
}

/** Plain objects become EDN maps with keyword keys for the printer. */
function toEdn(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toEdn);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return new Map(Object.entries(value).map(([k, v]) => [Keyword.of(k), toEdn(v)]));
  }
  return value;
}

/**
 * Sends a stream's chunks as frames, waiting whenever the socket's buffer is full, and stopping
 * the producer when the client goes away.
 */
async function sendStream(response: ServerResponse, stream: Stream, edn: boolean, headers: Record<string, string>): Promise<{ items: number; complete: boolean }> {
  const iterator = stream.chunks[Symbol.asyncIterator]();
  // The first chunk before the headers: an error in it is still a plain error response.
  let next = await iterator.next();
  response.writeHead(200, { 'content-type': edn ? contentTypes.edn : contentTypes.frames, ...headers });
  let gone = false;
  let items = 0;
  const onClose = (): void => {
    gone = true;
  };
  response.once('close', onClose);
  try {
    if (edn) response.write('[');
    while (!next.done && !gone) {
      const chunk = next.value;
      items += chunk.length;
      const ok = edn ? response.write(chunk.map((item) => printEdn(toEdn(item))).join(' ') + '\n') : response.write(encodeFrame(encode({ items: chunk })));
      if (!ok && !gone) {
        await new Promise<void>((resolve) => {
          response.once('drain', resolve);
          response.once('close', resolve);
        });
      }
      if (gone) break;
      next = await iterator.next();
    }
    if (gone) return { items, complete: false };
    response.end(edn ? ']\n' : encodeFrame(encode({ end: true })));
    return { items, complete: true };
  } finally {
    response.off('close', onClose);
    // The client went away (or a frame failed): end the producer's work (a scan, a query's rows).
    if (gone || !response.writableEnded) await iterator.return?.();
  }
}
