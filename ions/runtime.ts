//! `factum/ion`: what ion code imports to reach the node it runs on. A thin shim: the ion thread
//! (nodes/ions/ion-worker.ts) installs the real runtime at `globalThis[Symbol.for('factum.ion.runtime')]`
//! before it imports the revision's bundle, and every function here forwards to it. `factum ions
//! push` bundles this file in place of `factum/ion`: a revision carries nothing else of factum but
//! its error class.
//!
//! ```ts
//! import { cast } from 'factum/ion';
//!
//! export async function withdraw(db: Db, account: number, amount: number) {
//!   const balance = (await db.pull('[:account/balance]', account))['account/balance'] as number;
//!   if (balance < amount) throw new Error(`account ${account} holds ${balance}, less than ${amount}`);
//!   cast.metric({ name: 'withdrawals', value: 1, units: 'count' });
//!   return [['db/add', account, 'account/balance', balance - amount]];
//! }
//! ```
import type { Client } from '../client/types.ts';
import { FactumError } from '../nodes/util/errors.ts';
import type * as values from '../nodes/values/values.ts';
import type { BigDec, Keyword, List, Sym, Uri, Uuid } from '../nodes/values/values.ts';

export type { BigDec, Keyword, List, Sym, Uri, Uuid } from '../nodes/values/values.ts';

/** The global the ion thread installs the runtime at. */
export const runtimeSymbol = Symbol.for('factum.ion.runtime');

/** A metric: a name, a finite number and optionally its units (`'count'`, `'msec'`, `'bytes'`…). */
export interface CastMetric {
  readonly name: string;
  readonly value: number;
  readonly units?: string;
}

/** What the ion thread installs; ion code uses the functions below instead. */
export interface IonRuntime {
  getParams(path: string): Promise<Readonly<Record<string, string>>>;
  getEnv(): Readonly<Record<string, unknown>>;
  readonly cast: {
    event(map: Readonly<Record<string, unknown>>): void;
    alert(map: Readonly<Record<string, unknown>>): void;
    metric(metric: CastMetric): void;
  };
  getClient(): Client;
  /** The node's value classes: values ion code makes must be of these to travel (see kw below). */
  readonly values: typeof values;
}

export type { IonHttpRequest, IonHttpResponse } from '../nodes/ions/revision.ts';

function runtime(): IonRuntime {
  const installed = (globalThis as Record<symbol, unknown>)[runtimeSymbol];
  if (installed === undefined) {
    throw new FactumError(
      'ion/no-runtime',
      "factum/ion was called outside an ion thread: getParams, getEnv, cast and getClient work only in code a node loaded from a deployed revision. In a unit test, install a stand-in at globalThis[Symbol.for('factum.ion.runtime')] (an IonRuntime).",
      {},
    );
  }
  return installed as IonRuntime;
}

/**
 * The parameters under a path of the group's parameter store (SSM Parameter Store on AWS, a JSON
 * file on a local system), by name relative to the path; SecureString values decrypted. Cached
 * for a few seconds.
 *
 * @example
 * const { 'stripe-key': stripeKey } = await getParams('/factum/shop/prod/');
 */
export function getParams(path: string): Promise<Readonly<Record<string, string>>> {
  return runtime().getParams(path);
}

/**
 * The compute group's environment map (given at deploy time).
 *
 * @example
 * const { stage } = getEnv() as { stage: string };
 */
export function getEnv(): Readonly<Record<string, unknown>> {
  return runtime().getEnv();
}

/**
 * Sends a map to the node's log (`event`, `alert`: a map with a `msg` string) or metrics
 * (`metric`). Returns at once; a malformed map throws `ion/invalid-cast`.
 *
 * @example
 * cast.event({ msg: 'order placed', order: 7 });
 * cast.alert({ msg: 'payment provider refused', ex: error });
 * cast.metric({ name: 'orders', value: 1, units: 'count' });
 */
export const cast: IonRuntime['cast'] = {
  event: (map) => runtime().cast.event(map),
  alert: (map) => runtime().cast.alert(map),
  metric: (metric) => runtime().cast.metric(metric),
};

/**
 * A factum client of the node the ion runs on (the same client API as anywhere else), made once
 * for the thread's life: its close() does nothing.
 *
 * @example
 * const conn = await getClient().connect('shop');
 */
export function getClient(): Client {
  return runtime().getClient();
}

// Values. A revision's bundle could hold its own copy of factum's value classes (by importing
// factum's client), and a keyword of another copy cannot travel back to the node: make keywords,
// symbols, uuids and the rest here, from the classes of the thread the ion runs in. The values an
// ion receives (its arguments, what its db answers) are of these classes already.

/**
 * The keyword `:fqn` (interned: `kw('a/b') === kw('a/b')`).
 *
 * @example
 * return [['db/add', order, 'order/status', kw('order.status/paid')]];
 */
export function kw(fqn: string): Keyword {
  return runtime().values.kw(fqn);
}

/** The symbol `fqn`. */
export function sym(fqn: string): Sym {
  return runtime().values.sym(fqn);
}

/** An EDN list (a transaction function call inside tx-data, a query's `(...)` form). */
export function list(...items: unknown[]): List {
  return runtime().values.list(...items);
}

/** A uuid from its text; throws `value/wrong-type` for text that is not one. */
export function uuid(text: string): Uuid {
  return runtime().values.Uuid.parse(text) ?? invalidValue('a uuid', text);
}

/** An exact decimal (Datomic's bigdec) from its text, e.g. `bigdec('12.50')`; throws `value/wrong-type` for text that is not one. */
export function bigdec(text: string): BigDec {
  return runtime().values.BigDec.parse(text) ?? invalidValue('a decimal', text);
}

/** A uri. */
export function uri(text: string): Uri {
  return new (runtime().values.Uri)(text);
}

function invalidValue(expected: string, text: string): never {
  throw new FactumError('value/wrong-type', `expected ${expected}, got ${JSON.stringify(text)}.`, { value: text });
}
