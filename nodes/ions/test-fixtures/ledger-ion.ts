// An ion application for host.test.ts and bench/ion-call.bench.ts: one export per behaviour the
// host must handle (plain answers, a transaction function that reads its db, hangs, a crash, casts,
// parameters, HTTP and Lambda handlers). Bundled by esbuild in the test, as `factum ions push` does.
import { workerData } from 'node:worker_threads';
import type { Db } from '../../../client/types.ts';
import { cast, getClient, getEnv, getParams, kw } from '../../../ions/runtime.ts';
import { kw as copiedKw } from '../../values/values.ts';

/** Query function: its arguments back, as they arrived. */
export function echo(...args: unknown[]): unknown[] {
  return args;
}

/** Query function: a score from a number. */
export function score(x: number): number {
  return x * 2 + 1;
}

/** Query function that never returns. */
export function spin(): never {
  for (;;) {
    // burns its thread until the host's time limit stops it
  }
}

/** Query function that wrongly answers a promise. */
export async function promised(): Promise<number> {
  return 1;
}

/** Transaction function: reads the balance of `name` in the db it was given, and records what it saw. */
export async function audit(db: Db, name: string): Promise<unknown[]> {
  const balance = await db.runQuery({ query: '[:find ?b . :in $ ?n :where [?e :acct/name ?n] [?e :acct/balance ?b]]', args: [db, name] });
  return [{ 'db/id': 'audit', 'audit/seen': balance, 'audit/basis': db.basisT, 'audit/kind': kw('audit/read') }];
}

/** Transaction function that refuses. */
export async function refuse(_db: Db, amount: number): Promise<unknown[]> {
  throw new Error(`insufficient funds for ${amount}`);
}

/** Transaction function answering `value` after `ms` milliseconds. */
export async function later(_db: Db, ms: number, value: string): Promise<string> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return value;
}

/** Waits forever (a call that never answers). */
export async function hang(): Promise<never> {
  return new Promise<never>(() => undefined);
}

/** Awaits, then burns its thread. */
export async function busy(): Promise<never> {
  await Promise.resolve();
  for (;;) {
    // never yields
  }
}

/** Allocates until the heap limit. */
export async function hog(): Promise<number> {
  const kept: unknown[] = [];
  for (let i = 0; ; i++) kept.push({ i, text: `${i}-${'x'.repeat(64)}` });
}

/** Transaction function answering a keyword of the revision's own copy of factum's values. */
export async function copied(): Promise<unknown[]> {
  return [['db/add', 'x', 'audit/kind', copiedKw('audit/read')]];
}

/** Query function that allocates until the heap limit. */
export function hogSync(): number {
  const kept: unknown[] = [];
  for (let i = 0; ; i++) kept.push({ i, text: `${i}-${'x'.repeat(64)}` });
}

/** Ends its thread. */
export async function quit(): Promise<void> {
  process.exit(3);
}

/** Casts one of each kind, or a malformed metric. */
export async function casts(_db: Db, bad: boolean): Promise<string> {
  if (bad) cast.metric({ name: 'broken', value: Number.NaN });
  cast.event({ msg: 'audited', tag: kw('audit/ok'), count: 2n });
  cast.alert({ msg: 'payment refused', ex: new Error('card declined') });
  cast.metric({ name: 'audits', value: 3, units: 'count' });
  console.log('audit done');
  return 'cast';
}

/** The parameters under `path`. */
export async function params(_db: Db, path: string): Promise<Readonly<Record<string, string>>> {
  return getParams(path);
}

/** The group's environment, what the thread's process.env holds, and what its workerData says of the client. */
export async function environment(): Promise<{ env: unknown; processEnv: string[]; workerClient: string }> {
  return { env: getEnv(), processEnv: Object.keys(process.env), workerClient: JSON.stringify((workerData as { client: unknown }).client) };
}

/** Lambda handler: the databases getClient() sees (after closing it, which must change nothing). */
export async function databases(): Promise<string> {
  await getClient().close();
  return JSON.stringify(await getClient().listDatabases());
}

/** HTTP handler: echoes the request; `/bad` answers an invalid response. */
export async function web(request: { method: string; path: string; query: string; headers: Record<string, string>; body: Uint8Array }): Promise<unknown> {
  if (request.path === '/bad') return { status: 'ok' };
  const text = new TextDecoder().decode(request.body);
  return { status: 201, headers: { 'content-type': 'text/plain' }, body: `${request.method} ${request.path}?${request.query} ${request.headers['x-order']} ${text}` };
}

/** Lambda handler. */
export async function upper(input: string): Promise<string> {
  if (input === 'hang') return hang();
  return input.toUpperCase();
}

export const notAFunction = 42;
