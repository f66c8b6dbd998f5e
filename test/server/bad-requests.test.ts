// Validly signed requests that are wrong in what they ask: bodies that are not messages, unknown
// operations, wrong argument types, bodies past FACTUM_REQUEST_BYTES_MAX; and EDN bodies and
// answers for people with curl. After every refusal the database is unchanged and the node
// answers a good request normally.
//
// An in-process node (startNode) with FACTUM_REQUEST_BYTES_MAX = 64 KiB: these are refusals of
// the HTTP pipeline, the same whether the node is this process or another (auth.test.ts and
// drain.test.ts use a node process).
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '../../client/index.ts';
import { operations } from '../../client/wire/protocol.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import { readEdn } from '../../nodes/edn/reader.ts';
import { Keyword } from '../../nodes/values/values.ts';
import { basisTOf, call, prepare, prepareCall, readKeyFile, send, valueOf, wireErrorOf, type KeyFile, type RawRequest, type RawResponse, type Target } from './signed-fetch.ts';

const requestBytesMax = 64 * 1024;

let dir: string;
/** The node's log lines so far, and who waits for which text. */
const logLines: string[] = [];
const logWaiters: Array<{ text: string; resolve: () => void }> = [];
let node: RunningNode;
let target: Target;
let admin: KeyFile;
let client: Client;
/** A reference to database a at the basis t the tests start from. */
let db: { database: string; basisT: number };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-bad-requests-'));
  node = await startNode(
    readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: dir, FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_REQUEST_BYTES_MAX: String(requestBytesMax) }),
    logOutput(),
  );
  target = { endpoint: node.endpoint, system: 'local' };
  admin = readKeyFile(node.keyFile!);
  client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  await client.createDatabase('a');
  const conn = await client.connect('a');
  await conn.transact('[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}]');
  await conn.transact([{ 'item/sku': 'A-1' }]);
  db = { database: 'a', basisT: await basisTOf(target, admin, 'a') };
});

function logOutput(): PassThrough {
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    logLines.push(text);
    for (const waiter of logWaiters) if (text.includes(waiter.text)) waiter.resolve();
  });
  return output;
}

/** Resolves once the node logs a line holding `text` (from now on). */
function logged(text: string): Promise<void> {
  return new Promise((resolve) => logWaiters.push({ text, resolve }));
}

afterAll(async () => {
  await client?.close();
  await node?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The node still serves: a good query answers the seeded entity, and a is still at its basis t. */
async function expectStillServing(): Promise<void> {
  const answer = valueOf(await call(target, admin, 'q', { query: '[:find ?sku :where [_ :item/sku ?sku]]', args: [db], dbArgs: [0] }));
  expect(answer).toEqual([['A-1']]);
  expect(await basisTOf(target, admin, 'a')).toBe(db.basisT);
}

function refusal(response: RawResponse): { status: number; code: string; category: string; argument: unknown } {
  const error = wireErrorOf(response);
  return { status: response.status, code: error.code, category: error.category, argument: error.data.argument };
}

interface Case {
  readonly name: string;
  readonly request: () => RawRequest;
  readonly status: number;
  /** Any of these codes. */
  readonly codes: readonly string[];
  readonly argument?: string;
}

const garbage = new Uint8Array([0xc1, 0xff, 0x00, 0x13, 0x37, 0x42]);

const cases: readonly Case[] = [
  { name: 'a body that is not a message (garbage bytes)', request: () => prepare(target, admin, '/api/transact', garbage), status: 400, codes: ['wire/malformed', 'request/malformed'] },
  { name: 'a body that is a truncated message', request: () => prepare(target, admin, '/api/transact', new Uint8Array([0x92, 0x01])), status: 400, codes: ['wire/malformed', 'request/malformed'] },
  { name: 'a body that is a message and trailing bytes', request: () => prepare(target, admin, '/api/connect', new Uint8Array([...prepareCall(target, admin, 'connect', { database: 'a' }).body, 0x01])), status: 400, codes: ['wire/malformed'] },
  { name: 'a body that is a msgpack array', request: () => prepareCall(target, admin, 'transact', ['a', [{ 'item/sku': 'B-1' }]]), status: 400, codes: ['request/malformed'] },
  { name: 'a body that is a msgpack number', request: () => prepareCall(target, admin, 'transact', 42), status: 400, codes: ['request/malformed'] },
  { name: 'a body that is a msgpack string', request: () => prepareCall(target, admin, 'connect', 'a'), status: 400, codes: ['request/malformed'] },
  { name: 'a body that is a msgpack map', request: () => prepareCall(target, admin, 'connect', new Map([['database', 'a']])), status: 400, codes: ['request/malformed'] },
  { name: 'an EDN body that is not a map', request: () => prepare(target, admin, '/api/connect', '["a"]', { contentType: 'application/edn' }), status: 400, codes: ['request/malformed'] },
  { name: 'an EDN body that is not EDN', request: () => prepare(target, admin, '/api/connect', '{:database "a"', { contentType: 'application/edn' }), status: 400, codes: ['edn/syntax'] },
  { name: 'an unknown operation (/api/frobnicate)', request: () => prepareCall(target, admin, 'frobnicate', { database: 'a' }), status: 404, codes: ['request/unknown-operation'] },
  { name: 'a path outside /api', request: () => prepare(target, admin, '/transact', { database: 'a', txData: [] }), status: 404, codes: ['request/unknown-operation'] },
  { name: 'an inherited name as operation (/api/constructor)', request: () => prepareCall(target, admin, 'constructor', {}), status: 404, codes: ['request/unknown-operation'] },
  { name: 'GET instead of POST', request: () => prepare(target, admin, '/api/listDatabases', new Uint8Array(), { method: 'GET' }), status: 404, codes: ['request/unknown-operation'] },
  { name: 'PUT instead of POST', request: () => prepareCall(target, admin, 'transact', { database: 'a', txData: [{ 'item/sku': 'B-1' }] }, { method: 'PUT' }), status: 404, codes: ['request/unknown-operation'] },
  { name: 'database: 42 (connect)', request: () => prepareCall(target, admin, 'connect', { database: 42 }), status: 400, codes: ['request/wrong-type'], argument: 'database' },
  { name: 'database: 42 (transact)', request: () => prepareCall(target, admin, 'transact', { database: 42, txData: [{ 'item/sku': 'B-1' }] }), status: 400, codes: ['request/wrong-type'], argument: 'database' },
  { name: 'db: "x" (pull)', request: () => prepareCall(target, admin, 'pull', { db: 'x', pattern: ['*'], eid: ['item/sku', 'A-1'] }), status: 400, codes: ['db/invalid-reference'], argument: 'db' },
  { name: 'db: "x" (datoms)', request: () => prepareCall(target, admin, 'datoms', { db: 'x', index: 'eavt' }), status: 400, codes: ['db/invalid-reference'], argument: 'db' },
  { name: 'db with a negative basis t (stats)', request: () => prepareCall(target, admin, 'stats', { db: { database: 'a', basisT: -1 } }), status: 400, codes: ['db/invalid-reference'], argument: 'db' },
  { name: 'limit: -1 (datoms)', request: () => prepareCall(target, admin, 'datoms', { db, index: 'eavt', limit: -1 }), status: 400, codes: ['request/wrong-type'], argument: 'limit' },
  { name: 'limit: -2 (q; -1 means no limit there)', request: () => prepareCall(target, admin, 'q', { query: '[:find ?e :where [?e :item/sku]]', args: [db], dbArgs: [0], limit: -2 }), status: 400, codes: ['request/wrong-type'], argument: 'limit' },
  { name: 'offset: 1.5 (indexRange)', request: () => prepareCall(target, admin, 'indexRange', { db, attribute: 'item/sku', offset: 1.5 }), status: 400, codes: ['request/wrong-type'], argument: 'offset' },
  { name: 'eids: "notarray" (pullMany)', request: () => prepareCall(target, admin, 'pullMany', { db, pattern: ['*'], eids: 'notarray' }), status: 400, codes: ['request/wrong-type'], argument: 'eids' },
  { name: 'txData: 5 (transact)', request: () => prepareCall(target, admin, 'transact', { database: 'a', txData: 5 }), status: 400, codes: ['request/wrong-type'], argument: 'txData' },
  { name: 'txData: 5 (with)', request: () => prepareCall(target, admin, 'with', { db, txData: 5 }), status: 400, codes: ['request/wrong-type'], argument: 'txData' },
  { name: 'idempotencyKey: 7 (transact)', request: () => prepareCall(target, admin, 'transact', { database: 'a', txData: [{ 'item/sku': 'B-1' }], idempotencyKey: 7 }), status: 400, codes: ['request/wrong-type'], argument: 'idempotencyKey' },
  { name: 't: "x" (sync)', request: () => prepareCall(target, admin, 'sync', { database: 'a', t: 'x' }), status: 400, codes: ['request/wrong-type'], argument: 't' },
  { name: 'latest: "yes" (sync)', request: () => prepareCall(target, admin, 'sync', { database: 'a', latest: 'yes' }), status: 400, codes: ['request/wrong-type'], argument: 'latest' },
  { name: 'start: -1 (txRange)', request: () => prepareCall(target, admin, 'txRange', { database: 'a', start: -1 }), status: 400, codes: ['request/wrong-type'], argument: 'start' },
  { name: 'dbArgs: [5] (q, past its args)', request: () => prepareCall(target, admin, 'q', { query: '[:find ?e :where [?e :item/sku]]', args: [db], dbArgs: [5] }), status: 400, codes: ['request/wrong-type'], argument: 'dbArgs' },
  { name: 'options: 5 (indexPull)', request: () => prepareCall(target, admin, 'indexPull', { db, options: 5 }), status: 400, codes: ['request/wrong-type'], argument: 'options' },
  { name: 'e: "x" (ident)', request: () => prepareCall(target, admin, 'ident', { db, e: 'x' }), status: 400, codes: ['request/wrong-type'], argument: 'e' },
  { name: 'olderThan: "x" (gcStorage)', request: () => prepareCall(target, admin, 'gcStorage', { database: 'a', olderThan: 'x' }), status: 400, codes: ['request/wrong-type'], argument: 'olderThan' },
  { name: 'name: 7 (createDatabase)', request: () => prepareCall(target, admin, 'createDatabase', { name: 7 }), status: 400, codes: ['request/wrong-type'], argument: 'name' },
];

describe('bad requests: each refused with its status and code; the node keeps serving', () => {
  it.each(cases)('$name', async (c) => {
    const got = refusal(await send(target, c.request()));
    expect(got.status).toBe(c.status);
    expect(c.codes).toContain(got.code);
    if (c.argument !== undefined) expect(got.argument).toBe(c.argument);
    await expectStillServing();
  });

  // Regression: a query that is not a query (query: 7) was refused with query/syntax, data
  // { form: 7 }, not naming the argument that was wrong, unlike every other argument.
  it('query: 7 (q) is refused naming its argument (bug: query-type-not-named)', async () => {
    const got = refusal(await call(target, admin, 'q', { query: 7, args: [db], dbArgs: [0] }));
    expect(got).toMatchObject({ status: 400, argument: 'query' });
  });

  it('query: 7 (q) is refused with 400 (whatever it names) and the node keeps serving', async () => {
    const got = refusal(await call(target, admin, 'q', { query: 7, args: [db], dbArgs: [0] }));
    expect({ status: got.status, category: got.category }).toEqual({ status: 400, category: 'incorrect' });
    await expectStillServing();
  });

  it('answers no argument of any operation with a fault, and keeps serving (property)', async () => {
    const value = fc.oneof(
      fc.constant(db),
      fc.constantFrom('a', 'eavt', 'aevt', ':item/sku', 'item/sku', '[:find ?e :where [?e :item/sku]]', '[*]'),
      fc.constant(['*']),
      fc.integer({ min: -3, max: 5 }),
      fc.string({ maxLength: 8 }),
      fc.constant(null),
      fc.array(fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string({ maxLength: 4 }), fc.constant(db)), { maxLength: 3 }),
      fc.constant({}),
      fc.constant(new Date(0)),
      fc.double(),
      fc.boolean(),
    );
    const names = ['database', 'db', 'query', 'args', 'dbArgs', 'limit', 'offset', 'timeout', 'eids', 'eid', 'pattern', 't', 'start', 'end', 'index', 'components', 'attribute', 'options', 'ref', 'e'];
    // No operation that changes anything: the database must stay as it is.
    const readOperations = Object.keys(operations).filter((name) => !['createDatabase', 'deleteDatabase', 'gcStorage', 'transact'].includes(name));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...readOperations), fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 5 }), async (operation, args) => {
        const response = await call(target, admin, operation, args);
        expect(response.status).toBeLessThan(500);
        if (response.status !== 200) expect(wireErrorOf(response).category).not.toBe('fault');
      }),
      { numRuns: 400 },
    );
    await expectStillServing();
  });
});

describe('bad requests: bodies past FACTUM_REQUEST_BYTES_MAX', () => {
  /** Sends on `agent`, with a content-length or chunked; answers the response and whether its socket was closed cleanly. */
  function sendLarge(request: RawRequest, chunked: boolean, agent: http.Agent): Promise<{ status: number; connection: string | undefined; body: Uint8Array }> {
    const url = new URL(target.endpoint);
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...request.headers, ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(request.body.length) }) };
      const outgoing = http.request({ hostname: url.hostname, port: url.port, method: request.method, path: request.path, headers, agent }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => resolve({ status: response.statusCode ?? 0, connection: response.headers.connection, body: new Uint8Array(Buffer.concat(chunks)) }));
      });
      outgoing.once('error', reject);
      if (chunked) {
        for (let at = 0; at < request.body.length; at += 16 * 1024) outgoing.write(request.body.subarray(at, at + 16 * 1024));
        outgoing.end();
      } else outgoing.end(request.body);
    });
  }

  for (const [bytes, chunked] of [[requestBytesMax + 1024, false], [requestBytesMax + 1024, true], [8 << 20, false], [8 << 20, true]] as const) {
    it(`refuses ${bytes} bytes (${chunked ? 'chunked' : 'with a content-length'}) with 413 request/too-large and closes the connection cleanly`, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const request = prepareCall(target, admin, 'transact', { database: 'a', txData: `[{:item/sku "${'x'.repeat(bytes)}"}]` });
        expect(request.body.length).toBeGreaterThan(requestBytesMax);
        const answer = await sendLarge(request, chunked, agent);
        const error = wireErrorOf({ status: answer.status, headers: {}, body: answer.body, text: '' });
        expect({ status: answer.status, code: error.code, bytesMax: error.data.bytesMax }).toEqual({ status: 413, code: 'request/too-large', bytesMax: requestBytesMax });
        // The unread rest of the body would be taken for the next request: the node closes.
        expect(answer.connection).toBe('close');
        // The next request on the same agent (a new connection) is answered normally.
        expect(valueOf(await send(target, prepareCall(target, admin, 'listDatabases', {}), agent))).toEqual(['a']);
        await expectStillServing();
      } finally {
        agent.destroy();
      }
    });
  }

  it('takes a body just under the limit', async () => {
    const body = prepareCall(target, admin, 'q', { query: `[:find ?e :where [?e :item/sku "${'y'.repeat(requestBytesMax - 200)}"]]`, args: [db], dbArgs: [0] });
    expect(body.body.length).toBeLessThanOrEqual(requestBytesMax);
    expect(valueOf(await send(target, body))).toEqual([]);
  });
});

describe('EDN for people with curl', () => {
  it('takes an EDN request body ({:database "a"})', async () => {
    const answer = valueOf(await send(target, prepare(target, admin, '/api/connect', '{:database "a"}', { contentType: 'application/edn' })));
    expect(answer).toEqual({ database: 'a', basisT: db.basisT });
  });

  it('answers EDN text to accept: application/edn', async () => {
    const response = await send(target, prepare(target, admin, '/api/connect', '{:database "a"}', { contentType: 'application/edn', accept: 'application/edn' }));
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/edn');
    const answer = readEdn(response.text) as Map<Keyword, unknown>;
    expect(answer.get(Keyword.of('database'))).toBe('a');
    expect(answer.get(Keyword.of('basisT'))).toBe(db.basisT);
  });

  it('answers a query and a stream (one EDN vector) in EDN', async () => {
    const query = await send(target, prepareCall(target, admin, 'q', { query: '[:find ?sku :where [_ :item/sku ?sku]]', args: [db], dbArgs: [0] }, { accept: 'application/edn' }));
    expect(query.status).toBe(200);
    expect(readEdn(query.text)).toEqual([['A-1']]);
    const datoms = await send(target, prepare(target, admin, '/api/datoms', { db, index: 'avet', components: ['item/sku'] }, { accept: 'application/edn' }));
    expect(datoms.status).toBe(200);
    const flat = readEdn(datoms.text) as unknown[];
    expect(flat.length).toBe(5);
    expect(flat[2]).toBe('A-1');
  });

  // Regression: an EDN body could name a database (connect, transact) but never a db value:
  // {:database "a" :basisT 2} inside it stayed a Map, and every read taking a db answered
  // db/invalid-reference.
  it('takes a db value in an EDN body (bug: edn-db-reference-refused)', async () => {
    const body = `{:query "[:find ?sku :where [_ :item/sku ?sku]]" :args [{:database "a" :basisT ${db.basisT}}] :dbArgs [0]}`;
    const query = await send(target, prepare(target, admin, '/api/q', body, { contentType: 'application/edn', accept: 'application/edn' }));
    expect(query.status).toBe(200);
    expect(readEdn(query.text)).toEqual([['A-1']]);
  });

  // Regression: an error whose data held undefined could not be printed as EDN; printing threw
  // inside the server's catch, and the request was never answered. Now undefined prints as nil,
  // and a failure while answering a failure still answers (500) or closes the connection.
  it('answers an EDN error whose data holds undefined (bug: edn-error-undefined-unanswered)', async () => {
    const unanswered = logged('could not answer a request');
    const abort = new AbortController();
    const answered = send(target, prepareCall(target, admin, 'q', { args: [db], dbArgs: [0] }, { accept: 'application/edn' }), false, abort.signal);
    answered.catch(() => undefined); // aborted below when the node never answers
    const outcome = await Promise.race([answered.then((response) => response.status), unanswered.then(() => 'unanswered' as const)]);
    abort.abort();
    expect(outcome).toBe(400);
  });

  it('answers q without a query 400 request/wrong-type naming the query', async () => {
    const got = refusal(await call(target, admin, 'q', { args: [db], dbArgs: [0] }));
    expect({ status: got.status, code: got.code, argument: got.argument }).toEqual({ status: 400, code: 'request/wrong-type', argument: 'query' });
    await expectStillServing();
  });

  it('answers an error in EDN', async () => {
    const response = await send(target, prepareCall(target, admin, 'connect', { database: 42 }, { accept: 'application/edn' }));
    expect(response.status).toBe(400);
    const error = (readEdn(response.text) as Map<Keyword, unknown>).get(Keyword.of('error')) as Map<Keyword, unknown>;
    expect(error.get(Keyword.of('code'))).toBe('request/wrong-type');
    await expectStillServing();
  });
});
