// The ion host on real worker threads and a real node: revisions are bundled by esbuild from
// TypeScript fixtures (test-fixtures/ledger-ion.ts) or from ESM text importing 'factum/ion' (aliased
// to ions/runtime.ts, as `factum ions push` does), loaded, and called every way the node calls
// them; hangs, a crash and running out of memory each fail their call and leave the host serving.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type Connection } from '../../client/index.ts';
import { readAccessKeyFile } from '../../client/remote/access-key.ts';
import { readNodeSettings, startNode, type RunningNode } from '../main.ts';
import { FactumError } from '../util/errors.ts';
import { kw, Uuid } from '../values/values.ts';
import { Worker } from 'node:worker_threads';
import { IonHost, type IonHostOptions } from './host.ts';
import { waitWhile } from './ion-thread.ts';
import type { IonConfig } from './revision.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const runtimeFile = path.resolve(here, '../../ions/runtime.ts');

async function bundle(input: { readonly file: string } | { readonly text: string }): Promise<string> {
  const result = await build({
    ...('file' in input ? { entryPoints: [input.file] } : { stdin: { contents: input.text, loader: 'ts', resolveDir: here } }),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    write: false,
    alias: { 'factum/ion': runtimeFile },
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

const ledgerConfig: IonConfig = {
  appName: 'ledger',
  allow: ['echo', 'score', 'spin', 'promised', 'audit', 'refuse', 'copied', 'later', 'hang', 'busy', 'hog', 'hogSync', 'quit', 'casts', 'params', 'environment'],
  http: { handler: 'web' },
  lambdas: { shout: { handler: 'upper' }, list: { handler: 'databases' } },
};

interface Cast {
  readonly kind: string;
  readonly data: Readonly<Record<string, unknown>>;
}

let dir: string;
let node: RunningNode;
let client: Client;
let conn: Connection;
let ledgerBundle: string;
let hostClient: IonHostOptions['client'];
let paramsFile: string;

function options(overrides: Partial<IonHostOptions> & { readonly casts?: Cast[] } = {}): IonHostOptions {
  const casts = overrides.casts ?? [];
  return {
    bundle: ledgerBundle,
    config: ledgerConfig,
    group: 'primary',
    env: { stage: 'test', limits: [1, 2] },
    params: { kind: 'file', path: paramsFile },
    client: hostClient,
    callTimeoutMs: 10_000,
    syncTimeoutMs: 2_000,
    memoryMb: 64,
    onCast: (kind, data) => casts.push({ kind, data }),
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<FactumError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FactumError);
    return error as FactumError;
  }
  throw new Error('expected the call to fail');
}

function syncFailure(call: () => unknown): FactumError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(FactumError);
    return error as FactumError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-ion-host-'));
  node = await startNode(readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: path.join(dir, 'data'), FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary' }), new PassThrough().resume());
  const key = await readAccessKeyFile(node.keyFile!);
  hostClient = { endpoint: node.endpoint, system: 'local', accessKey: { keyId: key.keyId, secret: key.secret } };
  client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  await client.createDatabase('bank');
  conn = await client.connect('bank');
  await conn.transact(`[{:db/ident :acct/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
    {:db/ident :acct/balance :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
    {:db/ident :audit/seen :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
    {:db/ident :audit/basis :db/valueType :db.type/long :db/cardinality :db.cardinality/one}
    {:db/ident :audit/kind :db/valueType :db.type/keyword :db/cardinality :db.cardinality/one}]`);
  paramsFile = path.join(dir, 'params.json');
  await writeFile(paramsFile, JSON.stringify({ '/ledger/dev/db-name': 'bank', '/ledger/dev/stripe/key': 'sk_test', '/ledger/prod/db-name': 'other', '/ledger/device': 'not under /ledger/dev/' }));
  ledgerBundle = await bundle({ file: path.join(here, 'test-fixtures', 'ledger-ion.ts') });
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('loading a revision', () => {
  it('names every problem: a missing export, a non-function, a missing http and Lambda handler', async () => {
    const error = await failure(IonHost.start(options({ config: { appName: 'ledger', allow: ['echo', 'missing', 'notAFunction'], http: { handler: 'nowhere' }, lambdas: { a: { handler: 'upper' }, b: { handler: 'gone' } } } })));
    expect(error.code).toBe('ion/load-failed');
    const problems = error.data.problems as string[];
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^missing \(allowed\) is not exported/);
    expect(problems[1]).toMatch(/^notAFunction \(allowed\) is exported as a number, not a function/);
    expect(problems[2]).toMatch(/^nowhere \(the http handler\) is not exported/);
    expect(problems[3]).toMatch(/^gone \(the handler of Lambda b\) is not exported/);
    expect(error.message).toContain('ledger');
  });

  it('reports a module that throws while it is imported', async () => {
    const text = `import { getEnv } from 'factum/ion';\nif (getEnv().stage === 'test') throw new Error('no database configured for stage test');\nexport function echo() { return 1; }`;
    const error = await failure(IonHost.start(options({ bundle: await bundle({ text }), config: { appName: 'broken', allow: ['echo'] } })));
    expect(error.code).toBe('ion/load-failed');
    expect(error.data.problems).toEqual(['the module threw while it was imported: no database configured for stage test']);
  });

  it('reports a module that never finishes loading, whether its thread has something left to wait for or not', async () => {
    const config = { appName: 'stuck', allow: ['echo'] };
    const never = await failure(IonHost.start(options({ bundle: 'await new Promise(() => {});\nexport function echo() {}', config })));
    expect(never.code).toBe('ion/load-failed');
    expect(never.data.problems).toEqual(['its thread died while loading: the module waits at its top level for something that never happens (exit code 13)']);
    const ticking = await failure(IonHost.start(options({ bundle: 'await new Promise(() => setInterval(() => {}, 1000));\nexport function echo() {}', config, loadTimeoutMs: 500 })));
    expect(ticking.data.problems).toEqual(['it did not finish loading within 500 ms (a module that waits at its top level?)']);
  });

  it('loads a module importing factum/ion through the alias, and gives it nothing of the node but what it was given', async () => {
    process.env.FACTUM_HOST_TEST_SECRET = 'never in an ion';
    const host = await IonHost.start(options());
    try {
      const { env, processEnv, workerClient } = (await host.callTransaction('environment', { database: 'bank', basisT: conn.db().basisT }, [])) as { env: unknown; processEnv: string[]; workerClient: string };
      expect(env).toEqual({ stage: 'test', limits: [1, 2] });
      // The node's access key is not to be found in the thread's workerData.
      expect(JSON.parse(workerClient)).toEqual({ endpoint: node.endpoint, system: 'local' });
      expect(workerClient).not.toContain(hostClient.accessKey.secret);
      expect(processEnv).not.toContain('FACTUM_HOST_TEST_SECRET');
      expect(processEnv.every((name) => name.startsWith('AWS_') || name === 'TZ')).toBe(true);
    } finally {
      delete process.env.FACTUM_HOST_TEST_SECRET;
      await host.stop();
    }
  });
});

describe('calls', () => {
  let host: IonHost;
  const casts: Cast[] = [];
  beforeAll(async () => {
    host = await IonHost.start(options({ casts }));
  });
  afterAll(async () => {
    await host?.stop();
  });

  it('callSync passes keywords, bigints, dates, uuids and nested data both ways', () => {
    const uuid = Uuid.parse('6f1c3a9e-0b7d-4c25-9d3e-2f8a5b1c7e40')!;
    const args = [kw('acct/balance'), 2n ** 70n, new Date(Date.UTC(2026, 0, 2)), uuid, { nested: [1.5, 'x', null, new Uint8Array([1, 2])] }];
    expect(host.callSync('echo', args)).toEqual(args);
    expect(host.callSync('score', [20])).toBe(41);
    expect(host.has('score')).toBe(true);
    expect(host.has('web')).toBe(false);
  });

  it('regression: a wake-up without the cell changing (a late notify of the previous call) does not end the wait', async () => {
    const cells = new Int32Array(new SharedArrayBuffer(4));
    // Notifies for a while without storing anything, then stores and notifies.
    const notifier = new Worker(
      `const { workerData } = require('node:worker_threads');
       const cells = new Int32Array(workerData);
       const until = Date.now() + 200;
       while (Date.now() < until) { Atomics.notify(cells, 0); Atomics.wait(cells, 0, 0, 1); }
       Atomics.store(cells, 0, 1);
       Atomics.notify(cells, 0);`,
      { eval: true, workerData: cells.buffer },
    );
    try {
      expect(waitWhile(cells, 0, 0, 10_000)).toBe(true);
      expect(Atomics.load(cells, 0)).toBe(1);
    } finally {
      await notifier.terminate();
    }
  });

  it('sync calls in a tight loop each get their own answer', () => {
    for (let i = 0; i < 20_000; i++) {
      const answer = host.callSync('score', [i]);
      if (answer !== 2 * i + 1) expect(answer).toBe(2 * i + 1);
    }
  });

  it('refuses an unknown name, a value that cannot travel, and a query function answering a promise', () => {
    expect(syncFailure(() => host.callSync('nope', [])).code).toBe('ion/unknown-name');
    expect(syncFailure(() => host.callSync('web', [])).code).toBe('ion/unknown-name');
    const invalid = syncFailure(() => host.callSync('echo', [conn.db()]));
    expect(invalid.code).toBe('ion/invalid-argument');
    const promised = syncFailure(() => host.callSync('promised', []));
    expect(promised.code).toBe('ion/call-failed');
    expect(promised.message).toMatch(/^The call of ion ledger\/promised failed: ledger\/promised returned a promise/);
  });

  it('callTransaction gives the ion a db at exactly the basis given, and answers its tx-data', async () => {
    const first = await conn.transact([{ 'acct/name': 'ann', 'acct/balance': 100 }]);
    await conn.transact([{ 'acct/name': 'ann', 'acct/balance': 40 }]);
    const before = first.dbAfter.basisT;
    const txData = await host.callTransaction('audit', { database: 'bank', basisT: before }, ['ann']);
    expect(txData).toEqual([{ 'db/id': 'audit', 'audit/seen': 100, 'audit/basis': before, 'audit/kind': kw('audit/read') }]);
    const now = await host.callTransaction('audit', { database: 'bank', basisT: conn.db().basisT }, ['ann']);
    expect((now as Array<Record<string, unknown>>)[0]!['audit/seen']).toBe(40);
    // The answer is tx-data the database accepts as it is.
    const report = await conn.transact(txData as unknown[]);
    expect(await report.dbAfter.pull('[:audit/seen :audit/kind]', report.tempids.audit!)).toEqual({ 'audit/seen': 100, 'audit/kind': kw('audit/read') });
  });

  it('a keyword from a copy of factum bundled into the revision is refused with a hint', async () => {
    const error = await failure(host.callTransaction('copied', { database: 'bank', basisT: 1 }, []));
    expect(error.code).toBe('ion/call-failed');
    expect(error.message).toMatch(/its Keyword comes from another copy of factum's values inside the revision: make values with kw, sym, list, uuid, bigdec and uri from factum\/ion/);
  });

  it('asynchronous calls interleave: a quick one answers while a slow one waits', async () => {
    const order: string[] = [];
    const basis = { database: 'bank', basisT: 1 };
    const slow = host.callTransaction('later', basis, [400, 'slow']).then((value) => order.push(value as string));
    const quick = host.callTransaction('later', basis, [0, 'quick']).then((value) => order.push(value as string));
    await Promise.all([slow, quick]);
    expect(order).toEqual(['quick', 'slow']);
  });

  it('a query function answers while a transaction function on the same thread waits for this (blocked) thread', async () => {
    // audit's query goes to the node on this very thread, which callSync blocks: the ion thread
    // must answer the query function without it, or both would wait for ever.
    const reading = host.callTransaction('audit', { database: 'bank', basisT: conn.db().basisT }, ['ann']);
    await new Promise((resolve) => setTimeout(resolve, 50)); // let audit reach its query
    for (let i = 0; i < 100; i++) expect(host.callSync('score', [i])).toBe(2 * i + 1);
    expect((await reading) as unknown[]).toHaveLength(1);
  });

  it('a transaction function that throws fails its call with its message', async () => {
    const error = await failure(host.callTransaction('refuse', { database: 'bank', basisT: conn.db().basisT }, [500]));
    expect(error.code).toBe('ion/call-failed');
    expect(error.message).toBe('The ion ledger/refuse threw: insufficient funds for 500');
    expect(error.data).toMatchObject({ name: 'ledger/refuse', error: 'insufficient funds for 500' });
  });

  it('casts reach onCast with their values, console output as events, and a malformed cast fails in the ion', async () => {
    casts.length = 0;
    expect(await host.lambda('shout', 'a')).toBe('A'); // a round trip, so that nothing is left from earlier tests
    await host.callTransaction('casts', { database: 'bank', basisT: 1 }, [false]);
    await expect.poll(() => casts.length).toBe(4);
    // Casts keep their order; the thread's output comes through its stdout stream, in its own time.
    expect(casts.filter((cast) => cast.data.msg !== 'ion output')).toEqual([
      { kind: 'event', data: { msg: 'audited', tag: kw('audit/ok'), count: 2n } },
      { kind: 'alert', data: { msg: 'payment refused', ex: expect.objectContaining({ name: 'Error', message: 'card declined' }) } },
      { kind: 'metric', data: { name: 'audits', value: 3, units: 'count' } },
    ]);
    expect(casts).toContainEqual({ kind: 'event', data: { msg: 'ion output', app: 'ledger', stream: 'stdout', line: 'audit done' } });
    const bad = await failure(host.callTransaction('casts', { database: 'bank', basisT: 1 }, [true]));
    expect(bad.code).toBe('ion/call-failed');
    expect(bad.data.errorCode).toBe('ion/invalid-cast');
    expect(bad.message).toMatch(/cast\.metric expects a value, a finite number, got NaN/);
  });

  it('getParams reads the parameter file, names relative to the path', async () => {
    const basis = { database: 'bank', basisT: 1 };
    expect(await host.callTransaction('params', basis, ['/ledger/dev/'])).toEqual({ 'db-name': 'bank', 'stripe/key': 'sk_test' });
    expect(await host.callTransaction('params', basis, ['/ledger/dev'])).toEqual({ 'db-name': 'bank', 'stripe/key': 'sk_test' });
    const error = await failure(host.callTransaction('params', basis, ['ledger/dev']));
    expect(error.data.errorCode).toBe('ion/invalid-params-path');
  });

  it('the HTTP handler gets the request and its answer is checked', async () => {
    const response = await host.http({ method: 'POST', path: '/orders/7', query: 'full=1', headers: { 'x-order': 'o-7' }, body: new TextEncoder().encode('two items') });
    expect(response).toEqual({ status: 201, headers: { 'content-type': 'text/plain' }, body: 'POST /orders/7?full=1 o-7 two items' });
    const bad = await failure(host.http({ method: 'GET', path: '/bad', query: '', headers: {}, body: new Uint8Array() }));
    expect(bad.code).toBe('ion/call-failed');
    expect(bad.message).toMatch(/answered a status of ok/);
  });

  it('getClient() is a client of the node, with the key the host was given, that the ion cannot close', async () => {
    expect(JSON.parse(await host.lambda('list', ''))).toEqual(['bank']);
  });

  it('a Lambda handler answers its input; an unknown Lambda is refused', async () => {
    expect(await host.lambda('shout', 'hello')).toBe('HELLO');
    const error = await failure(host.lambda('whisper', 'x'));
    expect(error.code).toBe('ion/unknown-name');
    expect(error.message).toMatch(/has no Lambda named "whisper"; it has shout, list/);
  });
});

/**
 * SSM Parameter Store's GetParametersByPath, as the AWS SDK speaks it (JSON 1.1 over HTTP), two
 * parameters a page; `deny` answers AccessDeniedException instead.
 */
async function startParameterStore(parameters: Readonly<Record<string, string>>, deny = false): Promise<{ readonly server: Server; readonly endpoint: string; readonly requests: Array<Record<string, unknown>> }> {
  const requests: Array<Record<string, unknown>> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { Path: string; Recursive?: boolean; WithDecryption?: boolean; NextToken?: string };
      requests.push({ target: request.headers['x-amz-target'], ...body });
      if (deny) {
        response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized to perform ssm:GetParametersByPath' }));
        return;
      }
      const under = Object.keys(parameters).filter((name) => name.startsWith(`${body.Path}/`)).sort();
      const start = body.NextToken === undefined ? 0 : Number(body.NextToken);
      const page = under.slice(start, start + 2).map((name) => ({ Name: name, Value: parameters[name], Type: 'SecureString' }));
      const next = start + 2 < under.length ? { NextToken: String(start + 2) } : {};
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ Parameters: page, ...next }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('getParams from SSM Parameter Store', () => {
  const aws = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'test-secret' };
  beforeAll(() => Object.assign(process.env, aws));
  afterAll(() => {
    for (const name of Object.keys(aws)) delete process.env[name];
  });

  it('reads every page, recursively and decrypted, names relative to the path, cached for a moment', async () => {
    const store = await startParameterStore({ '/ledger/prod/a': '1', '/ledger/prod/b': '2', '/ledger/prod/stripe/key': 'sk_live', '/ledger/prod/z': '26', '/ledger/production/x': 'no' });
    const host = await IonHost.start(options({ params: { kind: 'ssm', region: 'eu-west-1', endpoint: store.endpoint } }));
    try {
      const expected = { a: '1', b: '2', 'stripe/key': 'sk_live', z: '26' };
      expect(await host.callTransaction('params', { database: 'bank', basisT: 1 }, ['/ledger/prod/'])).toEqual(expected);
      expect(store.requests).toEqual([
        { target: 'AmazonSSM.GetParametersByPath', Path: '/ledger/prod', Recursive: true, WithDecryption: true },
        { target: 'AmazonSSM.GetParametersByPath', Path: '/ledger/prod', Recursive: true, WithDecryption: true, NextToken: '2' },
      ]);
      expect(await host.callTransaction('params', { database: 'bank', basisT: 1 }, ['/ledger/prod'])).toEqual(expected);
      expect(store.requests).toHaveLength(2);
    } finally {
      await host.stop();
      store.server.close();
    }
  });

  it('a refusal fails the ion with ion/params-failed naming the path and what to check, never a value', async () => {
    const store = await startParameterStore({}, true);
    const host = await IonHost.start(options({ params: { kind: 'ssm', region: 'eu-west-1', endpoint: store.endpoint } }));
    try {
      const error = await failure(host.callTransaction('params', { database: 'bank', basisT: 1 }, ['/ledger/prod/']));
      expect(error.data.errorCode).toBe('ion/params-failed');
      expect(error.message).toMatch(/getParams could not read \/ledger\/prod\/ from SSM Parameter Store in eu-west-1: AccessDeniedException: not authorized.*ssm:GetParametersByPath/);
    } finally {
      await host.stop();
      store.server.close();
    }
  });
});

describe('limits', () => {
  it('a hanging query function is stopped by its limit, and later calls work (the next one waits for the fresh thread)', async () => {
    const host = await IonHost.start(options({ syncTimeoutMs: 500 }));
    try {
      const error = syncFailure(() => host.callSync('spin', []));
      expect(error.code).toBe('ion/timeout');
      expect(error.message).toMatch(/ledger\/spin did not answer within its limit of 500 ms/);
      expect(host.callSync('score', [1])).toBe(3);
      expect(await host.lambda('shout', 'still here')).toBe('STILL HERE');
    } finally {
      await host.stop();
    }
  });

  it('a hanging async call and a busy one are stopped by their limit; calls in flight with them fail as collateral; later calls work', async () => {
    const casts: Cast[] = [];
    const host = await IonHost.start(options({ callTimeoutMs: 800, casts }));
    try {
      // Both limits start together; timers of one length fire in the order they were set, so upper's comes first.
      const hanging = failure(host.lambda('shout', 'hang'));
      const alongside = failure(host.callTransaction('hang', { database: 'bank', basisT: 1 }, []));
      const timedOut = await hanging;
      expect(timedOut.code).toBe('ion/timeout');
      expect(timedOut.message).toMatch(/ledger\/upper ran past its limit of 800 ms/);
      const collateral = await alongside;
      expect(collateral.code).toBe('ion/crashed');
      expect(collateral.message).toMatch(/restarted because ledger\/upper ran past its limit of 800 ms, and ledger\/hang, in flight on it, was stopped with it; retry/);
      expect(await host.lambda('shout', 'next')).toBe('NEXT');
      expect(casts).toContainEqual({ kind: 'alert', data: { msg: 'ion ledger: its thread was restarted because ledger/upper ran past its limit of 800 ms', app: 'ledger', cause: 'ledger/upper ran past its limit of 800 ms' } });
      const busy = await failure(host.callTransaction('busy', { database: 'bank', basisT: 1 }, []));
      expect(busy.code).toBe('ion/timeout');
      expect(await host.lambda('shout', 'again')).toBe('AGAIN');
      expect(host.callSync('score', [2])).toBe(5);
    } finally {
      await host.stop();
    }
  });

  it('an ion that runs out of memory, or exits, fails its call with ion/crashed, and later calls work', async () => {
    const host = await IonHost.start(options({ memoryMb: 32, syncTimeoutMs: 3000 }));
    try {
      const oom = await failure(host.callTransaction('hog', { database: 'bank', basisT: 1 }, []));
      expect(oom.code).toBe('ion/crashed');
      expect(oom.message).toMatch(/died while running ledger\/hog: it ran out of memory \(the limit is 32 MB\)/);
      expect(await host.lambda('shout', 'after oom')).toBe('AFTER OOM');
      const exited = await failure(host.callTransaction('quit', { database: 'bank', basisT: 1 }, []));
      expect(exited.code).toBe('ion/crashed');
      expect(exited.message).toMatch(/process\.exit\(3\)/);
      expect(await host.lambda('shout', 'after exit')).toBe('AFTER EXIT');
      expect(host.callSync('score', [3])).toBe(7);
      // A query function's caller is blocked and cannot see the thread die: it sees no answer in time.
      const oomSync = syncFailure(() => host.callSync('hogSync', []));
      expect(oomSync.code).toBe('ion/timeout');
      expect(oomSync.message).toMatch(/or its thread died, e\.g\. out of memory/);
      expect(await host.lambda('shout', 'after oom in a query function')).toBe('AFTER OOM IN A QUERY FUNCTION');
      expect(host.callSync('score', [4])).toBe(9);
    } finally {
      await host.stop();
    }
  });

  it('a thread that cannot be restarted from its revision is reported, fails calls, and is tried again later', async () => {
    const flakyParams = path.join(dir, 'flaky-params.json');
    await writeFile(flakyParams, JSON.stringify({ '/flaky/mode': 'ok' }));
    const text = `import { getParams } from 'factum/ion';
      const { mode } = await getParams('/flaky/');
      if (mode === 'broken') throw new Error('the parameter store says broken');
      export function echo(x) { return x; }
      export async function quit() { process.exit(2); }`;
    const casts: Cast[] = [];
    const host = await IonHost.start(options({ bundle: await bundle({ text }), config: { appName: 'flaky', allow: ['echo', 'quit'] }, params: { kind: 'file', path: flakyParams }, casts }));
    try {
      await writeFile(flakyParams, JSON.stringify({ '/flaky/mode': 'broken' }));
      expect((await failure(host.callTransaction('quit', { database: 'bank', basisT: 1 }, []))).code).toBe('ion/crashed');
      await expect.poll(() => casts.find((cast) => cast.kind === 'alert' && String(cast.data.msg).includes('could not be restarted'))).toBeDefined();
      expect(syncFailure(() => host.callSync('echo', [1])).code).toBe('ion/crashed');
      await writeFile(flakyParams, JSON.stringify({ '/flaky/mode': 'ok' }));
      let answer: unknown = null;
      for (let attempt = 0; attempt < 20 && answer === null; attempt++) {
        try {
          answer = host.callSync('echo', ['back']);
        } catch (error) {
          expect((error as FactumError).code).toBe('ion/crashed');
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
      expect(answer).toBe('back');
    } finally {
      await host.stop();
    }
  });

  it('stop lets calls in flight finish and refuses later ones', async () => {
    const host = await IonHost.start(options());
    const inFlight = host.callTransaction('audit', { database: 'bank', basisT: conn.db().basisT }, ['ann']);
    const stopping = host.stop();
    expect((await inFlight) as unknown[]).toHaveLength(1);
    await stopping;
    expect(syncFailure(() => host.callSync('score', [1])).code).toBe('ion/unavailable');
    expect((await failure(host.lambda('shout', 'x'))).code).toBe('ion/unavailable');
  });

  it('stop with a hanging call in flight ends when that call reaches its limit', async () => {
    const host = await IonHost.start(options({ callTimeoutMs: 500 }));
    const hanging = failure(host.lambda('shout', 'hang'));
    await host.stop();
    expect((await hanging).code).toBe('ion/timeout');
  });
});
