//! The remote client's HTTP transport: one keep-alive connection pool per client, every request
//! signed (signing.ts), answers decoded (client/wire), errors raised as the node sent them.
//!
//! Retries, with exponential backoff and full jitter (a random wait in [0, min(max, base·2^n))):
//! - an answer of category `busy` or `unavailable` (the node refused before doing anything, or
//!   is starting or stopping): always;
//! - a connection that failed before an answer (reset, refused, timed out: a Lambda thawed with
//!   a stale keep-alive socket, a node restarting): when the operation is idempotent. Reads are;
//!   transact is too, because it carries an idempotency key the node applies once.
//! A stream is retried only until its first frame arrives.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AccessKey } from './access-key.ts';
import { nonceHeader, signRequest } from './signing.ts';
import { decode, encode } from '../wire/codec.ts';
import { FrameReader } from '../wire/frames.ts';
import { basisHeader, contentTypes, type Operation, type WireError } from '../wire/protocol.ts';
import { codes, FactumError, isFactumError, type Code } from '../../nodes/util/errors.ts';

export interface RetryOptions {
  /** Attempts per call, the first included. @default 6 */
  readonly attemptsMax?: number;
  /** @default 50 */
  readonly backoffBaseMs?: number;
  /** @default 2000 */
  readonly backoffMaxMs?: number;
}

export interface TransportOptions {
  readonly endpoint: string;
  readonly system: string;
  readonly key: () => Promise<AccessKey>;
  /** Milliseconds a call may wait for its answer (a query's own timeout is added). @default 60000 */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
}

export interface CallOptions {
  readonly idempotent: boolean;
  /** Extra milliseconds this call may take (a query's timeout). */
  readonly extraMs?: number;
  /**
   * Whether a call that got no answer in time is sent again. Not for queries: a query that ran
   * out of time would run again, from the start, on a node already slow. @default true
   */
  readonly retryTimeout?: boolean;
}

export interface Answer {
  readonly value: unknown;
  /** The node's newest basis t of the database the call was about, when it said. */
  readonly basisT: number | null;
}

const retryableCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE']);

/** A FactumError as the node sent it (its category as sent, even for a code this client does not know). */
export function remoteError(wire: WireError): FactumError {
  const known = Object.hasOwn(codes, wire.code);
  const error = new FactumError((known ? wire.code : 'client/bad-response') as Code, String(wire.message), (wire.data ?? {}) as Record<string, unknown>);
  if (!known) {
    Object.defineProperty(error, 'code', { value: wire.code });
    Object.defineProperty(error, 'category', { value: wire.category });
  }
  return error;
}

export class Transport {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly timeoutMs: number;
  private readonly attemptsMax: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;

  constructor(private readonly options: TransportOptions) {
    const url = URL.canParse(options.endpoint) ? new URL(options.endpoint) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new FactumError('client/invalid-config', `endpoint ${JSON.stringify(options.endpoint)} is not a URL; expected http(s)://host:port, as \`factum serve\` prints it.`, { endpoint: options.endpoint });
    }
    this.url = url;
    const secure = url.protocol === 'https:';
    this.agent = secure ? new https.Agent({ keepAlive: true, maxSockets: 64 }) : new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.request = secure ? https.request : http.request;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.attemptsMax = options.retry?.attemptsMax ?? 6;
    this.backoffBaseMs = options.retry?.backoffBaseMs ?? 50;
    this.backoffMaxMs = options.retry?.backoffMaxMs ?? 2000;
  }

  close(): void {
    this.agent.destroy();
  }

  /** Calls an operation whose answer is one message. */
  async call(operation: Operation, args: object, options: CallOptions): Promise<Answer> {
    const body = encode(args);
    return this.withRetries(options, async () => {
      const response = await this.send(operation, body, options.extraMs ?? 0);
      const bytes = await readAll(response.message, this.timeoutMs + (options.extraMs ?? 0));
      return { value: decodeOrFail(bytes), basisT: response.basisT };
    });
  }

  /** Calls an operation whose answer is a stream; yields its items. Breaking out stops the node's work. */
  async *stream(operation: Operation, args: object, options: Omit<CallOptions, 'idempotent'> = {}): AsyncGenerator<unknown> {
    for await (const chunk of this.streamChunks(operation, args, options)) yield* chunk;
  }

  /** As `stream`, a frame's items at a time (a chunk of datoms holds whole datoms). */
  async *streamChunks(operation: Operation, args: object, options: Omit<CallOptions, 'idempotent'> = {}): AsyncGenerator<readonly unknown[]> {
    const body = encode(args);
    const response = await this.withRetries({ idempotent: true, ...options }, () => this.send(operation, body, options.extraMs ?? 0));
    const message = response.message;
    const reader = new FrameReader();
    let ended = false;
    try {
      for await (const chunk of message) {
        for (const frame of reader.push(chunk as Uint8Array)) {
          const decoded = decodeOrFail(frame) as { items?: unknown[]; end?: boolean; error?: WireError };
          if (decoded.error !== undefined) throw remoteError(decoded.error);
          if (decoded.end === true) {
            ended = true;
            continue;
          }
          if (!Array.isArray(decoded.items)) throw badResponse('a frame holds no items');
          yield decoded.items;
        }
      }
      reader.end();
      if (!ended) throw new FactumError('client/network', `The node closed the answer to ${operation} before its end; the results are incomplete. Retry the call.`, { operation });
    } finally {
      // Stopped early (a break, or an error): close the connection, so the node stops producing.
      if (!ended) message.destroy();
    }
  }

  private async withRetries<T>(options: CallOptions, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        const retryable = isRetryable(error, options.idempotent) && (options.retryTimeout !== false || !isFactumError(error, 'client/timeout'));
        if (!retryable || n + 1 >= this.attemptsMax) throw error;
        const ceiling = Math.min(this.backoffMaxMs, this.backoffBaseMs * 2 ** n);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
      }
    }
  }

  /** Sends one signed request; resolves with a 200 answer, or throws the node's error. */
  private async send(operation: Operation, body: Uint8Array, extraMs: number): Promise<{ message: http.IncomingMessage; basisT: number | null }> {
    const key = await this.options.key();
    const path = `${this.url.pathname.replace(/\/$/, '')}/api/${operation}`;
    // A nonce (signed), so that two requests alike in every byte sent in one millisecond never share
    // a signature: the node refuses a signature it has seen (an admin operation, ionInvoke) as a replay.
    const signed = { host: this.url.host, 'content-type': contentTypes.message, [nonceHeader]: randomUUID() };
    const headers: Record<string, string> = { ...signed, accept: `${contentTypes.message}, ${contentTypes.frames}`, 'content-length': String(body.length) };
    Object.assign(headers, signRequest(key, this.options.system, { method: 'POST', path, headers: signed, body }, Date.now()));
    const message = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = this.request({ protocol: this.url.protocol, hostname: this.url.hostname, port: this.url.port, path, method: 'POST', headers, agent: this.agent }, resolve);
      request.setTimeout(this.timeoutMs + extraMs, () => request.destroy(Object.assign(new Error(`no answer from ${this.url.host} within ${this.timeoutMs + extraMs} ms`), { code: 'ETIMEDOUT' })));
      request.once('error', (error) => reject(networkError(error, this.url.host, operation)));
      request.end(body);
    });
    const basis = message.headers[basisHeader];
    const basisT = typeof basis === 'string' && /^\d+$/.test(basis) ? Number(basis) : null;
    if (message.statusCode === 200) return { message, basisT };
    const bytes = await readAll(message, this.timeoutMs);
    let wire: WireError | undefined;
    try {
      wire = (decode(bytes) as { error?: WireError }).error;
    } catch {
      wire = undefined;
    }
    if (wire === undefined || typeof wire.code !== 'string') {
      throw badResponse(`HTTP ${message.statusCode} with a body that is not a factum error`);
    }
    throw remoteError(wire);
  }
}

function decodeOrFail(bytes: Uint8Array): unknown {
  try {
    return decode(bytes);
  } catch (error) {
    throw badResponse(`an answer that does not decode (${(error as Error).message})`);
  }
}

function badResponse(what: string): FactumError {
  return new FactumError('client/bad-response', `The node sent ${what}. Check that the endpoint is a factum node of a compatible version.`, {});
}

/** A connection failure as a `client/network` or `client/timeout` error, keeping the cause's code. */
function networkError(error: Error & { code?: string }, host: string, operation: string): FactumError {
  const timeout = error.code === 'ETIMEDOUT';
  const wrapped = new FactumError(timeout ? 'client/timeout' : 'client/network', timeout ? `No answer from ${host} to ${operation} in time. The node may be overloaded or down; the call was retried where that is safe.` : `The connection to ${host} failed during ${operation} (${error.code ?? error.message}). Check that the node is running and reachable; the call was retried where that is safe.`, { host, operation, cause: error.code ?? error.message }, { cause: error });
  Object.defineProperty(wrapped, 'networkCode', { value: error.code ?? '' });
  return wrapped;
}

function isRetryable(error: unknown, idempotent: boolean): boolean {
  if (!(error instanceof FactumError)) return false;
  const networkCode = (error as FactumError & { networkCode?: string }).networkCode;
  if (networkCode !== undefined) return idempotent ? retryableCodes.has(networkCode) || networkCode === '' : networkCode === 'ECONNREFUSED';
  return error.category === 'busy' || error.category === 'unavailable';
}

function readAll(message: http.IncomingMessage, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => message.destroy(Object.assign(new Error('the answer stalled'), { code: 'ETIMEDOUT' })), timeoutMs);
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.once('end', () => {
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    message.once('error', (error: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(networkError(error, message.headers.host ?? 'the node', 'reading the answer'));
    });
    message.once('aborted', () => {
      clearTimeout(timer);
      reject(networkError(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 'the node', 'reading the answer'));
    });
  });
}
