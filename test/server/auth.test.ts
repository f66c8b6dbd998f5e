// Authentication and authorization of the node's HTTP API, end to end against a real node process
// (startChildNode: `factum serve` over a local data directory): every refusal with its HTTP status
// and code, a property test that no tampered or replayed request is ever answered 200 or changes
// the database, and that neither the answers nor the node's log ever hold a secret.
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../../client/index.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import { basisTOf, databaseKeyFile, prepareCall, readKeyFile, secretsIn, send, valueOf, wireErrorOf, type KeyFile, type RawRequest, type RawResponse, type Target } from './signed-fetch.ts';

let dir: string;
let logFile: string;
let node: ChildNode;
let target: Target;
let admin: KeyFile;
let readOnlyA: KeyFile;
let readWriteA: KeyFile;
let client: Client;
/** Every answer's text, checked for secrets. */
const answers: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-auth-'));
  logFile = path.join(dir, 'node.log');
  node = await startChildNode(path.join(dir, 'data'), logFile);
  target = { endpoint: node.announcement.endpoint, system: node.announcement.system };
  admin = readKeyFile(node.announcement.keyFile!);
  client = createClient({ endpoint: target.endpoint, system: target.system, keyFile: node.announcement.keyFile! });
  await client.createDatabase('a');
  await client.createDatabase('b');
  const conn = await client.connect('a');
  await conn.transact('[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]');
  readOnlyA = readKeyFile(databaseKeyFile(path.join(dir, 'data'), 'a', 'read-only'));
  readWriteA = readKeyFile(databaseKeyFile(path.join(dir, 'data'), 'a', 'read-write'));
});

afterAll(async () => {
  await client?.close();
  await node?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

async function sendKept(request: RawRequest): Promise<RawResponse> {
  const response = await send(target, request);
  answers.push(response.text);
  return response;
}

function transactA(key: { keyId: string; secret: string }, nowMs = Date.now(), system = target.system): RawRequest {
  return prepareCall(target, key, 'transact', { database: 'a', txData: [{ 'item/sku': `sku-${nowMs}` }] }, { nowMs, system, headers: { 'x-factum-idempotency-key': `key-${nowMs}` } });
}

function withHeader(request: RawRequest, name: string, value: string | undefined): RawRequest {
  const headers = { ...request.headers };
  if (value === undefined) delete headers[name];
  else headers[name] = value;
  return { ...request, headers };
}

async function expectRefused(request: RawRequest, status: number, code: string): Promise<void> {
  const basisT = await basisTOf(target, admin, 'a');
  const response = await sendKept(request);
  expect({ status: response.status, code: wireErrorOf(response).code }).toEqual({ status, code });
  expect(await basisTOf(target, admin, 'a')).toBe(basisT);
}

const fiveMinutesMs = 5 * 60_000;
const sixMinutesMs = 6 * 60_000;

describe('auth: every refusal, end to end', () => {
  it('accepts a validly signed transaction (the requests below differ from it in one thing)', async () => {
    const basisT = await basisTOf(target, admin, 'a');
    const response = await sendKept(transactA(readWriteA));
    expect(response.status).toBe(200);
    expect(await basisTOf(target, admin, 'a')).toBe(basisT + 1);
  });

  it('refuses a request without authorization: 401 auth/missing', () => expectRefused(withHeader(transactA(admin), 'authorization', undefined), 401, 'auth/missing'));

  it('refuses a malformed authorization header: 401 auth/malformed', async () => {
    await expectRefused(withHeader(transactA(admin), 'authorization', `Bearer ${admin.keyId}`), 401, 'auth/malformed');
    const signed = transactA(admin);
    const upperHex = signed.headers.authorization!.replace(/Signature=([0-9a-f]+)/, (_, hex: string) => `Signature=${hex.toUpperCase()}`);
    await expectRefused(withHeader(signed, 'authorization', upperHex), 401, 'auth/malformed');
  });

  it('refuses an unknown key id: 401 auth/unknown-key', () => expectRefused(transactA({ keyId: 'ffffffffffffffff', secret: admin.secret }), 401, 'auth/unknown-key'));

  it('refuses a request signed 6 minutes ago or 6 minutes ahead: 401 auth/expired', async () => {
    await expectRefused(transactA(readWriteA, Date.now() - sixMinutesMs), 401, 'auth/expired');
    await expectRefused(transactA(readWriteA, Date.now() + sixMinutesMs), 401, 'auth/expired');
  });

  it('refuses a body changed after signing: 401 auth/bad-signature', async () => {
    const signed = transactA(readWriteA);
    const other = prepareCall(target, readWriteA, 'transact', { database: 'a', txData: [{ 'item/sku': 'changed' }] });
    await expectRefused({ ...signed, body: other.body }, 401, 'auth/bad-signature');
    // The body and its hash changed together: the hash is signed.
    await expectRefused({ ...withHeader(signed, 'x-factum-content-sha256', other.headers['x-factum-content-sha256']), body: other.body }, 401, 'auth/bad-signature');
  });

  it('refuses a signed header changed after signing: 401 auth/bad-signature', async () => {
    const signed = transactA(readWriteA);
    await expectRefused(withHeader(signed, 'x-factum-idempotency-key', 'another'), 401, 'auth/bad-signature');
    await expectRefused(withHeader(signed, 'host', `localhost:${new URL(target.endpoint).port}`), 401, 'auth/bad-signature');
    await expectRefused(withHeader(signed, 'content-type', 'application/edn'), 401, 'auth/bad-signature');
  });

  it('refuses an x-factum-* header added after signing: 401 auth/malformed', () => expectRefused(withHeader(transactA(readWriteA), 'x-factum-basis-t', '1'), 401, 'auth/malformed'));

  it('refuses a request signed for another system name: 401 auth/bad-signature', () => expectRefused(transactA(readWriteA, Date.now(), 'other'), 401, 'auth/bad-signature'));

  it('refuses a read-only key of database a transacting a: 403 auth/not-permitted', async () => {
    await expectRefused(transactA(readOnlyA), 403, 'auth/not-permitted');
    // ... while it may read a.
    expect(valueOf(await sendKept(prepareCall(target, readOnlyA, 'connect', { database: 'a' })))).toMatchObject({ database: 'a' });
  });

  it("refuses reading database b with a's keys: 403 auth/not-permitted", async () => {
    for (const key of [readOnlyA, readWriteA]) {
      const response = await sendKept(prepareCall(target, key, 'connect', { database: 'b' }));
      expect({ status: response.status, code: wireErrorOf(response).code }).toEqual({ status: 403, code: 'auth/not-permitted' });
      const db = { database: 'b', basisT: 0 };
      const query = await sendKept(prepareCall(target, key, 'q', { query: '[:find ?e :where [?e :db/ident]]', args: [db], dbArgs: [0] }));
      expect({ status: query.status, code: wireErrorOf(query).code }).toEqual({ status: 403, code: 'auth/not-permitted' });
    }
  });

  it('refuses a read-write key creating or deleting a database: 403 auth/not-permitted', async () => {
    for (const [operation, name] of [['createDatabase', 'c'], ['deleteDatabase', 'a'], ['createDatabase', 'a']] as const) {
      const response = await sendKept(prepareCall(target, readWriteA, operation, { name }));
      expect({ operation, status: response.status, code: wireErrorOf(response).code }).toEqual({ operation, status: 403, code: 'auth/not-permitted' });
    }
    expect((await client.listDatabases()).sort()).toEqual(['a', 'b']);
  });

  it('lists only its own database to a database key', async () => {
    for (const key of [readOnlyA, readWriteA]) expect(valueOf(await sendKept(prepareCall(target, key, 'listDatabases', {})))).toEqual(['a']);
    expect((valueOf(await sendKept(prepareCall(target, admin, 'listDatabases', {}))) as string[]).sort()).toEqual(['a', 'b']);
  });
});

/** One byte of `text` at `index` replaced by another printable character. */
function replaceByte(text: string, index: number, replacement: string): string {
  const at = index % text.length;
  const char = replacement === text[at] ? (replacement === 'x' ? 'y' : 'x') : replacement;
  return text.slice(0, at) + char + text.slice(at + 1);
}

type Tamper =
  | { readonly kind: 'method' | 'path' | 'keyId' | 'signature'; readonly index: number; readonly char: string }
  | { readonly kind: 'header'; readonly name: string; readonly index: number; readonly char: string }
  | { readonly kind: 'body'; readonly index: number; readonly xor: number }
  | { readonly kind: 'replay'; readonly offsetMs: number }
  | { readonly kind: 'verb'; readonly method: string };

const signedHeaderNames = ['host', 'content-type', 'x-factum-date', 'x-factum-content-sha256', 'x-factum-idempotency-key'];
const printable = fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code));
const hexDigit = fc.constantFrom(...'0123456789abcdef');
const keyIdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
const index = fc.nat({ max: 1000 });

const tampers: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant('method' as const), index, char: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ') }),
  fc.record({ kind: fc.constant('verb' as const), method: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') }),
  fc.record({ kind: fc.constant('path' as const), index, char: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-.') }),
  fc.record({ kind: fc.constant('keyId' as const), index, char: keyIdChar }),
  fc.record({ kind: fc.constant('signature' as const), index, char: fc.oneof(hexDigit, printable) }),
  fc.record({ kind: fc.constant('header' as const), name: fc.constantFrom(...signedHeaderNames), index, char: printable }),
  fc.record({ kind: fc.constant('body' as const), index, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('replay' as const), offsetMs: fc.oneof(fc.integer({ min: fiveMinutesMs + 10_000, max: 365 * 86_400_000 }), fc.integer({ min: -365 * 86_400_000, max: -(fiveMinutesMs + 10_000) })) }),
);

/** A valid transaction of database a with one thing changed after signing. */
function tampered(tamper: Tamper, key: KeyFile): RawRequest {
  if (tamper.kind === 'replay') return transactA(key, Date.now() + tamper.offsetMs);
  const signed = transactA(key);
  switch (tamper.kind) {
    case 'method':
      return { ...signed, method: replaceByte(signed.method, tamper.index, tamper.char) };
    case 'verb':
      return { ...signed, method: tamper.method };
    case 'path':
      return { ...signed, path: replaceByte(signed.path, tamper.index, tamper.char) };
    case 'header':
      return withHeader(signed, tamper.name, replaceByte(signed.headers[tamper.name]!, tamper.index, tamper.char));
    case 'body': {
      const body = Uint8Array.from(signed.body);
      body[tamper.index % body.length] ^= tamper.xor;
      return { ...signed, body };
    }
    case 'keyId':
    case 'signature': {
      const pattern = tamper.kind === 'keyId' ? /KeyId=([^,]+)/ : /Signature=(.+)$/;
      const authorization = signed.headers.authorization!.replace(pattern, (whole, part: string) => whole.replace(part, replaceByte(part, tamper.index, tamper.char)));
      return withHeader(signed, 'authorization', authorization);
    }
  }
}

/** The node's code of a refusal, or `http` for one of node:http's parser (not a factum message). */
function refusalOf(response: RawResponse): string {
  return String(response.headers['content-type']).startsWith('application/vnd.factum') ? wireErrorOf(response).code : 'http';
}

/** Sends; a connection the node refuses at the HTTP level (a method it does not know) counts as refused. */
async function sendOrRefused(request: RawRequest): Promise<RawResponse | 'connection-refused'> {
  try {
    return await sendKept(request);
  } catch (error) {
    if (['ECONNRESET', 'EPIPE', 'HPE_INVALID_METHOD'].includes((error as { code?: string }).code ?? '')) return 'connection-refused';
    throw error;
  }
}

describe('auth: a request changed after signing is never served', () => {
  it('answers no tampered or replayed request 200, and the database stays unchanged', async () => {
    const basisT = await basisTOf(target, admin, 'a');
    const statuses = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(tampers, fc.constantFrom(admin, readWriteA), async (tamper, key) => {
        const response = await sendOrRefused(tampered(tamper, key));
        const status = response === 'connection-refused' ? 0 : response.status;
        const outcome = `${tamper.kind} ${status} ${response === 'connection-refused' ? '-' : refusalOf(response)}`;
        statuses.set(outcome, (statuses.get(outcome) ?? 0) + 1);
        expect(status).not.toBe(200);
        // Refused by the node's authentication, or by node:http's parser (an unknown method).
        expect(outcome).toMatch(/^\w+ (401 auth\/(malformed|expired|unknown-key|bad-signature)|400 http|0 -)$/);
        if (response !== 'connection-refused') for (const secret of [admin.secret, readWriteA.secret]) expect(secretsIn(response.text, secret)).toEqual([]);
      }),
      { numRuns: 600 },
    );
    expect(await basisTOf(target, admin, 'a')).toBe(basisT);
    // Every kind of change was tried and refused by the node's authentication (401), not only
    // by the HTTP parser (which refuses every one-byte change of POST itself).
    for (const kind of ['verb', 'path', 'keyId', 'signature', 'header', 'body', 'replay']) expect([...statuses.keys()].some((k) => k.startsWith(`${kind} 401`)), `${kind}: ${[...statuses]}`).toBe(true);
  });
});

describe('auth: secrets', () => {
  it('never sends a secret in an answer, and the node never logs one', async () => {
    const keys = [admin, readOnlyA, readWriteA];
    // The search finds each form it looks for.
    for (const form of [admin.secret, Buffer.from(admin.secret, 'base64url').toString('hex').toUpperCase(), Buffer.from(admin.secret, 'base64url').toString('base64')]) {
      expect(secretsIn(`{"x":"${form}"}`, admin.secret)).not.toEqual([]);
    }
    expect(answers.length).toBeGreaterThan(500);
    for (const text of answers) for (const key of keys) expect(secretsIn(text, key.secret)).toEqual([]);
    // Stop the node and read the whole log: its last line is written before the process exits.
    const closed = once(node.process, 'close');
    await node.stop();
    await closed;
    let log = '';
    for (let attempt = 0; !log.includes('node/stopped'); attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      log = await readFile(logFile, 'utf8');
    }
    expect(log).toContain('auth/bad-signature');
    expect(log).toContain('auth/not-permitted');
    for (const key of keys) expect(secretsIn(log, key.secret), key.permission).toEqual([]);
  });
});
