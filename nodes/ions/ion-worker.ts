//! The ion thread: runs one revision's bundle for an IonHost (host.ts), isolated from the node.
//! It is given nothing of the node but its workerData (IonWorkerData: the bundle's file, the
//! options, a shared control array, the synchronous calls' port) and its parent port.
//!
//!   start ─▶ install the runtime global ─▶ import the bundle ─▶ check every configured name
//!         ─▶ post `loaded` (with every problem) ─▶ answer calls
//!
//! Asynchronous calls (transaction functions, the HTTP handler, Lambda handlers) arrive on the
//! parent port and interleave freely. Synchronous calls (query functions, xforms) arrive on their
//! own port while the caller blocks in Atomics.wait: the answer is posted on that port, then the
//! control cell `sync` is set and notified. Nothing on this path needs the calling thread, so a
//! query function answers while the node's main thread is blocked waiting for it.
//!
//! Code that throws outside any call (a timer's callback, a promise nobody awaits) is reported
//! as a cast alert and the thread keeps serving: one stray error must not fail every call in
//! flight.
import type { DbRef } from '../../client/wire/protocol.ts';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { RemoteDb } from '../../client/remote/remote-client.ts';
import { createClient } from '../../client/remote.ts';
import type { Client, Connection } from '../../client/types.ts';
import { decode, encode } from '../../client/wire/codec.ts';
import { runtimeSymbol, type IonRuntime } from '../../ions/runtime.ts';
import { FactumError } from '../util/errors.ts';
import * as values from '../values/values.ts';
import { checkCast } from './ion-cast.ts';
import { control, ownBytes, readyState, syncState, type Answer, type FromIonWorker, type IonWorkerData, type SyncCall, type ThrownByIon, type ToIonWorker } from './ion-messages.ts';
import { paramsReader } from './ion-params.ts';

const port = parentPort!;
const data = workerData as IonWorkerData;
// Ion code can import workerData too: the node's access key stays here only, where getClient()
// uses it, and the revision sees the endpoint and the system.
const clientSettings = data.client;
(workerData as { client: unknown }).client = { endpoint: clientSettings.endpoint, system: clientSettings.system };
const cells = new Int32Array(data.control);
const app = data.config.appName;

function post(message: FromIonWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

/** The same map for every call: frozen, so that one call cannot change what the next one reads. */
const env = deepFreeze(data.env);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

let client: Client | null = null;
const readParams = paramsReader(data.params);

const runtime: IonRuntime = {
  getParams: (path) => readParams(path),
  getEnv: () => env,
  cast: {
    event: (map) => castOut('event', map),
    alert: (map) => castOut('alert', map),
    metric: (metric) => castOut('metric', metric as unknown as Record<string, unknown>),
  },
  getClient() {
    // One client for the thread's life, shared with the db values of transaction functions: an ion
    // that closes it would break every later call, so its close does nothing.
    client ??= { ...createClient({ endpoint: clientSettings.endpoint, system: clientSettings.system, accessKey: clientSettings.accessKey }), close: async () => undefined };
    return client;
  },
  values,
};

function castOut(kind: 'event' | 'alert' | 'metric', map: Readonly<Record<string, unknown>>): void {
  const checked = checkCast(kind, map);
  let bytes: Uint8Array;
  try {
    bytes = ownBytes(encode(checked));
  } catch (error) {
    throw new FactumError('ion/invalid-cast', `cast.${kind} was given a value that cannot go to the node's log (${describe(error)}); cast plain data: strings, numbers, bigints, keywords, dates, uuids, arrays and plain objects.`, { keys: Object.keys(checked) });
  }
  post({ kind: 'cast', cast: kind, data: bytes }, [bytes.buffer as ArrayBuffer]);
}

process.on('uncaughtException', (error) => castOut('alert', { msg: `ion ${app}: an error escaped every call (a timer or an unawaited promise) and was dropped; the thread keeps serving`, error: describe(error) }));
process.on('unhandledRejection', (error) => castOut('alert', { msg: `ion ${app}: a promise nobody awaited was rejected; the thread keeps serving`, error: describe(error) }));

/** The configured names (allowed, http handler, Lambda handlers) with the role each plays, for problems. */
function configuredNames(): Array<{ readonly name: string; readonly role: string }> {
  const names = data.config.allow.map((name) => ({ name, role: 'allowed' }));
  if (data.config.http !== undefined) names.push({ name: data.config.http.handler, role: 'the http handler' });
  for (const [lambda, entry] of Object.entries(data.config.lambdas ?? {})) names.push({ name: entry.handler, role: `the handler of Lambda ${lambda}` });
  return names;
}

async function load(): Promise<{ readonly exports: Record<string, unknown>; readonly problems: string[] }> {
  (globalThis as Record<symbol, unknown>)[runtimeSymbol] = Object.freeze(runtime);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(data.bundleFile).href)) as Record<string, unknown>;
  } catch (error) {
    return { exports: {}, problems: [`the module threw while it was imported: ${describe(error)}`] };
  }
  const problems: string[] = [];
  for (const { name, role } of configuredNames()) {
    const value = Object.hasOwn(exports, name) ? exports[name] : undefined;
    if (!Object.hasOwn(exports, name)) problems.push(`${name} (${role}) is not exported by the module; export a function of that name or remove it from ion-config.json`);
    else if (typeof value !== 'function') problems.push(`${name} (${role}) is exported as ${typeOf(value)}, not a function`);
  }
  return { exports, problems };
}

const connections = new Map<string, Promise<Connection>>();

/** The db value `ref` names on this node (a reference: nothing is read until the ion asks). */
async function dbAt(ref: DbRef): Promise<RemoteDb> {
  const { database } = ref;
  let connection = connections.get(database);
  if (connection === undefined) {
    connection = runtime.getClient().connect(database);
    connections.set(database, connection);
    connection.catch(() => connections.delete(database));
  }
  return new RemoteDb((await connection) as ConstructorParameters<typeof RemoteDb>[0], ref);
}

/** A transaction function's db value; failing to open it is the node's trouble, not the ion's, and says so. */
async function openDb(name: string, db: DbRef): Promise<RemoteDb> {
  try {
    return await dbAt(db);
  } catch (error) {
    throw new ThreadError(`the db value of ${db.database} at t ${db.basisT} could not be opened on this node, so ${app}/${name} was not called: ${describe(error)}`);
  }
}

async function answerAsync(message: ToIonWorker): Promise<void> {
  let answer: Answer;
  try {
    const fn = exports[message.name] as (...args: unknown[]) => unknown;
    const payload = decode(message.payload) as { readonly args: readonly unknown[]; readonly db?: DbRef };
    const args = message.call === 'transaction' ? [await openDb(message.name, payload.db!), ...payload.args] : payload.args;
    const value = await fn(...args);
    answer = { id: message.id, ok: true, value: ownBytes(encodeAnswer(message.name, value)) };
  } catch (error) {
    answer = { id: message.id, ok: false, error: thrown(error) };
  }
  post({ kind: 'answer', ...answer }, answer.ok ? [answer.value.buffer as ArrayBuffer] : []);
}

function answerSync(call: SyncCall): void {
  let answer: Answer;
  try {
    const value = (exports[call.name] as (...args: unknown[]) => unknown)(...(decode(call.args) as unknown[]));
    if (isThenable(value)) {
      value.then(undefined, () => undefined); // refused below; its outcome no longer matters to anyone
      throw new ThreadError(`${app}/${call.name} returned a promise, but query functions and xforms run synchronously (the query waits for them); make it a plain function that returns a value`);
    }
    answer = { id: call.id, ok: true, value: ownBytes(encodeAnswer(call.name, value)) };
  } catch (error) {
    answer = { id: call.id, ok: false, error: thrown(error) };
  }
  data.syncPort.postMessage(answer, answer.ok ? [answer.value.buffer as ArrayBuffer] : []);
  Atomics.store(cells, control.sync, syncState.answered);
  Atomics.notify(cells, control.sync);
}

function encodeAnswer(name: string, value: unknown): Uint8Array {
  try {
    return encode(value);
  } catch (error) {
    // A value class of its own copy of factum (bundled from factum's client) looks right but is not the node's.
    const copy = /instance of _?(Keyword|Sym|List|BigDec|Uuid|Uri|Tagged)\b/.exec(describe(error));
    const hint = copy === null ? '' : `; its ${copy[1]} comes from another copy of factum's values inside the revision: make values with kw, sym, list, uuid, bigdec and uri from factum/ion`;
    throw new ThreadError(`${app}/${name} returned a value that cannot be passed back to the node (${describe(error)}); return plain data: strings, numbers, bigints, keywords, dates, uuids, arrays and plain objects${hint}`);
  }
}

/** A call that failed because of what the thread found, not because the ion threw. */
class ThreadError extends Error {}

function thrown(error: unknown): ThrownByIon {
  if (error instanceof ThreadError) return { message: error.message, byThread: true };
  if (error instanceof FactumError) return { message: error.message, code: error.code };
  return { message: describe(error) };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : `a thrown ${typeOf(error)}: ${String(error)}`;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

// Last, once every declaration above is in place: load, then serve.
const { exports, problems } = await load();
post({ kind: 'loaded', problems });
Atomics.store(cells, control.ready, problems.length === 0 ? readyState.ready : readyState.failed);
Atomics.notify(cells, control.ready);
if (problems.length > 0) {
  // Nothing to serve: the host reports the problems and terminates this thread.
  port.close();
} else {
  port.on('message', (message: ToIonWorker) => void answerAsync(message));
  data.syncPort.on('message', (call: SyncCall) => answerSync(call));
}
