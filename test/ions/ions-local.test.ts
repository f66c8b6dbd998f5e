// Ions end to end on a local system: the example application (ions/examples: a bank) pushed and
// deployed onto a node, then reached every way an ion is: a transaction function that enforces an
// invariant (also under concurrent transfers sharing group-commit batches), a query function
// (the node has a query thread: queries naming an ion run on the main thread), a pull xform,
// the HTTP handler (signed, and refused unsigned), a Lambda entry point. Then a revision that
// fails to load is rolled back with the bank still served meanwhile, and ions that hang are
// stopped by their time limits while the node keeps serving.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, q, type Client, type Connection } from '../../client/index.ts';
import { openIonAdmin, type IonAdmin } from '../../ions/ion-admin.ts';
import { pushRevision } from '../../ions/push.ts';
import { readNodeSettings, startNode, type RunningNode } from '../../nodes/main.ts';
import type { IonGroupStatus } from '../../nodes/ions/revision.ts';
import { prepare, prepareCall, readKeyFile, send, wireErrorOf, type Target } from '../server/signed-fetch.ts';

const EXAMPLE = path.resolve('ions/examples');

let dir: string;
let node: RunningNode;
let client: Client;
let conn: Connection;
let admin: IonAdmin;
let target: Target;

async function waitForDeployment(deployId: string): Promise<IonGroupStatus> {
  for (let i = 0; i < 300; i++) {
    const status = await admin.status('primary');
    if (status.deployment?.deployId === deployId && status.deployment.state !== 'deploying') return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`deployment ${deployId} did not finish: ${JSON.stringify(await admin.status('primary'))}`);
}

async function pushAndDeploy(projectDirectory: string, uname: string): Promise<IonGroupStatus> {
  const { app, rev } = await pushRevision({ projectDirectory, uname, admin });
  const { deployId } = await admin.deploy({ group: 'primary', app, rev });
  return waitForDeployment(deployId);
}

/** The balances now (synced: the ions' own client writes too). */
async function balances(): Promise<Record<string, number>> {
  const rows = (await q('[:find ?id ?b :where [?a :account/id ?id] [?a :account/balance ?b]]', await conn.sync())) as Array<[string, number]>;
  return Object.fromEntries(rows);
}

/** `call`'s answer once it stops failing with ion/crashed (a replaced ion thread starting under load), for up to 20 s. */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if ((error as { code?: string }).code !== 'ion/crashed' || attempt >= 40) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** A copy of the example whose `index.ts` is `source` (and whose ion-config allows `allow`). */
async function variant(name: string, source: string, allow: readonly string[]): Promise<string> {
  const project = path.join(dir, name);
  await cp(EXAMPLE, project, { recursive: true });
  await writeFile(path.join(project, 'src', 'index.ts'), source);
  const config = JSON.parse(await readFile(path.join(project, 'ion-config.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(path.join(project, 'ion-config.json'), JSON.stringify({ ...config, allow, http: undefined, lambdas: undefined }));
  return project;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-ions-'));
  node = await startNode(
    readNodeSettings({ FACTUM_STORAGE: 'local', FACTUM_DATA_DIR: path.join(dir, 'data'), FACTUM_PORT: '0', FACTUM_HOST: '127.0.0.1', FACTUM_SYSTEM: 'local', FACTUM_ROLE: 'primary', FACTUM_QUERY_THREADS: '1', FACTUM_ION_TIMEOUT_MS: '3000', FACTUM_ION_SYNC_TIMEOUT_MS: '500' }),
    new PassThrough().resume(),
  );
  target = { endpoint: node.endpoint, system: 'local' };
  client = createClient({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  admin = openIonAdmin({ endpoint: node.endpoint, system: 'local', keyFile: node.keyFile! });
  await client.createDatabase('bank');
  conn = await client.connect('bank');
  await conn.transact(await readFile(path.join(EXAMPLE, 'schema.edn'), 'utf8'));
  await conn.transact('[{:account/id "alice" :account/balance 10000} {:account/id "bob" :account/balance 0}]');
}, 60_000);

afterAll(async () => {
  admin?.close();
  await client?.close();
  await node?.stop();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the example ion application on a local node', () => {
  it('deploys', async () => {
    const status = await pushAndDeploy(EXAMPLE, 'example-1');
    expect(status.deployment).toMatchObject({ app: 'bank', rev: 'example-1', state: 'deployed' });
    expect(status.nodes).toEqual([expect.objectContaining({ state: 'running', running: { app: 'bank', rev: 'example-1' }, live: true })]);
  }, 60_000);

  it('runs its transaction function on the transactor, and an overdraft aborts the whole transaction', async () => {
    await conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "bob"] 2500]]');
    expect(await balances()).toEqual({ alice: 7500, bob: 2500 });
    const before = conn.db().basisT;
    const refused = await conn.transact('[[:bank/transfer [:account/id "bob"] [:account/id "alice"] 999999] {:account/id "carol" :account/balance 1}]').catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'ion/call-failed' });
    expect((refused as Error).message).toContain('holds 2500 cents, less than the 999999 to transfer');
    expect((await conn.sync()).basisT).toBe(before);
    expect(await balances()).toEqual({ alice: 7500, bob: 2500 });
  });

  it('keeps its invariant under concurrent transfers (each sees the db value its own transaction starts from)', async () => {
    // 40 transfers of 300 from alice (7500): exactly 25 can succeed, in whatever batches they share.
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "bob"] 300]]')));
    const succeeded = results.filter((r) => r.status === 'fulfilled').length;
    for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).message).toContain('less than the 300 to transfer');
    expect(succeeded).toBe(25);
    expect(await balances()).toEqual({ alice: 0, bob: 10000 });
  }, 60_000);

  it('answers its query function and pull xform', async () => {
    await conn.transact('[[:bank/transfer [:account/id "bob"] [:account/id "alice"] 500]]');
    const rows = await q('[:find ?id ?risk :where [?a :account/id ?id] [?a :account/balance ?b] [(bank/riskScore ?b) ?risk]]', conn.db());
    expect(new Set(rows as unknown[])).toEqual(new Set([['alice', 'high'], ['bob', 'medium']]));
    expect(await conn.db().pull('[:account/id [:account/balance :xform bank/formatBalance]]', ['account/id', 'bob'])).toEqual({ 'account/id': 'bob', 'account/balance': '95.00' });
  });

  it('serves its HTTP handler under /ion/ to signed requests only', async () => {
    const key = readKeyFile(node.keyFile!);
    const answer = await send(target, prepare(target, key, '/ion/accounts/alice', new Uint8Array(), { method: 'GET' }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({ id: 'alice', balance: '5.00' });
    const transfer = prepare(target, key, '/ion/transfers', JSON.stringify({ from: 'bob', to: 'alice', cents: 100 }), { contentType: 'application/json' });
    const posted = await send(target, transfer);
    expect(posted.status).toBe(200);
    expect(await balances()).toEqual({ alice: 600, bob: 9400 });
    // The same signed request sent again (captured on the way) is refused: it moves no money twice.
    const replayed = await send(target, transfer);
    expect(JSON.parse(replayed.text)).toMatchObject({ error: { code: 'auth/replayed' } });
    expect(await balances()).toEqual({ alice: 600, bob: 9400 });
    const unsigned = await send(target, { method: 'GET', path: '/ion/accounts/alice', headers: { host: new URL(node.endpoint).host }, body: new Uint8Array() });
    expect(unsigned.status).toBe(401);
    expect(JSON.parse(unsigned.text)).toMatchObject({ error: { code: 'auth/missing' } });
  });

  it('answers its Lambda entry point through ionInvoke, once per signed request', async () => {
    expect(JSON.parse(await admin.invoke('balance', JSON.stringify({ account: 'bob' })))).toEqual({ account: 'bob', found: true, balance: '94.00' });
    await expect(admin.invoke('nope', '{}')).rejects.toMatchObject({ code: 'ion/unknown-name' });
    // Identical invocations at once (the same millisecond, most of them) are each carried out: the
    // client's signed nonce keeps their signatures apart (the Lambda proxy's bench caught them refused as replays).
    const same = await Promise.all(Array.from({ length: 20 }, () => admin.invoke('balance', JSON.stringify({ account: 'bob' }))));
    expect(new Set(same)).toEqual(new Set([JSON.stringify({ account: 'bob', found: true, balance: '94.00' })]));
    const invoke = prepareCall(target, readKeyFile(node.keyFile!), 'ionInvoke', { name: 'balance', input: JSON.stringify({ account: 'bob' }) });
    expect((await send(target, invoke)).status).toBe(200);
    expect(wireErrorOf(await send(target, invoke))).toMatchObject({ code: 'auth/replayed' });
  });
});

describe('a revision that fails, and ions that hang', () => {
  it('rolls a revision that fails to load back, and the previous one serves throughout', async () => {
    const broken = await variant('broken', "export function transfer() { return []; }\nthrow new Error('the config service is unreachable');\n", ['transfer']);
    const status = await pushAndDeploy(broken, 'broken-1');
    expect(status.deployment).toMatchObject({ rev: 'broken-1', state: 'rolled-back', previous: { app: 'bank', rev: 'example-1' } });
    expect(status.deployment?.reason).toContain('the config service is unreachable');
    // Still the bank: its transfer refuses overdrafts.
    await expect(conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "bob"] 999999]]')).rejects.toMatchObject({ code: 'ion/call-failed' });
    await conn.transact('[[:bank/transfer [:account/id "alice"] [:account/id "bob"] 100]]');
    expect(await balances()).toEqual({ alice: 500, bob: 9500 });
  }, 60_000);

  it('stops ions that hang by their time limits, and the node keeps serving', async () => {
    const hanging = await variant(
      'hanging',
      [
        'export function spin(x: number): number { for (;;) { x++; } }',
        'export async function stall(): Promise<unknown[]> { await new Promise(() => undefined); return []; }',
        'export function double(x: number): number { return 2 * x; }',
        'export function slow(x: number): number { const end = Date.now() + 300; while (Date.now() < end) { /* busy */ } return x; }',
        "import { getClient } from 'factum/ion';",
        "export async function tryAdmin(): Promise<unknown[]> { await getClient().createDatabase('stolen'); return []; }",
      ].join('\n'),
      ['spin', 'stall', 'double', 'slow', 'tryAdmin'],
    );
    const status = await pushAndDeploy(hanging, 'hanging-1');
    expect(status.deployment).toMatchObject({ rev: 'hanging-1', state: 'deployed' });
    await expect(q('[:find ?y :where [?a :account/balance ?b] [(bank/spin ?b) ?y]]', conn.db())).rejects.toMatchObject({ code: 'ion/timeout' });
    // The ion's thread was replaced (a fresh one from the same bundle): calls work again once it is up.
    expect(await eventually(() => q('[:find ?y . :where [?a :account/id "alice"] [?a :account/balance ?b] [(bank/double ?b) ?y]]', conn.db()))).toBe(1000);
    // Each call within its limit, but together past what a query may block the node: refused.
    const refused = await q('[:find ?y :in $ [?x ...] :where [(bank/slow ?x) ?y]]', conn.db(), Array.from({ length: 12 }, (_, i) => i)).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'ion/timeout' });
    expect((refused as Error).message).toContain('without a pause, more than the 2000 ms a node allows');
    await expect(conn.transact('[[:bank/stall]]')).rejects.toMatchObject({ code: 'ion/timeout' });
    // The ions' client reads and writes every database, and nothing of an admin's.
    const escalated = await conn.transact('[[:bank/tryAdmin]]').catch((error: unknown) => error);
    expect(escalated).toMatchObject({ code: 'ion/call-failed' });
    expect((escalated as Error).message).toContain('may not admin');
    expect(await client.listDatabases()).toEqual(['bank']);
    await conn.transact('[{:account/id "dave" :account/balance 1}]');
    expect(await eventually(() => q('[:find ?y . :where [?a :account/id "dave"] [?a :account/balance ?b] [(bank/double ?b) ?y]]', conn.db()))).toBe(2);
  }, 60_000);
});
