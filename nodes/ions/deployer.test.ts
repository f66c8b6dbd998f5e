// The deployment protocol of a compute group: several Deployers (one per node) on one shared
// storage, stepped by hand (each `tick` is one look at the records), with loads that finish when
// the test says, a clock the test moves, and revisions that are small real bundles pushed through
// the ion service (the thread a revision runs on is replaced by a stand-in that records calls:
// what is under test is who loads what, when, and what the records say).
//
// Checked: nodes switch one at a time and the deployment ends `deployed`; a revision that fails to
// load on the first node is rolled back before any other node loads it; a node gone quiet does
// not hold a deployment up; a node that starts later loads the deployed revision at once; the
// ion operations refuse what they must (bad archives, a changed revision, a deploy while another
// runs, an unknown revision) with their codes.
import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStorage } from '../storage/memory/memory-storage.ts';
import type { Storage } from '../storage/protocol.ts';
import { FactumError } from '../util/errors.ts';
import { ActiveIons, type IonThread, type LoadedRevision } from './active-ions.ts';
import { packRevision } from './archive.ts';
import { Deployer, readDeployment, readStatus } from './deployer.ts';
import { IonService } from './ion-service.ts';
import type { IonConfig, RevisionMetadata } from './revision.ts';

const config: IonConfig = { appName: 'shop', allow: ['score'] };

function revision(rev: string, text = `export function score(x) { return x + ${rev.length}; }`): { metadata: RevisionMetadata; archive: Uint8Array } {
  const archive = packRevision({ bundle: text, config });
  return { archive, metadata: { app: 'shop', rev, config, archiveSha256: createHash('sha256').update(archive).digest('hex'), archiveBytes: archive.length, lockHash: null, pushedAt: new Date(0).toISOString() } };
}

/** Stands in for a revision's thread: what matters here is that it was loaded and switched to. */
function thread(rev: string): IonThread {
  return { app: 'shop', has: (name) => name === 'score', callSync: (_name, args) => `${rev}:${String(args[0])}`, callTransaction: async () => [], http: async () => ({ status: 200 }), lambda: async () => rev, stop: async () => undefined };
}

interface Node {
  readonly id: string;
  readonly active: ActiveIons;
  readonly deployer: Deployer;
  /** Loads asked for, in order; a pending one finishes when the test calls `finish`. */
  readonly loads: Array<{ rev: string; finish(error?: Error): void }>;
}

/** How a node's loads go: finished at once (ok, or failing with an error), or left pending. */
type Loading = (rev: string) => 'ok' | 'pending' | Error;

let storage: Storage;
let nowMs: number;
let service: IonService;
const logged: string[] = [];

function node(id: string, loading: Loading = () => 'ok'): Node {
  const active = new ActiveIons(() => Promise.reject(new Error('no db values here')));
  const loads: Node['loads'] = [];
  const load = (app: string, rev: string): Promise<LoadedRevision> =>
    new Promise((resolve, reject) => {
      const finish = (error?: Error): void => (error === undefined ? resolve({ app, rev, config, host: thread(rev) }) : reject(error));
      loads.push({ rev, finish });
      const how = loading(rev);
      if (how === 'ok') finish();
      else if (how instanceof Error) finish(how);
    });
  const deployer = new Deployer({ storage, group: 'primary', nodeId: id, active, load, log: (_level, message) => logged.push(`${id}: ${message}`), now: () => nowMs });
  return { id, active, deployer, loads };
}

/** Starts a tick; resolves (with the tick's promise, wrapped: an async function would wait for it) once it settled or started a load. */
async function tickUntilSettledOrLoading(n: Node): Promise<{ readonly ticking: Promise<void> }> {
  const before = n.loads.length;
  const ticking = n.deployer.tick();
  let settled = false;
  void ticking.then(() => (settled = true));
  for (let i = 0; i < 200 && !settled && n.loads.length === before; i++) await new Promise((resolve) => setImmediate(resolve));
  return { ticking };
}

/** Every node ticks, `rounds` times over. */
async function rounds(nodes: readonly Node[], count: number): Promise<void> {
  for (let round = 0; round < count; round++) {
    for (const n of nodes) {
      await n.deployer.heartbeat(); // what each node's heartbeat timer does
      await n.deployer.tick();
    }
  }
}

/** Pushes revision `rev` and deploys it onto the group. */
async function deploy(rev: string): Promise<void> {
  await push(rev);
  await service.deploy({ group: 'primary', app: 'shop', rev });
}

async function push(rev: string, text?: string): Promise<void> {
  const { metadata, archive } = revision(rev, text);
  await service.push({ metadata, archive });
}

beforeEach(() => {
  storage = createMemoryStorage();
  nowMs = 1_000_000;
  logged.length = 0;
  service = new IonService({ storage, group: 'primary', active: new ActiveIons(() => Promise.reject(new Error('unused'))), deployer: null, now: () => nowMs });
});

describe('a deployment', () => {
  it('moves the nodes one at a time and ends deployed', async () => {
    const nodes = [node('n1', () => 'pending'), node('n2', () => 'pending'), node('n3', () => 'pending')];
    for (const n of nodes) await n.deployer.tick(); // each writes its entry: all three live
    await push('r1');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' });
    const { ticking: first } = await tickUntilSettledOrLoading(nodes[0]!);
    expect(nodes[0]!.loads.map((l) => l.rev)).toEqual(['r1']);
    // While n1 loads, the others wait their turn.
    await nodes[1]!.deployer.tick();
    await nodes[2]!.deployer.tick();
    expect(nodes[1]!.loads).toEqual([]);
    expect(nodes[2]!.loads).toEqual([]);
    nodes[0]!.loads[0]!.finish();
    await first;
    expect(nodes[0]!.active.revision).toEqual({ app: 'shop', rev: 'r1' });
    for (const n of nodes.slice(1)) {
      const { ticking } = await tickUntilSettledOrLoading(n);
      expect(n.loads.map((l) => l.rev)).toEqual(['r1']);
      n.loads[0]!.finish();
      await ticking;
    }
    for (const n of nodes) await n.deployer.tick();
    const { deployment } = await readDeployment(storage, 'primary');
    expect(deployment?.state).toBe('deployed');
    const { status } = await readStatus(storage, 'primary');
    expect(Object.values(status.nodes).map((e) => [e.node, e.state, e.running?.rev])).toEqual([
      ['n1', 'running', 'r1'],
      ['n2', 'running', 'r1'],
      ['n3', 'running', 'r1'],
    ]);
  });

  it('that fails to load on the first node is rolled back before any other node loads it', async () => {
    const broken = new FactumError('ion/load-failed', 'the module threw on import: TypeError: x is not a function', {});
    const nodes = [node('n1', (rev) => (rev === 'bad' ? broken : 'ok')), node('n2'), node('n3')];
    await push('good');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'good' });
    await rounds(nodes, 2);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deployed');
    await deploy('bad');
    await rounds(nodes, 3);
    const { deployment } = await readDeployment(storage, 'primary');
    expect(deployment).toMatchObject({ rev: 'bad', state: 'rolled-back', previous: { app: 'shop', rev: 'good' } });
    expect(deployment?.reason).toContain('n1: the module threw on import');
    // Nobody loaded `bad` but n1, and everyone still runs `good`.
    expect(nodes[1]!.loads.map((l) => l.rev)).toEqual(['good']);
    expect(nodes[2]!.loads.map((l) => l.rev)).toEqual(['good']);
    for (const n of nodes) expect(n.active.revision).toEqual({ app: 'shop', rev: 'good' });
    const { status } = await readStatus(storage, 'primary');
    expect(status.nodes.n1).toMatchObject({ state: 'running', running: { rev: 'good' } });
    expect(logged.some((line) => line.startsWith('n1: ions: shop revision bad failed to load on this node'))).toBe(true);
    // The next deployment goes ahead.
    await deploy('fixed');
    await rounds(nodes, 3);
    expect((await readDeployment(storage, 'primary')).deployment).toMatchObject({ rev: 'fixed', state: 'deployed', previous: { rev: 'good' } });
  });

  it('is not held up by a node gone quiet, and a node started later loads the deployed revision at once', async () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    await push('r1');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' });
    await rounds(nodes, 2);
    await deploy('r2');
    // n3 stops answering (killed); the others move on, and once n3 is 15 s quiet, r2 is deployed.
    await rounds(nodes.slice(0, 2), 2);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deploying');
    nowMs += 16_000;
    await rounds(nodes.slice(0, 2), 2);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deployed');
    // n1's view, as its ionStatus answers: n3 is gone.
    const onN1 = new IonService({ storage, group: 'primary', active: nodes[0]!.active, deployer: nodes[0]!.deployer, now: () => nowMs });
    expect(await onN1.status({ group: 'primary' })).toMatchObject({ deployment: { rev: 'r2', state: 'deployed' }, nodes: [{ node: 'n1', live: true, running: { rev: 'r2' } }, { node: 'n2', live: true }, { node: 'n3', live: false, running: { rev: 'r1' } }] });
    const late = node('n4', () => 'pending');
    const { ticking } = await tickUntilSettledOrLoading(late);
    expect(late.loads.map((l) => l.rev)).toEqual(['r2']);
    late.loads[0]!.finish();
    await ticking;
    expect(late.active.revision).toEqual({ app: 'shop', rev: 'r2' });
  });
  it('keeps a loading node live by its heartbeats: no second node loads meanwhile, and no deployed while one still runs the old revision', async () => {
    const nodes = [node('n1', (rev) => (rev === 'r2' ? 'pending' : 'ok')), node('n2'), node('n3')];
    await push('r1');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' });
    await rounds(nodes, 2);
    await deploy('r2');
    const { ticking } = await tickUntilSettledOrLoading(nodes[0]!);
    // n1 loads for 40 s (heartbeats going on): the others wait their turn all along.
    for (let second = 0; second < 40; second += 5) {
      nowMs += 5000;
      await nodes[0]!.deployer.heartbeat();
      await rounds(nodes.slice(1), 1);
    }
    expect(nodes[1]!.loads.map((l) => l.rev)).toEqual(['r1']);
    expect(nodes[2]!.loads.map((l) => l.rev)).toEqual(['r1']);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deploying');
    nodes[0]!.loads[1]!.finish();
    await ticking;
    await rounds(nodes, 3);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deployed');
    for (const n of nodes) expect(n.active.revision?.rev).toBe('r2');
  });

  it('does not roll back for a failure of storage: the node tries again and goes on', async () => {
    let throttled = true;
    const nodes = [node('n1', (rev) => (rev === 'r2' && throttled ? new Error('ThrottlingException: rate exceeded') : 'ok')), node('n2')];
    await push('r1');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' });
    await rounds(nodes, 2);
    await deploy('r2');
    await rounds(nodes.slice(0, 1), 1);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deploying');
    expect((await readStatus(storage, 'primary')).status.nodes.n1).toMatchObject({ state: 'failed', error: 'ThrottlingException: rate exceeded' });
    // n1 gave its turn back: n2 loads; n1 tries again after its retry delay.
    await rounds(nodes.slice(1), 1);
    expect(nodes[1]!.active.revision?.rev).toBe('r2');
    throttled = false;
    nowMs += 11_000;
    await rounds(nodes, 2);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deployed');
  });

  it('starts a node during a deployment on the revision before it, without waiting for a turn', async () => {
    const nodes = [node('n1', (rev) => (rev === 'r2' ? 'pending' : 'ok'))];
    await push('r1');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' });
    await rounds(nodes, 2);
    await deploy('r2');
    const { ticking } = await tickUntilSettledOrLoading(nodes[0]!); // n1 holds the turn
    const fresh = node('n9');
    await fresh.deployer.tick();
    expect(fresh.active.revision?.rev).toBe('r1');
    nodes[0]!.loads[1]!.finish();
    await ticking;
    await rounds([...nodes, fresh], 3);
    expect(fresh.active.revision?.rev).toBe('r2');
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deployed');
  });

  it('records a rollback it could not write at first on a later tick, and no other node loads the broken revision meanwhile', async () => {
    const broken = new FactumError('ion/load-failed', 'missing export transfer', {});
    let refuseDeploymentWrites = false;
    const inner = storage;
    const casRecord: Storage['casRecord'] = (key, version, bytes) => (refuseDeploymentWrites && key.startsWith('ions/deployment/') ? Promise.reject(new Error('ServiceUnavailable')) : inner.casRecord(key, version, bytes));
    storage = new Proxy(inner, { get: (target, name) => (name === 'casRecord' ? casRecord : (Reflect.get(target, name) as unknown as (...args: unknown[]) => unknown).bind(target)) });
    service = new IonService({ storage, group: 'primary', active: new ActiveIons(() => Promise.reject(new Error('unused'))), deployer: null, now: () => nowMs });
    const nodes = [node('n1', (rev) => (rev === 'bad' ? broken : 'ok')), node('n2')];
    await push('good');
    await rounds(nodes, 1); // the group's nodes report (a deploy to a group no node ever reported to is refused)
    await service.deploy({ group: 'primary', app: 'shop', rev: 'good' });
    await rounds(nodes, 2);
    await deploy('bad');
    refuseDeploymentWrites = true;
    await rounds(nodes, 3);
    expect((await readDeployment(storage, 'primary')).deployment?.state).toBe('deploying');
    // n2 sees n1's failure: it tries to record the rollback too, and never loads `bad`.
    expect(nodes[1]!.loads.map((l) => l.rev)).toEqual(['good']);
    refuseDeploymentWrites = false;
    await rounds(nodes, 2);
    expect((await readDeployment(storage, 'primary')).deployment).toMatchObject({ state: 'rolled-back', reason: 'n1: missing export transfer' });
    for (const n of nodes) expect(n.active.revision?.rev).toBe('good');
  });
});

describe('the ion operations refuse', () => {
  it('an archive that does not match its metadata, and a revision pushed again with other bytes', async () => {
    const { metadata, archive } = revision('r1');
    await expect(service.push({ metadata: { ...metadata, archiveSha256: '0'.repeat(64) }, archive })).rejects.toMatchObject({ code: 'ion/invalid-revision' });
    await expect(service.push({ metadata: { ...metadata, app: 'Shop' }, archive })).rejects.toMatchObject({ code: 'ion/invalid-revision' });
    // An app named db would take :db/add over.
    const dbApp = packRevision({ bundle: 'export function add() { return []; }', config: { appName: 'db', allow: ['add'] } });
    await expect(service.push({ metadata: { ...metadata, app: 'db', config: { appName: 'db', allow: ['add'] }, archiveSha256: createHash('sha256').update(dbApp).digest('hex'), archiveBytes: dbApp.length }, archive: dbApp })).rejects.toMatchObject({ code: 'ion/invalid-revision' });
    await expect(service.push({ metadata, archive: 'bytes' })).rejects.toMatchObject({ code: 'request/wrong-type' });
    const damaged = Uint8Array.from(archive);
    damaged[damaged.length - 1] ^= 1;
    await expect(service.push({ metadata: { ...metadata, archiveSha256: createHash('sha256').update(damaged).digest('hex') }, archive: damaged })).rejects.toMatchObject({ code: 'ion/invalid-revision' });
    expect(await service.revisions({})).toEqual([]);
    expect(await service.push({ metadata, archive })).toEqual({ app: 'shop', rev: 'r1', created: true });
    expect(await service.push({ metadata, archive })).toEqual({ app: 'shop', rev: 'r1', created: false });
    const other = revision('r1', 'export function score(x) { return -x; }');
    await expect(service.push(other)).rejects.toMatchObject({ code: 'ion/revision-exists' });
    // Refused without writing anything: no archive of the other bytes in storage.
    const archives: string[] = [];
    for await (const key of storage.listSegments('ions/revisions/')) archives.push(key);
    expect(archives).toEqual([`ions/revisions/shop/r1/${metadata.archiveSha256}`]);
    expect(await service.revisions({ app: 'shop' })).toEqual([metadata]);
  });

  it('a deployment of an unknown revision or group, and one while another is in progress', async () => {
    await push('r0');
    await expect(service.deploy({ group: 'primary', app: 'shop', rev: 'r0' })).rejects.toMatchObject({ code: 'ion/unknown-group' });
    await node('n1').deployer.tick();
    await expect(service.deploy({ group: 'primary', app: 'shop', rev: 'nope' })).rejects.toMatchObject({ code: 'ion/revision-not-found' });
    await push('r1');
    await push('r2');
    await expect(service.deploy({ group: 'Primary!', app: 'shop', rev: 'r1' })).rejects.toMatchObject({ code: 'request/wrong-type' });
    const { deployId } = (await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' })) as { deployId: string };
    expect(await service.deploy({ group: 'primary', app: 'shop', rev: 'r1' })).toEqual({ deployId });
    await expect(service.deploy({ group: 'primary', app: 'shop', rev: 'r2' })).rejects.toMatchObject({ code: 'ion/deploy-in-progress' });
    // A deployment no node finished for ten minutes no longer holds the next one.
    nowMs += 601_000;
    expect(await service.deploy({ group: 'primary', app: 'shop', rev: 'r2' })).not.toEqual({ deployId });
  });
});
