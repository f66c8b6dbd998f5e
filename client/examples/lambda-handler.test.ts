// The example Lambda handler against a real node process: the handler module is loaded fresh after
// its environment is set, as a Lambda container loads it, and invoked in process with API Gateway
// events; then the node restarts between two invocations, as a thawed container finds its
// keep-alive sockets dead, and the client retries on fresh ones.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { createClient } from '../remote.ts';
import type { ItemsEvent, ItemsResponse } from './lambda-handler.ts';

let dir = '';
let node: ChildNode | undefined;
/** The node the frozen-restart test starts outside this process's control, stopped by its pid. */
let detachedPid: number | null = null;
let functionKeyFile = '';
let handler: (event: ItemsEvent) => Promise<ItemsResponse>;
/** The function's key's secret, which no answer may contain. */
let secret = '';
const environment = ['FACTUM_ENDPOINT', 'FACTUM_SYSTEM', 'FACTUM_DATABASE', 'FACTUM_KEY_FILE', 'FACTUM_BUCKET', 'FACTUM_PERMISSION'] as const;
const saved = Object.fromEntries(environment.map((name) => [name, process.env[name]]));

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-'));
  node = await startChildNode(dir, path.join(dir, 'node.log'));
  const { endpoint, system, keyFile } = node.announcement;
  // The database is made with the admin key; the function gets the database's read-write key,
  // as its IAM policy would let it fetch on AWS.
  const admin = createClient({ endpoint, system, keyFile: keyFile! });
  await admin.createDatabase('shop');
  const folder = path.join(dir, 'access', 'dbs', 'shop', 'read-write');
  functionKeyFile = path.join(folder, (await readdir(folder))[0]!);
  secret = (JSON.parse(await readFile(functionKeyFile, 'utf8')) as { secret: string }).secret;
  Object.assign(process.env, { FACTUM_ENDPOINT: endpoint, FACTUM_SYSTEM: system, FACTUM_DATABASE: 'shop', FACTUM_KEY_FILE: functionKeyFile });
  delete process.env.FACTUM_BUCKET;
  vi.resetModules();
  const loaded = await import('./lambda-handler.ts');
  handler = loaded.handler;
  await (await admin.connect('shop')).transact(loaded.itemSchema);
  await admin.close();
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (detachedPid !== null) await stopByPid(detachedPid);
  for (const name of environment) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const post = (body: string): ItemsEvent => ({ httpMethod: 'POST', path: '/items', body });
const get = (sku: string): ItemsEvent => ({ httpMethod: 'GET', path: `/items/${encodeURIComponent(sku)}`, body: null });

async function invoke(event: ItemsEvent): Promise<{ statusCode: number; headers: Record<string, string>; body: any }> {
  const response = await handler(event);
  expect(response.body).not.toContain(secret);
  expect(response.body).not.toMatch(/\n\s+at /); // no stack
  return { ...response, body: JSON.parse(response.body) };
}

describe('example Lambda handler (client/examples/lambda-handler.ts)', () => {
  it('creates an item, and reads it back by its sku', async () => {
    const created = await invoke(post(JSON.stringify({ sku: 'A-1', name: 'Anvil', quantity: 3 })));
    expect(created).toMatchObject({ statusCode: 201, headers: { 'content-type': 'application/json' }, body: { sku: 'A-1', id: expect.any(Number), t: expect.any(Number) } });
    expect(await invoke(get('A-1'))).toMatchObject({ statusCode: 200, body: { 'item/sku': 'A-1', 'item/name': 'Anvil', 'item/quantity': 3 } });
    // A second POST of the same sku updates the item (:item/sku is a unique identity).
    const updated = await invoke(post(JSON.stringify({ sku: 'A-1', quantity: 2 })));
    expect(updated.body).toMatchObject({ id: created.body.id, t: created.body.t + 1 });
    expect((await invoke(get('A-1'))).body).toEqual({ 'item/sku': 'A-1', 'item/name': 'Anvil', 'item/quantity': 2 });
  });

  it('answers 404 with the error code for an item that does not exist, and for an unknown route', async () => {
    const missing = await invoke(get('no such/sku'));
    expect(missing).toMatchObject({ statusCode: 404, body: { error: { code: 'pull/entity-not-found', category: 'not-found', message: expect.stringContaining('no such/sku') } } });
    expect(Object.keys(missing.body.error).sort()).toEqual(['category', 'code', 'message']);
    expect(await invoke({ httpMethod: 'DELETE', path: '/items/A-1' })).toMatchObject({ statusCode: 404, body: { error: { code: 'items/unknown-route' } } });
  });

  it('answers 400 for a body that is not an item, whether the function or the database refuses it', async () => {
    expect(await invoke(post('{"sku": "B-2", '))).toMatchObject({ statusCode: 400, body: { error: { code: 'items/invalid-body', category: 'incorrect' } } });
    expect(await invoke(post('[1, 2]'))).toMatchObject({ statusCode: 400, body: { error: { code: 'items/invalid-body' } } });
    expect(await invoke(post(JSON.stringify({ sku: 'B-2', quantity: 'three' })))).toMatchObject({ statusCode: 400, body: { error: { category: 'incorrect', code: expect.stringMatching(/^value\//) } } });
    // Nothing was written.
    expect((await invoke(get('B-2'))).statusCode).toBe(404);
  });

  it('reads an HTTP API (v2) event and a base64 body', async () => {
    const body = Buffer.from(JSON.stringify({ sku: 'C-3', name: 'Crate' })).toString('base64');
    expect((await invoke({ requestContext: { http: { method: 'POST' } }, rawPath: '/items', body, isBase64Encoded: true })).statusCode).toBe(201);
    expect(await invoke({ requestContext: { http: { method: 'GET' } }, rawPath: '/items/C-3' })).toMatchObject({ statusCode: 200, body: { 'item/name': 'Crate' } });
  });

  it('succeeds after the node restarted between two invocations (its sockets closed cleanly)', async () => {
    expect((await invoke(get('A-1'))).statusCode).toBe(200); // a pooled keep-alive socket now exists
    const port = Number(new URL(node!.announcement.endpoint).port);
    await node!.stop();
    node = await startChildNode(dir, path.join(dir, 'node.log'), port);
    expect(node.announcement.endpoint).toBe(process.env.FACTUM_ENDPOINT);
    expect(await invoke(get('A-1'))).toMatchObject({ statusCode: 200, body: { 'item/quantity': 2 } });
    expect((await invoke(post(JSON.stringify({ sku: 'D-4', quantity: 1 })))).statusCode).toBe(201);
    expect((await invoke(get('D-4'))).body).toEqual({ 'item/sku': 'D-4', 'item/quantity': 1 });
  });

  it('succeeds when a thawed container finds its keep-alive socket dead (the node restarted while it was frozen)', async () => {
    const { endpoint, system } = node!.announcement;
    // A control: the same client without retries, which must fail on the dead socket, so that
    // this test shows a dead socket was met rather than passing on a fresh one.
    const control = createClient({ endpoint, system, keyFile: functionKeyFile, retry: { attemptsMax: 1 } });
    const controlDb = (await control.connect('shop')).db();
    await controlDb.pull('[:item/sku]', 1);
    expect((await invoke(get('A-1'))).statusCode).toBe(200); // both clients hold an idle keep-alive socket
    // Frozen: this process runs no event loop while another restarts the node, so the sockets'
    // close is not seen until the next invocation has already sent its request on them.
    detachedPid = restartWhileFrozen(node!.process.pid!, Number(new URL(endpoint).port));
    const [controlPull, response] = await Promise.allSettled([controlDb.pull('[:item/sku]', 1), invoke(get('A-1'))]);
    expect(controlPull).toMatchObject({ status: 'rejected', reason: { code: 'client/network' } });
    expect(response).toMatchObject({ status: 'fulfilled', value: { statusCode: 200, body: { 'item/sku': 'A-1' } } });
    await control.close();
  });
});

const helper = `
import { spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import net from 'node:net';
const { pid, port, main, dir, output } = JSON.parse(process.env.FACTUM_RESTART);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const listening = () => new Promise((resolve) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.once('connect', () => { socket.destroy(); resolve(true); });
  socket.once('error', () => resolve(false));
});
process.kill(pid, 'SIGTERM');
while (await listening()) await sleep(20);
const out = openSync(output, 'a');
const child = spawn(process.execPath, ['--import', 'tsx', main, 'serve', '--dir', dir, '--port', String(port)], { detached: true, stdio: ['ignore', out, out] });
child.unref();
while (!readFileSync(output, 'utf8').includes('"endpoint"')) await sleep(20);
process.stdout.write(String(child.pid));
`;

/**
 * Stops the node `pid` and starts another on the same port and directory, blocking this process
 * (spawnSync) until the new one has announced itself; returns the new node's pid.
 */
function restartWhileFrozen(pid: number, port: number): number {
  const main = fileURLToPath(new URL('../../nodes/cli/main.ts', import.meta.url));
  const restart = JSON.stringify({ pid, port, main, dir, output: path.join(dir, 'restarted.log') });
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', helper], { env: { ...process.env, FACTUM_RESTART: restart }, encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0 || !/^\d+$/.test(result.stdout)) throw new Error(`restarting the node failed (status ${result.status}): ${result.stderr}`);
  return Number(result.stdout);
}

async function stopByPid(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return; // gone
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
