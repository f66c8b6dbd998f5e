// Ions on the production topology in miniature: three primary nodes and one query-group node as
// real processes on the AWS emulator. The bank example is pushed once and deployed onto both
// groups; then a new revision is deployed while clients on every node keep transferring money and
// querying, and a broken one after it. What must hold:
// - every node runs the deployed revision, and the group keeps serving while it moves: no call
//   fails during a deployment (nodes load the new revision beside the old and switch in one step);
// - nodes of a group load one at a time (their own logs: no two loading intervals overlap);
// - a transfer sent to any node (forwarded to the transactor, whose ion runs it) keeps the bank's
//   invariant: the total never changes, no balance goes negative;
// - a broken revision is rolled back, with the revision before it served throughout.
// Push and deploy times are printed (bench/ions.bench.ts reports them as figures).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { q, type Connection } from '../../client/index.ts';
import { openIonAdmin, type IonAdmin } from '../../ions/ion-admin.ts';
import { pushRevision } from '../../ions/push.ts';
import type { IonGroupStatus } from '../../nodes/ions/revision.ts';
import { bucketConfig, startMiniature, type Miniature, type MiniatureNode } from '../miniature/miniature.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';

const EXAMPLE = path.resolve('ions/examples');
const TOTAL = 1_000_000;

let mini: Miniature;
let admin: IonAdmin;
let dir: string;

async function deployed(group: string, deployId: string): Promise<IonGroupStatus> {
  for (let i = 0; i < 600; i++) {
    const status = await admin.status(group);
    if (status.deployment?.deployId === deployId && status.deployment.state !== 'deploying') return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`deployment ${deployId} of ${group} did not finish: ${JSON.stringify(await admin.status(group))}`);
}

/** A copy of the example whose formatBalance writes `prefix` before the amount (or whose index throws on import). */
async function variant(name: string, change: { readonly prefix?: string; readonly broken?: boolean }): Promise<string> {
  const project = path.join(dir, name);
  await cp(EXAMPLE, project, { recursive: true });
  if (change.prefix !== undefined) {
    const file = path.join(project, 'src', 'score.ts');
    await writeFile(file, (await readFile(file, 'utf8')).replace('return `${sign}${', `return \`${change.prefix}\${sign}\${`));
  }
  if (change.broken === true) await writeFile(path.join(project, 'src', 'index.ts'), `${await readFile(path.join(project, 'src', 'index.ts'), 'utf8')}\nthrow new Error('missing configuration: BANK_REGION');\n`);
  return project;
}

/** Clients on every node transferring 1 cent back and forth and reading with the ions' query function and xform. */
class Traffic {
  readonly failures: string[] = [];
  readonly formats = new Map<string, string>();
  transfers = 0;
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(connections: ReadonlyArray<{ readonly node: MiniatureNode; readonly conn: Connection }>) {
    this.loops = connections.map(({ node, conn }) => this.loop(node, conn));
  }

  private async loop(node: MiniatureNode, conn: Connection): Promise<void> {
    for (let n = 0; this.running; n++) {
      const [from, to] = n % 2 === 0 ? ['alice', 'bob'] : ['bob', 'alice'];
      try {
        if (node.role === 'primary') {
          await conn.transact(`[[:bank/transfer [:account/id "${from}"] [:account/id "${to}"] 1]]`);
          this.transfers++;
        }
        const risk = await q('[:find ?risk . :where [?a :account/id "alice"] [?a :account/balance ?b] [(bank/riskScore ?b) ?risk]]', conn.db());
        if (typeof risk !== 'string') this.failures.push(`${node.name}: riskScore answered ${String(risk)}`);
        const pulled = await conn.db().pull('[[:account/balance :xform bank/formatBalance]]', ['account/id', 'bob']);
        this.formats.set(node.name, String(pulled['account/balance']));
      } catch (error) {
        this.failures.push(`${node.name}: ${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Each node's loading intervals of a deployment, from its own log. */
async function loadingIntervals(nodes: readonly MiniatureNode[], deployId: string): Promise<Array<{ node: string; from: number; to: number }>> {
  const intervals: Array<{ node: string; from: number; to: number }> = [];
  for (const node of nodes) {
    let from: number | null = null;
    for (const event of await node.events()) {
      if (event.event !== 'ions/deploy' || event.deployId !== deployId) continue;
      const time = typeof event.time === 'number' ? event.time : Date.parse(String(event.time));
      if (event.phase === 'loading') from = time;
      if (event.phase === 'running' && from !== null) {
        intervals.push({ node: node.name, from, to: time });
        from = null;
      }
    }
  }
  return intervals.sort((a, b) => a.from - b.from);
}

describe('ions on the production topology in miniature', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'factum-ions-production-'));
    mini = await startMiniature({ environment: inject('awsEnvironment'), config: integrationConfig(), removePrefix, primaries: 3, queryGroupNodes: 1, leaseMs: 2000 });
    admin = openIonAdmin(bucketConfig(mini.nodes[0]!.endpoint(), 'mini', mini.config, 'admin'));
    const client = mini.client(mini.nodes[0]!, 'admin');
    await client.createDatabase('bank');
    const conn = await client.connect('bank');
    await conn.transact(await readFile(path.join(EXAMPLE, 'schema.edn'), 'utf8'));
    await conn.transact(`[{:account/id "alice" :account/balance ${TOTAL / 2}} {:account/id "bob" :account/balance ${TOTAL / 2}}]`);
  }, 180_000);

  afterAll(async () => {
    admin?.close();
    await mini?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  it('pushes a revision and deploys it onto both groups', async () => {
    let started = performance.now();
    const { app, rev } = await pushRevision({ projectDirectory: EXAMPLE, uname: 'mini-1', admin });
    const pushMs = performance.now() - started;
    started = performance.now();
    const primary = await deployed('primary', (await admin.deploy({ group: 'primary', app, rev })).deployId);
    const deployMs = performance.now() - started;
    const analytics = await deployed('analytics', (await admin.deploy({ group: 'analytics', app, rev })).deployId);
    console.log(`ions in miniature: push ${Math.round(pushMs)} ms, deploy onto 3 primary nodes ${Math.round(deployMs)} ms`);
    expect(primary.deployment?.state).toBe('deployed');
    expect(primary.nodes.filter((node) => node.live)).toHaveLength(3);
    for (const node of primary.nodes) expect(node).toMatchObject({ state: 'running', running: { app: 'bank', rev: 'mini-1' } });
    expect(analytics.deployment?.state).toBe('deployed');
    expect(analytics.nodes).toEqual([expect.objectContaining({ state: 'running', running: { app: 'bank', rev: 'mini-1' }, live: true })]);
  }, 120_000);

  it('moves every node onto a new revision one at a time while they all keep serving, and rolls a broken one back', async () => {
    const connections = await Promise.all(mini.nodes.map(async (node) => ({ node, conn: await mini.client(node, 'read-write', 'bank').connect('bank') })));
    const traffic = new Traffic(connections);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const { app, rev } = await pushRevision({ projectDirectory: await variant('euro', { prefix: 'EUR ' }), uname: 'mini-2', admin });
      const { deployId } = await admin.deploy({ group: 'primary', app, rev });
      const status = await deployed('primary', deployId);
      expect(status.deployment?.state).toBe('deployed');
      await deployed('analytics', (await admin.deploy({ group: 'analytics', app, rev })).deployId);
      const intervals = await loadingIntervals(mini.nodes.filter((node) => node.role === 'primary'), deployId);
      expect(intervals.map((interval) => interval.node).sort()).toEqual(['primary-1', 'primary-2', 'primary-3']);
      for (let i = 1; i < intervals.length; i++) expect(intervals[i]!.from).toBeGreaterThanOrEqual(intervals[i - 1]!.to);
      // Every node now formats with the new revision.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const node of mini.nodes) expect(traffic.formats.get(node.name)).toMatch(/^EUR \d+\.\d\d$/);

      const broken = await pushRevision({ projectDirectory: await variant('broken', { broken: true }), uname: 'mini-broken', admin });
      const rolledBack = await deployed('primary', (await admin.deploy({ group: 'primary', app: broken.app, rev: broken.rev })).deployId);
      expect(rolledBack.deployment).toMatchObject({ state: 'rolled-back', previous: { app: 'bank', rev: 'mini-2' } });
      expect(rolledBack.deployment?.reason).toContain('missing configuration: BANK_REGION');
      for (const node of rolledBack.nodes) expect(node.running).toEqual({ app: 'bank', rev: 'mini-2' });
      await new Promise((resolve) => setTimeout(resolve, 500));
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.transfers).toBeGreaterThan(10);
    const db = await connections[0]!.conn.sync();
    const balances = (await q('[:find ?b :with ?a :where [?a :account/balance ?b]]', db)) as Array<[number]>;
    expect(balances.reduce((sum, [b]) => sum + b, 0)).toBe(TOTAL);
    for (const [b] of balances) expect(b).toBeGreaterThanOrEqual(0);
  }, 180_000);
});
