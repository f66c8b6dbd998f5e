// Regressions found by review of the node's HTTP API, each named for its bug, against a real node
// process: a speculative db value's token used on another database, replayed signed requests, and
// a body the node buffered before authenticating it.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../../client/index.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { basisTOf, call, databaseKeyFile, prepareCall, readKeyFile, send, valueOf, wireErrorOf, type KeyFile, type Target } from './signed-fetch.ts';

let dir: string;
let node: ChildNode;
let target: Target;
let admin: KeyFile;
let client: Client;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-review-'));
  node = await startChildNode(path.join(dir, 'data'), path.join(dir, 'node.log'));
  target = { endpoint: node.announcement.endpoint, system: node.announcement.system };
  admin = readKeyFile(node.announcement.keyFile!);
  client = createClient({ endpoint: target.endpoint, system: target.system, keyFile: node.announcement.keyFile! });
  for (const name of ['public', 'secret']) {
    await client.createDatabase(name);
    await (await client.connect(name)).transact('[{:db/ident :item/n :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]');
  }
  await (await client.connect('secret')).transact('[{:item/n 1000000}]');
});

afterAll(async () => {
  await client.close();
  await node.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('review regressions', () => {
  it('a with() token made on one database does not read as another (bug: with-token-crosses-databases)', async () => {
    const secretDb = (await client.connect('secret')).db();
    const speculative = await secretDb.with('[{:item/n 7}]');
    const token = (speculative.dbAfter as unknown as { ref: { with: string; basisT: number } }).ref;
    const reader = readKeyFile(databaseKeyFile(path.join(dir, 'data'), 'public', 'read-only'));
    const publicBasis = await basisTOf(target, reader, 'public');
    const forged = { database: 'public', basisT: publicBasis, with: token.with };
    const answer = await call(target, reader, 'q', { query: '[:find ?n :where [_ :item/n ?n]]', args: [forged], dbArgs: [0] });
    expect(answer.status).toBe(400);
    expect(wireErrorOf(answer)).toMatchObject({ code: 'db/invalid-reference' });
    expect(answer.text).not.toContain('1000000');
  });

  it('a replayed admin request is refused and does nothing (bug: signed-admin-request-replayed)', async () => {
    const request = prepareCall(target, admin, 'createDatabase', { name: 'once' });
    expect(valueOf(await send(target, request))).toBe(true);
    expect(valueOf(await call(target, admin, 'deleteDatabase', { name: 'once' }))).toBe(true);
    const replayed = await send(target, request);
    expect(replayed.status).toBe(401);
    expect(wireErrorOf(replayed)).toMatchObject({ code: 'auth/replayed', category: 'forbidden' });
    expect(await client.listDatabases()).toEqual(['public', 'secret']);
  });

  it('a replayed transaction without an idempotency key is applied once (bug: signed-transact-replayed)', async () => {
    const writer = readKeyFile(databaseKeyFile(path.join(dir, 'data'), 'public', 'read-write'));
    const before = await basisTOf(target, writer, 'public');
    const request = prepareCall(target, writer, 'transact', { database: 'public', txData: '[{:item/n 100}]' });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(valueOf(await send(target, request)) as { dbAfter: { basisT: number }; duplicate: boolean });
    expect(answers.map((a) => a.dbAfter.basisT)).toEqual([before + 1, before + 1, before + 1]);
    expect(answers.map((a) => a.duplicate)).toEqual([false, true, true]);
    expect(await basisTOf(target, writer, 'public')).toBe(before + 1);
  });

  it('a captured admin request is refused after the node restarts (bug: admin-replay-after-restart)', async () => {
    const request = prepareCall(target, admin, 'createDatabase', { name: 'again' });
    expect(valueOf(await send(target, request))).toBe(true);
    expect(valueOf(await call(target, admin, 'deleteDatabase', { name: 'again' }))).toBe(true);
    await client.close();
    await node.stop();
    node = await startChildNode(path.join(dir, 'data'), path.join(dir, 'node.log'));
    target = { endpoint: node.announcement.endpoint, system: node.announcement.system };
    client = createClient({ endpoint: target.endpoint, system: target.system, keyFile: node.announcement.keyFile! });
    const replayed = await send(target, request);
    expect(wireErrorOf(replayed)).toMatchObject({ code: 'auth/replayed' });
    expect(await client.listDatabases()).toEqual(['public', 'secret']);
  });

  it("refuses a client's idempotency key in the node's own sig: space (bug: sig-key-claimable)", async () => {
    const writer = readKeyFile(databaseKeyFile(path.join(dir, 'data'), 'public', 'read-write'));
    const answer = await call(target, writer, 'transact', { database: 'public', txData: '[{:item/n 5}]', idempotencyKey: `sig:${'0'.repeat(64)}` });
    expect(answer.status).toBe(400);
    expect(wireErrorOf(answer)).toMatchObject({ code: 'request/wrong-type', data: { argument: 'idempotencyKey' } });
  });

  it('refuses an unauthenticated request before reading its body (bug: body-buffered-before-authentication)', async () => {
    const url = new URL(target.endpoint);
    // Headers only, announcing 10 MB that never come: the refusal must come anyway.
    const status = await new Promise<number>((resolve, reject) => {
      const request = http.request({ hostname: url.hostname, port: url.port, method: 'POST', path: '/api/listDatabases', headers: { 'content-length': '10000000', authorization: 'FACTUM-HMAC-SHA256 KeyId=nobody, SignedHeaders=host, Signature=00' } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        request.destroy();
      });
      request.once('error', reject);
      request.write('x');
    });
    expect(status).toBe(401);
  });
});
