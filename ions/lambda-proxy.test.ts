// The Lambda ion proxy: its environment checks, its bundle (small, no engine, loads in a fresh
// process with nothing beside it), and its handler called in-process against a running node —
// before any ion is deployed (the node's error, clearly), and end to end once a revision with a
// Lambda is pushed and deployed.
import { execFile } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../client/index.ts';
import { resolveAccessKey } from '../client/remote/resolve-key.ts';
import { Transport } from '../client/remote/transport.ts';
import { readNodeSettings, startNode, type RunningNode } from '../nodes/main.ts';
import { isFactumError, type FactumError } from '../nodes/util/errors.ts';
import { connectionIdleMsMax, createLambdaProxy, readLambdaProxyConfig } from './lambda-proxy.ts';
import { deployGreeter, greeting } from './lambda-proxy-test-support.ts';
import { bundleLambdaProxy, lambdaProxyEntryFile } from '../infra/constructs/lambda-proxy-bundle.ts';

const run = promisify(execFile);

/** The error `promise` rejects with (fails the test if it resolves). */
async function failure(promise: Promise<unknown>): Promise<FactumError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  if (!isFactumError(outcome.error)) throw outcome.error;
  return outcome.error;
}

describe('the proxy environment', () => {
  it('names every missing variable in one client/invalid-config error', () => {
    let error: unknown;
    try {
      readLambdaProxyConfig({ FACTUM_SYSTEM: 'prod', FACTUM_PERMISSION: 'writer' });
    } catch (caught) {
      error = caught;
    }
    expect(isFactumError(error, 'client/invalid-config')).toBe(true);
    expect((error as FactumError).data.problems).toEqual([
      'FACTUM_ENDPOINT is not set',
      'FACTUM_ION_LAMBDA is not set',
      'FACTUM_BUCKET is not set',
      'AWS_REGION is not set',
      'FACTUM_PERMISSION is "writer", expected one of admin, read-write, read-only',
    ]);
  });

  it('fetches a database key from the bucket by default, read-only', () => {
    const config = readLambdaProxyConfig({
      FACTUM_ENDPOINT: 'http://primary.prod.factum.internal:8182',
      FACTUM_SYSTEM: 'prod',
      FACTUM_ION_APP: 'shop',
      FACTUM_ION_LAMBDA: 'hello',
      FACTUM_BUCKET: 'prod-bucket',
      FACTUM_DATABASE: 'shop',
      AWS_REGION: 'eu-west-1',
    });
    expect(config).toEqual({
      app: 'shop',
      lambda: 'hello',
      client: { endpoint: 'http://primary.prod.factum.internal:8182', system: 'prod', credentials: { bucket: 'prod-bucket', region: 'eu-west-1', permission: 'read-only', database: 'shop' } },
      timeoutMs: 60_000,
    });
  });

  it('refuses a read-only key without its database', () => {
    expect(() => readLambdaProxyConfig({ FACTUM_ENDPOINT: 'http://x:1', FACTUM_SYSTEM: 's', FACTUM_ION_LAMBDA: 'l', FACTUM_BUCKET: 'b', AWS_REGION: 'us-east-1' })).toThrow(
      /FACTUM_DATABASE is not set \(a read-only key belongs to a database\)/,
    );
  });
});

describe('the proxy bundle', () => {
  let dir = '';
  let metafile: Metafile;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-'));
    metafile = bundleLambdaProxy(dir);
  });
  afterAll(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('holds the remote transport and none of the engine', () => {
    const inputs = Object.keys(metafile.inputs);
    const nodes = inputs.filter((input) => input.startsWith('nodes/')).sort();
    expect(nodes).toContain('nodes/util/errors.ts'); // the check sees the bundle's real inputs
    expect(nodes.filter((input) => !['nodes/values/values.ts', 'nodes/util/errors.ts', 'nodes/datom/datom.ts', 'nodes/storage/aws/envelope.ts', 'nodes/storage/aws/retry.ts'].includes(input))).toEqual([]);
    expect(inputs.filter((input) => input.startsWith('client/') && !/^client\/(remote|wire)\//.test(input))).toEqual([]);
  });

  it('is small: under 150 KB in all', async () => {
    const files = await readdir(dir, { recursive: true });
    let bytes = 0;
    for (const file of files) {
      const info = await stat(path.join(dir, file));
      if (info.isFile()) bytes += info.size;
    }
    expect(bytes).toBeLessThan(150 * 1024);
  });

  it('loads in a fresh node process with nothing beside it, and refuses a bad environment at the first call', async () => {
    const code = `const m = await import('./${lambdaProxyEntryFile}');
      let outcome; try { await m.handler({}); outcome = 'no error'; } catch (e) { outcome = e.code; }
      console.log(JSON.stringify({ handler: typeof m.handler, outcome }));`;
    const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: dir, env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 });
    expect(stderr).toBe('');
    expect(JSON.parse(stdout)).toEqual({ handler: 'function', outcome: 'client/invalid-config' });
  });
});

describe('the proxy against a running node', () => {
  let dataDir = '';
  let node: RunningNode;
  let admin: Client;
  let readOnlyKeyFile = '';
  let bundleDir = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-node-'));
    node = await startNode(
      readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dataDir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_QUERY_THREADS: '0' }),
      new PassThrough().resume(),
    );
    admin = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
    await admin.createDatabase('shop');
    // The least key there is: the read-only key of one database (ionInvoke takes any key).
    const folder = path.join(dataDir, 'access', 'dbs', 'shop', 'read-only');
    readOnlyKeyFile = path.join(folder, (await readdir(folder)).find((file) => file.endsWith('.json'))!);
    bundleDir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-bundle-'));
    bundleLambdaProxy(bundleDir);
  });

  afterAll(async () => {
    await admin?.close();
    await node?.stop();
    for (const dir of [dataDir, bundleDir]) if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const environment = (lambda: string): Record<string, string> => ({
    FACTUM_ENDPOINT: node.endpoint,
    FACTUM_SYSTEM: 'local',
    FACTUM_ION_APP: 'shop',
    FACTUM_ION_LAMBDA: lambda,
    FACTUM_KEY_FILE: readOnlyKeyFile,
  });

  it('before any ion is deployed: throws the node error, its code as the error type, no secret', async () => {
    const proxy = createLambdaProxy(environment('hello'));
    const error = await failure(proxy({ name: 'Ada' }));
    expect(['ion/unavailable', 'ion/unknown-name']).toContain(error.code);
    expect(error.name).toBe(error.code); // the Lambda's errorType
    expect(error.message).toMatch(new RegExp(`^Lambda ion shop/hello via ${node.endpoint} failed: .+ \\[${error.code}\\]$`));
    const secret = (JSON.parse(await readFile(readOnlyKeyFile, 'utf8')) as { secret: string }).secret;
    expect(JSON.stringify({ message: error.message, data: error.data })).not.toContain(secret);
  });

  it('refuses a key the node does not know: auth error, with its code', async () => {
    const forged = path.join(bundleDir, 'forged.json');
    await writeFile(forged, JSON.stringify({ keyId: 'forged0123456789', secret: 'A'.repeat(43), permission: 'admin', database: null }));
    const proxy = createLambdaProxy({ ...environment('hello'), FACTUM_KEY_FILE: forged });
    const error = await failure(proxy({}));
    expect(error.code).toMatch(/^auth\//);
    expect(error.message).not.toContain('A'.repeat(43));
  });

  it('the bundled proxy, in a fresh process, answers as in-process', async () => {
    const code = `const m = await import('./${lambdaProxyEntryFile}');
      try { await m.handler({ name: 'Ada' }); console.log(JSON.stringify('no error')); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: bundleDir, env: { PATH: process.env.PATH ?? '', ...environment('hello') }, timeout: 30_000 });
    const answer = JSON.parse(stdout) as { name: string; code: string; message: string };
    expect(['ion/unavailable', 'ion/unknown-name']).toContain(answer.code);
    expect(answer.name).toBe(answer.code);
    expect(answer.message).toContain('Lambda ion shop/hello');
  });
});

describe('the proxy end to end: a revision with Lambdas pushed and deployed on the node', () => {
  let dataDir = '';
  let node: RunningNode;
  let admin: Transport;
  let readOnlyKeyFile = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-e2e-'));
    node = await startNode(
      readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dataDir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_QUERY_THREADS: '0' }),
      new PassThrough().resume(),
    );
    const client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
    await client.createDatabase('shop');
    await client.close();
    const folder = path.join(dataDir, 'access', 'dbs', 'shop', 'read-only');
    readOnlyKeyFile = path.join(folder, (await readdir(folder)).find((file) => file.endsWith('.json'))!);
    // Push and deploy as `factum ions push` and `factum ions deploy` do: the ion operations, with the admin key.
    admin = new Transport({ endpoint: node.endpoint, system: 'local', key: resolveAccessKey({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! }) });
    await deployGreeter(admin, 'proxy-test-1');
  });

  afterAll(async () => {
    admin?.close();
    await node?.stop();
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  const environmentFor = (lambda: string): Record<string, string> => ({ FACTUM_ENDPOINT: node.endpoint, FACTUM_SYSTEM: 'local', FACTUM_ION_APP: 'greeter', FACTUM_ION_LAMBDA: lambda, FACTUM_KEY_FILE: readOnlyKeyFile });
  const proxyFor = (lambda: string): ReturnType<typeof createLambdaProxy> => createLambdaProxy(environmentFor(lambda));

  it("sends the event as JSON text and returns the ion's string unchanged", async () => {
    const proxy = proxyFor('greet');
    const event = { name: 'Ada', items: [1, 2] };
    expect(await proxy(event)).toBe(greeting(event));
    // The container's transport and key serve the next invocation too.
    expect(await proxy({ name: 'Grace' })).toMatch(/^Hello, Grace!/);
  });

  it("fails with the ion's own message when it throws: ion/call-failed", async () => {
    const proxy = proxyFor('broken');
    const error = await failure(proxy({}));
    expect(error.code).toBe('ion/call-failed');
    expect(error.name).toBe('ion/call-failed');
    expect(error.message).toContain('Lambda ion greeter/broken');
    expect(error.message).toContain('the warehouse is closed');
  });

  it('fails with ion/unknown-name for a Lambda the deployed revision does not have', async () => {
    const proxy = proxyFor('nightly');
    const error = await failure(proxy({}));
    expect(error.code).toBe('ion/unknown-name');
    expect(error.message).toMatch(/greet/);
  });

  it('keeps its connection between invocations close together, and opens a new one after an idle spell', async () => {
    // A TCP relay in front of the node counts the connections the proxy opens.
    const connections: net.Socket[] = [];
    const target = new URL(node.endpoint);
    const relay = net.createServer((socket) => {
      connections.push(socket);
      const upstream = net.connect(Number(target.port), target.hostname);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      let clock = 0;
      const proxy = createLambdaProxy({ ...environmentFor('greet'), FACTUM_ENDPOINT: `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}` }, { now: () => clock });
      await proxy({ name: 'Ada' });
      clock += connectionIdleMsMax;
      await proxy({ name: 'Ada' });
      expect(connections).toHaveLength(1);
      // Frozen longer than that: the load balancer may have closed it unseen.
      clock += connectionIdleMsMax + 1;
      expect(await proxy({ name: 'Grace' })).toMatch(/^Hello, Grace!/);
      expect(connections).toHaveLength(2);
      // The old one is closed by the proxy (the test's timeout bounds the wait).
      const old = connections[0]!;
      await new Promise<void>((resolve) => (old.destroyed ? resolve() : old.once('close', () => resolve())));
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });
});
