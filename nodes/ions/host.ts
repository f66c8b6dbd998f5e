//! The ion host: one deployed revision of an ion application, running in a worker thread of the
//! node (ion-thread.ts, ion-worker.ts), and the four ways the node calls it.
//!
//!   callSync         query functions and xforms: blocks the calling thread up to syncTimeoutMs
//!   callTransaction  transaction functions: the ion gets a client Db of this node at exactly the
//!                    basis given and answers tx-data
//!   http, lambda     the HTTP handler and Lambda handlers
//!
//! Values travel as wire bytes (client/wire/codec.ts). The thread sees nothing of the node but
//! the bundle, these options and its ports: ion code reaches data only through the client API.
//! Its process.env holds only the AWS SDK's settings (AWS_*) and TZ; the node's access key is
//! taken out of its workerData before the revision loads (getClient() keeps it); its heap is
//! limited to memoryMb; what it prints goes to onCast as `ion output` events (ion-thread.ts).
//!
//! Failure is per call, and the node keeps serving: an ion that throws fails its call with
//! `ion/call-failed`; one that runs past its limit fails with `ion/timeout`, and its thread is
//! terminated and replaced by a fresh one from the same bundle; a thread that dies (out of memory,
//! process.exit) fails its calls with `ion/crashed` and is replaced likewise. Calls in flight on a
//! replaced thread fail with `ion/crashed`, naming the call that caused it. (A query function's
//! caller is blocked while it waits, so it cannot see its thread die: a query function that runs
//! out of memory fails as `ion/timeout` when its limit comes, and its message says so.)
//!
//! The bundle is written once to a file in a private temporary directory and imported from
//! there, not from a data: URL: a file gives stack traces a name, lets bundled CommonJS code
//! call `createRequire(import.meta.url)` (a data: URL has no path to require from), and every
//! replacement thread imports the same file. The directory is removed by stop().
import type { DbRef } from '../../client/wire/protocol.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { decode, encode } from '../../client/wire/codec.ts';
import type { IonHttpRequest, IonHttpResponse } from './revision.ts';
import { assert } from '../util/assert.ts';
import { FactumError } from '../util/errors.ts';
import { ownBytes, type AsyncCallKind, type IonClientTarget, type IonParamsSource } from './ion-messages.ts';
import { callFailed, IonThread, notStarted, type InFlightCall } from './ion-thread.ts';
import type { IonConfig } from './revision.ts';

export type { IonHttpRequest, IonHttpResponse } from './revision.ts';

/**
 * How long a query function called while its thread restarts (after a timeout or a crash) waits
 * for the new thread, if syncTimeoutMs is shorter: a bundled thread starts in about 0.1 s, one
 * started through tsx in development in about 0.5 s, and the query should not fail for that.
 */
const RESTART_WAIT_MS = 3_000;

/** A thread that could not load its revision is followed by another at most this often. */
const RESPAWN_MIN_MS = 1_000;

export interface IonHostOptions {
  /** The revision's ESM bundle (one self-contained file). */
  readonly bundle: string;
  readonly config: IonConfig;
  readonly group: string;
  /** What getEnv() answers in ion code. */
  readonly env: Readonly<Record<string, unknown>>;
  readonly params: IonParamsSource;
  readonly client: IonClientTarget;
  /** The limit of an asynchronous call (transaction functions, http, lambdas), from when the thread is ready. */
  readonly callTimeoutMs: number;
  /** The limit of a query function or xform (they block the calling thread). */
  readonly syncTimeoutMs: number;
  /** The thread's heap limit. */
  readonly memoryMb: number;
  /** Where cast.event, cast.alert, cast.metric and the thread's output go (the node's log and metrics). */
  readonly onCast: (kind: 'event' | 'alert' | 'metric', data: Readonly<Record<string, unknown>>) => void;
  /** How long a thread may take to import the bundle. @default 60000 */
  readonly loadTimeoutMs?: number;
}

/**
 * A revision of an ion application, loaded and ready to call.
 *
 * @example
 * const host = await IonHost.start({ bundle, config, group: 'primary', env: {}, params: { kind: 'file', path: 'params.json' }, client, callTimeoutMs: 10_000, syncTimeoutMs: 1_000, memoryMb: 256, onCast });
 * const txData = await host.callTransaction('transfer', { database: 'shop', basisT: 41 }, [from, to, 100]);
 */
export class IonHost {
  readonly app: string;
  private thread: IonThread;
  /** A thread being replaced and still terminating. */
  private readonly ending = new Set<Promise<void>>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping: Promise<void> | null = null;

  private constructor(
    private readonly options: IonHostOptions,
    private readonly directory: string,
    private readonly bundleFile: string,
  ) {
    this.app = options.config.appName;
    this.thread = this.spawn(false);
  }

  /** Loads the bundle in a new thread and checks every allowed, http and lambda name is an exported function; rejects with `ion/load-failed` listing every problem. */
  static async start(options: IonHostOptions): Promise<IonHost> {
    for (const key of ['callTimeoutMs', 'syncTimeoutMs', 'memoryMb'] as const) {
      assert(Number.isFinite(options[key]) && options[key] > 0, `IonHost: ${key} must be a positive number, got ${options[key]}`);
    }
    const directory = await mkdtemp(path.join(os.tmpdir(), 'factum-ion-'));
    // Named for the app, so stack traces say whose code it is (the name is checked upstream; kept to a file name here all the same).
    const bundleFile = path.join(directory, `${options.config.appName.replace(/[^A-Za-z0-9.-]/g, '_')}.mjs`);
    await writeFile(bundleFile, options.bundle, { mode: 0o600 });
    const host = new IonHost(options, directory, bundleFile);
    try {
      await host.thread.loaded;
    } catch (error) {
      await rm(directory, { recursive: true, force: true });
      throw error;
    }
    return host;
  }

  /** Whether `exportName` is an allowed name (callable as `<app>/<exportName>`). */
  has(exportName: string): boolean {
    return this.options.config.allow.includes(exportName);
  }

  /**
   * Calls a query function or xform synchronously: blocks this thread until the ion answers, up
   * to syncTimeoutMs. Arguments and the answer are plain values (no db values, no promises).
   */
  callSync(exportName: string, args: readonly unknown[]): unknown {
    this.checkOpen();
    this.checkAllowed(exportName);
    const bytes = encodeArguments(this.app, exportName, args);
    const thread = this.current();
    const limitMs = this.options.syncTimeoutMs;
    const startMs = Math.max(limitMs, RESTART_WAIT_MS);
    const answer = thread.callSync(exportName, bytes, limitMs, startMs);
    if (answer === 'timed-out') {
      this.replace(thread, `${this.app}/${exportName} ran past its limit of ${limitMs} ms`);
      throw new FactumError(
        'ion/timeout',
        `The query function ${this.app}/${exportName} did not answer within its limit of ${limitMs} ms and was stopped (it ran too long, or its thread died, e.g. out of memory); its thread was restarted. Make it faster, or raise the node's limit for query functions.`,
        { app: this.app, name: `${this.app}/${exportName}`, limitMs },
      );
    }
    if (answer === 'not-ready' || answer === 'failed') {
      throw new FactumError('ion/crashed', `The ion thread of ${this.app} is restarting after a failure and was not ready to run ${this.app}/${exportName} within ${startMs} ms; retry the query.`, { app: this.app, name: `${this.app}/${exportName}` });
    }
    if (!answer.ok) throw callFailed(this.app, exportName, answer.error);
    return decode(answer.value);
  }

  /** Calls a transaction function with a client Db of this node at exactly `db`'s basis; resolves with the tx-data it returns. */
  async callTransaction(exportName: string, db: DbRef, args: readonly unknown[]): Promise<unknown> {
    this.checkAllowed(exportName);
    // The whole reference: a transaction's db-before inside a batch is not durable yet, and the
    // node lends it under a `with` token (DbRefs.lend) for the call's length.
    return this.callAsync('transaction', exportName, { db, args });
  }

  /** Calls the HTTP handler. */
  async http(request: IonHttpRequest): Promise<IonHttpResponse> {
    const handler = this.options.config.http?.handler;
    if (handler === undefined) {
      throw new FactumError('ion/unknown-name', `The ion application ${this.app} has no HTTP handler; add http: { handler } to its ion-config.json to serve requests under /ion/.`, { app: this.app });
    }
    return checkResponse(this.app, handler, await this.callAsync('http', handler, { args: [request] }));
  }

  /** Calls the handler of Lambda `lambdaName` with the event's text; resolves with the answer's text. */
  async lambda(lambdaName: string, input: string): Promise<string> {
    const entry = Object.hasOwn(this.options.config.lambdas ?? {}, lambdaName) ? this.options.config.lambdas![lambdaName] : undefined;
    if (entry === undefined) {
      const names = Object.keys(this.options.config.lambdas ?? {});
      throw new FactumError('ion/unknown-name', `The ion application ${this.app} has no Lambda named ${JSON.stringify(lambdaName)}; it has ${names.length === 0 ? 'none' : names.join(', ')}.`, { app: this.app, name: lambdaName, lambdas: names });
    }
    const output = await this.callAsync('lambda', entry.handler, { args: [input] });
    if (typeof output !== 'string') {
      throw new FactumError('ion/call-failed', `The Lambda handler ${this.app}/${entry.handler} answered ${output === null ? 'null' : typeof output}; a Lambda ion answers a string (e.g. JSON.stringify of its result).`, { app: this.app, name: `${this.app}/${entry.handler}` });
    }
    return output;
  }

  /** Stops taking calls, lets the calls in flight finish (each within its own limit), ends the thread and removes the bundle's file. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      await this.thread.retire(({ name }) => stopped(this.app, name));
      await Promise.allSettled([...this.ending]);
      await rm(this.directory, { recursive: true, force: true });
    })();
    return this.stopping;
  }

  private async callAsync(kind: AsyncCallKind, exportName: string, payload: object): Promise<unknown> {
    this.checkOpen();
    const bytes = encodeArguments(this.app, exportName, payload);
    const call = this.current().call(kind, exportName, bytes, this.options.callTimeoutMs);
    this.inFlight.add(call);
    try {
      return decode(await call);
    } finally {
      this.inFlight.delete(call);
    }
  }

  /** A new thread; a replacement that cannot load its revision is reported (start() reports the first one's problems). */
  private spawn(replacement: boolean): IonThread {
    const thread = new IonThread(this.options, this.bundleFile, {
      died: (thread, cause) => this.replace(thread, `it died: ${cause}`),
      timedOut: (thread, call, limitMs) => {
        const full = `${this.app}/${call.name}`;
        // The call that ran too long fails as a timeout; the others on its thread as collateral.
        const timedOut = new FactumError('ion/timeout', `The ion ${full} ran past its limit of ${limitMs} ms and was stopped; its thread was restarted, so later calls run on a fresh one. Make it faster, or raise the node's ion call limit.`, { app: this.app, name: full, limitMs });
        this.replace(thread, `${full} ran past its limit of ${limitMs} ms`, (other) => (other.id === call.id ? timedOut : null));
      },
    });
    if (replacement) {
      thread.loaded.catch((error: FactumError) => {
        // A thread ended by stop() while it loaded is no failure.
        if (this.stopping !== null) return;
        this.options.onCast('alert', { msg: `ion ${this.app}: its thread could not be restarted from the revision; the next call tries again`, app: this.app, problems: error.data.problems ?? [error.message] });
      });
    }
    return thread;
  }

  /**
   * Replaces `thread` (if it is still the current one) by a fresh thread from the same bundle, and
   * tells the node's log why. Calls in flight on it fail: `errorOf` may choose an error per call,
   * else `ion/crashed` naming `cause` (a thread that died by itself failed its calls already).
   */
  private replace(thread: IonThread, cause: string, errorOf: (call: InFlightCall) => FactumError | null = () => null): void {
    if (thread !== this.thread) return;
    // A stopping host starts no new thread, but still ends this one: stop() waits for its calls.
    if (this.stopping === null) {
      this.options.onCast('alert', { msg: `ion ${this.app}: its thread was restarted because ${cause}`, app: this.app, cause });
      this.thread = this.spawn(true);
    }
    const ending = thread.retire(
      (call) =>
        errorOf(call) ??
        new FactumError('ion/crashed', `The ion thread of ${this.app} was restarted because ${cause}, and ${this.app}/${call.name}, in flight on it, was stopped with it; retry the call.`, { app: this.app, name: `${this.app}/${call.name}`, cause }),
    );
    this.ending.add(ending);
    void ending.finally(() => this.ending.delete(ending));
  }

  /** The thread to call: the current one, or a new one when the current one could not load its revision. */
  private current(): IonThread {
    const failure = this.thread.failure;
    if (failure !== null) {
      // A revision whose import fails now (it reads a parameter store that is down) would otherwise
      // start a thread per call.
      if (performance.now() - this.thread.startedAtMs < RESPAWN_MIN_MS) throw notStarted(this.app, failure);
      this.thread = this.spawn(true);
    }
    return this.thread;
  }

  private checkOpen(): void {
    if (this.stopping !== null) throw stopped(this.app, null);
  }

  private checkAllowed(exportName: string): void {
    if (!this.has(exportName)) {
      throw new FactumError('ion/unknown-name', `The ion application ${this.app} allows no ${JSON.stringify(exportName)}; it allows ${this.options.config.allow.join(', ') || 'nothing'} (ion-config.json, allow).`, { app: this.app, name: exportName, allow: [...this.options.config.allow] });
    }
  }
}

function stopped(app: string, name: string | null): FactumError {
  return new FactumError('ion/unavailable', `The revision of ${app} this node ran has been stopped (a new revision was deployed, or the node is stopping)${name === null ? '' : `, and ${app}/${name} was not answered`}; retry the call.`, { app, ...(name === null ? {} : { name: `${app}/${name}` }) });
}

function encodeArguments(app: string, name: string, value: unknown): Uint8Array {
  try {
    return ownBytes(encode(value));
  } catch (error) {
    throw new FactumError(
      'ion/invalid-argument',
      `${app}/${name} was given a value that cannot be passed to an ion (${(error as Error).message}); ions get plain values: strings, numbers, bigints, keywords, dates, uuids, arrays and plain objects, and no db value except a transaction function's first argument.`,
      { app, name: `${app}/${name}` },
    );
  }
}

function checkResponse(app: string, handler: string, response: unknown): IonHttpResponse {
  const problem = responseProblem(response);
  if (problem !== null) {
    throw new FactumError('ion/call-failed', `The HTTP handler ${app}/${handler} answered ${problem}; it must answer { status: 100–599, headers?: { name: string }, body?: string | Uint8Array }.`, { app, name: `${app}/${handler}` });
  }
  return response as IonHttpResponse;
}

function responseProblem(response: unknown): string | null {
  if (typeof response !== 'object' || response === null || Array.isArray(response)) return `${response === null ? 'null' : Array.isArray(response) ? 'an array' : typeof response}, not a response object`;
  const { status, headers, body } = response as Record<string, unknown>;
  if (!Number.isInteger(status) || (status as number) < 100 || (status as number) > 599) return `a status of ${String(status)}`;
  if (headers !== undefined && (typeof headers !== 'object' || headers === null || Object.values(headers).some((value) => typeof value !== 'string'))) return 'headers that are not an object of strings';
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) return `a body of type ${typeof body}`;
  return null;
}
