// Draining, against a real node process (startChildNode: `factum serve`): on SIGTERM the node stops
// taking requests (/health stops answering 200, new requests are refused) while a request in
// flight, a long stream of datoms its client reads slowly, completes fully; then it exits 0.
//
// The stream is far larger than what the sockets' buffers hold, so while its client does not
// read, the node cannot finish it: the request is in flight for as long as the test wants,
// without any clock.
import http from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.ts';
import { decode } from '../../client/wire/codec.ts';
import { FrameReader } from '../../client/wire/frames.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { basisTOf, call, prepareCall, readKeyFile, wireErrorOf, type KeyFile, type Target } from './signed-fetch.ts';

/** 5000 values of 4000 characters: a stream of about 20 MB. */
const entities = 5000;
const valueChars = 4000;

let dir: string;
let node: ChildNode;
let target: Target;
let admin: KeyFile;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-drain-'));
  node = await startChildNode(path.join(dir, 'data'), path.join(dir, 'node.log'));
  target = { endpoint: node.announcement.endpoint, system: node.announcement.system };
  admin = readKeyFile(node.announcement.keyFile!);
  const client = createClient({ endpoint: target.endpoint, system: target.system, keyFile: node.announcement.keyFile! });
  try {
    await client.createDatabase('a');
    const conn = await client.connect('a');
    await conn.transact('[{:db/ident :text :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]');
    for (let from = 0; from < entities; from += 500) {
      await conn.transact(Array.from({ length: 500 }, (_, n) => ({ text: `${from + n}:`.padEnd(valueChars, String.fromCharCode(97 + ((from + n) % 26))) })));
    }
  } finally {
    await client.close();
  }
});

afterAll(async () => {
  await node?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** GET /health: its status, or the connection error's code (the port closed). */
function health(): Promise<number | string> {
  return new Promise((resolve) => {
    const url = new URL(target.endpoint);
    const request = http.get({ hostname: url.hostname, port: url.port, path: '/health', agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    request.once('error', (error: Error & { code?: string }) => resolve(error.code ?? error.message));
  });
}

/** A signed request's status and code, or the connection error's code. */
async function attempt(operation: string, args: unknown): Promise<string> {
  try {
    const response = await call(target, admin, operation, args);
    return response.status === 200 ? '200' : `${response.status} ${wireErrorOf(response).code}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe('drain: SIGTERM with a stream in flight', () => {
  it('stops taking requests, completes the stream in flight, then exits 0', async () => {
    expect(await health()).toBe(200);
    const basisT = await basisTOf(target, admin, 'a');
    const exited = once(node.process, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

    // The stream: datoms of :text, read one chunk, then not at all until the node drains.
    const request = prepareCall(target, admin, 'datoms', { db: { database: 'a', basisT }, index: 'aevt', components: ['text'] });
    const url = new URL(target.endpoint);
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const outgoing = http.request({ hostname: url.hostname, port: url.port, method: request.method, path: request.path, headers: { ...request.headers, 'content-length': String(request.body.length) }, agent: false }, resolve);
      outgoing.once('error', reject);
      outgoing.end(request.body);
    });
    expect(response.statusCode).toBe(200);
    const reader = new FrameReader();
    const items: unknown[] = [];
    let ended = false;
    const take = (chunk: Buffer): void => {
      for (const frame of reader.push(chunk)) {
        const message = decode(frame) as { items?: unknown[]; end?: boolean; error?: unknown };
        expect(message.error).toBeUndefined();
        if (message.end === true) ended = true;
        else items.push(...message.items!);
      }
    };
    take((await once(response, 'data'))[0] as Buffer);
    response.pause();

    node.process.kill('SIGTERM');
    // /health stops answering 200: 503 while stopping, or the port is closed (a connection made
    // as it closes is reset).
    let status: number | string = 200;
    while (status === 200) status = await health();
    expect([503, 'ECONNREFUSED', 'ECONNRESET']).toContain(status);
    // A new request is refused: 503 server/stopping, or the port is closed.
    expect(['503 server/stopping', 'ECONNREFUSED', 'ECONNRESET']).toContain(await attempt('listDatabases', {}));
    // The node is still running: draining, waiting for the stream its client has not read.
    expect({ exitCode: node.process.exitCode, signal: node.process.signalCode }).toEqual({ exitCode: null, signal: null });

    // Now read the rest: every datom arrives, then the end frame.
    const done = once(response, 'end');
    response.on('data', take);
    response.resume();
    await done;
    reader.end();
    expect(ended).toBe(true);
    expect(items.length).toBe(entities * 5);
    const values = new Set<string>();
    for (let at = 2; at < items.length; at += 5) values.add((items[at] as string).split(':')[0]!);
    expect(values.size).toBe(entities);

    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
