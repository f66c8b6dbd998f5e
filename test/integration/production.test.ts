// The production topology in miniature (issue 17): two primary nodes and one query-group node as
// real processes on shared AWS storage, clients on all three writing and reading all the time,
// while the transactor's node is killed with SIGKILL or paused with SIGSTOP for longer than its
// lease. What must hold:
// - no acknowledged transaction is lost or applied twice (each write names a unique value of a
//   non-unique attribute: applying one twice would make two entities);
// - writes resume after a failover, and the killed node rejoins;
// - every client reads its own writes on whichever node it asked;
// - every node's db values agree on each t (the same log, read through each node);
// - a paused transactor that wakes after losing its lease writes nothing and steps down.
import { readdir } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { q, type Client, type Connection } from '../../client/index.ts';
import { startMiniature, type Miniature, type MiniatureNode } from '../miniature/miniature.ts';
import { startLoadBalancer } from '../miniature/load-balancer.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';

const LEASE_MS = 1500;
const SCHEMA = '[{:db/ident :item/value :db/valueType :db.type/string :db/cardinality :db.cardinality/one}]';

interface Ack {
  readonly value: string;
  readonly t: number;
  readonly node: string;
  /** When it was sent, and when acknowledged. */
  readonly sent: number;
  readonly at: number;
}

/** Workloads not stopped yet (a failed test's are stopped after it, not left writing into the next). */
const liveWorkloads = new Set<Workload>();

/** Clients writing one database through every node, each reading back its own writes. */
class Workload {
  readonly acks: Ack[] = [];
  readonly readMisses: string[] = [];
  readonly errors = new Map<string, number>();
  private running = true;
  private readonly loops: Promise<void>[] = [];

  constructor(connections: ReadonlyArray<{ node: string; conn: Connection }>) {
    for (const { node, conn } of connections) this.loops.push(this.loop(node, conn));
    liveWorkloads.add(this);
  }

  private async loop(node: string, conn: Connection): Promise<void> {
    for (let n = 0; this.running; n++) {
      const value = `${node}-${n}-${Math.random().toString(36).slice(2, 8)}`;
      const sent = Date.now();
      try {
        const report = await conn.transact([{ 'item/value': value }]);
        this.acks.push({ value, t: report.dbAfter.basisT, node, sent, at: Date.now() });
        // Read your own write, on the node that answered, at the client's newest basis.
        const found = await q('[:find ?e . :in $ ?v :where [?e :item/value ?v]]', conn.db(), value);
        if (typeof found !== 'number') this.readMisses.push(value);
      } catch (error) {
        const code = (error as { code?: string }).code ?? String(error);
        this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    liveWorkloads.delete(this);
    await Promise.all(this.loops);
  }

  /** The first acknowledgement of a write sent after `time` (one sent before may be answered after it). */
  firstAckAfter(time: number): Ack | undefined {
    return this.acks.filter((ack) => ack.sent > time).sort((a, b) => a.at - b.at)[0];
  }
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a cache directory's files stop changing (its writes, made after the reads they belong to, are done). */
async function settled(directory: string): Promise<void> {
  let last = -1;
  for (let stable = 0; stable < 3; ) {
    const count = (await segmentFiles(directory)).size;
    stable = count === last ? stable + 1 : 0;
    last = count;
    await sleep(200);
  }
}

/** The segment files of a directory cache level (`ab/abcdef…`). */
async function segmentFiles(directory: string): Promise<Set<string>> {
  const files = new Set<string>();
  for (const entry of await readdir(directory, { recursive: true }).catch(() => [] as string[])) if (/[0-9a-f]{64}$/.test(entry)) files.add(entry);
  return files;
}

describe('the production topology in miniature', () => {
  let mini: Miniature;
  let admin: Client;

  beforeAll(async () => {
    mini = await startMiniature({ environment: inject('awsEnvironment'), config: integrationConfig(), removePrefix, primaries: 2, queryGroupNodes: 1, leaseMs: LEASE_MS, noveltyBytesMax: 32 * 1024 });
    admin = mini.client(mini.nodes[0]!, 'admin');
    for (const name of ['orders', 'stock', 'users', 'events']) {
      await admin.createDatabase(name);
      await (await admin.connect(name)).transact(SCHEMA);
    }
  }, 120_000);
  afterEach(async () => {
    for (const workload of [...liveWorkloads]) await workload.stop();
    for (const node of mini?.nodes ?? []) mini.resume(node);
  });
  afterAll(async () => {
    await mini?.stop();
  }, 60_000);

  const connectionsTo = async (database: string): Promise<Array<{ node: string; conn: Connection }>> => {
    const out: Array<{ node: string; conn: Connection }> = [];
    for (const node of mini.nodes) {
      if (node.child === null) continue;
      out.push({ node: node.name, conn: await mini.client(node, 'read-write', database).connect(database) });
    }
    return out;
  };

  /** Every acknowledged value is in the database exactly once, read through every live node. */
  const checkNothingLostOrDoubled = async (database: string, acks: readonly Ack[]): Promise<void> => {
    for (const node of mini.nodes) {
      if (node.child === null) continue;
      const conn = await mini.client(node, 'read-only', database).connect(database);
      const newest = Math.max(0, ...acks.map((ack) => ack.t));
      const db = await conn.sync(newest);
      const counts = (await q('[:find ?v (count ?e) :where [?e :item/value ?v]]', db)) as Array<[string, number]>;
      const byValue = new Map(counts);
      const doubled = counts.filter(([, count]) => count > 1);
      expect(doubled, `values applied twice, read on ${node.name}`).toEqual([]);
      const lost = acks.filter((ack) => byValue.get(ack.value) !== 1);
      expect(lost, `acknowledged values missing on ${node.name}`).toEqual([]);
    }
  };

  /**
   * Every live node's db values agree on each t: at the newest acknowledged t, each node's own
   * indexes (not the shared log) answer the same values as of a sample of t's, and hold the same
   * datoms.
   */
  const checkNodesAgree = async (database: string, acks: readonly Ack[]): Promise<void> => {
    const newest = Math.max(0, ...acks.map((ack) => ack.t));
    const sample = [...new Set(acks.map((ack) => ack.t))].sort((a, b) => a - b).filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 8)) === 0);
    const views: string[] = [];
    for (const node of mini.nodes) {
      if (node.child === null) continue;
      const conn = await mini.client(node, 'read-only', database).connect(database);
      const db = (await conn.sync(newest)).asOf(newest);
      const answers: unknown[] = [];
      for (const t of [...sample, newest]) answers.push([t, ((await q('[:find [?v ...] :where [_ :item/value ?v]]', db.asOf(t))) as string[]).sort()]);
      let datoms = 0;
      for await (const _ of db.datoms('eavt')) datoms++;
      answers.push(datoms);
      views.push(JSON.stringify(answers));
    }
    expect(new Set(views).size).toBe(1);
  };

  it('spreads the databases over both primary nodes, and the query group leads none', async () => {
    // Created through the first node, which leads them all at first; then they spread (rebalance).
    const leaders = await until('two databases led by each primary node', async () => {
      const found = await Promise.all(['orders', 'stock', 'users', 'events'].map((name) => mini.leaderOf(name)));
      return found.every((node) => node !== null) && found.filter((node) => node === found[0]).length === 2 ? (found as MiniatureNode[]) : null;
    });
    expect(leaders.every((node) => node.role === 'primary')).toBe(true);
    expect(new Set(leaders).size).toBe(2);
  });

  it('a client behind a load balancer reads its own writes, whichever node answers each request', async () => {
    const balancer = await startLoadBalancer(() => mini.nodes.filter((node) => node.child !== null).map((node) => node.endpoint()));
    try {
      const client = mini.client(balancer.endpoint, 'read-write', 'events');
      const misses: string[] = [];
      for (let i = 0; i < 60; i++) {
        const value = `balanced-${i}`;
        await (await client.connect('events')).transact([{ 'item/value': value }]);
        // A new connection, through another node than the write (most likely a follower).
        const found = await q('[:find ?e . :in $ ?v :where [?e :item/value ?v]]', (await client.connect('events')).db(), value);
        if (typeof found !== 'number') misses.push(value);
        // And sync() on a connection that made the write, answered by any node (the chaos run's bank
        // workload caught a sync answered by a follower behind what the client had seen).
        const conn = await client.connect('events');
        const t = (await conn.transact([{ 'item/value': `${value}-synced` }])).dbAfter.basisT;
        if ((await conn.sync()).basisT < t) misses.push(`${value}-synced`);
      }
      expect(misses).toEqual([]);
      expect(balancer.counts.size).toBe(mini.nodes.length);
    } finally {
      await balancer.close();
    }
  }, 60_000);

  it("sync() on any node holds every transaction committed before it, whichever client sent it through whichever node", async () => {
    const primary = mini.nodes.find((node) => node.role === 'primary' && node.child !== null)!;
    const analytics = mini.nodes.find((node) => node.role === 'query-group' && node.child !== null)!;
    const writer = await mini.client(primary, 'read-write', 'events').connect('events');
    const reader = await mini.client(analytics, 'read-only', 'events').connect('events');
    const behind: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = (await writer.transact([{ 'item/value': `synced-elsewhere-${i}` }])).dbAfter.basisT;
      if ((await reader.sync()).basisT < t) behind.push(t);
    }
    expect(behind).toEqual([]);
  }, 60_000);

  it('kill -9 of the transactor under load: nothing acknowledged is lost or doubled, writes resume, the node rejoins', async () => {
    const workload = new Workload(await connectionsTo('orders'));
    await until('some writes', async () => workload.acks.length >= 20);
    // (None for a moment while the databases spread: one steps aside, another takes it.)
    const victim = await until('the transactor of orders', () => mini.leaderOf('orders'));
    expect(victim.role).toBe('primary');
    const killedAt = Date.now();
    await mini.kill(victim);
    const resumed = await until('a write after the kill', async () => workload.firstAckAfter(killedAt), 30_000);
    const failoverMs = resumed.at - killedAt;
    await sleep(1000);
    await mini.start(victim);
    await workload.stop();
    // The restarted node (on a new port) serves again: writes through it, read back through it.
    const rejoined = new Workload([{ node: victim.name, conn: await mini.client(victim, 'read-write', 'orders').connect('orders') }]);
    await until('writes through the restarted node', async () => rejoined.acks.length >= 10);
    await rejoined.stop();
    workload.acks.push(...rejoined.acks);
    expect(rejoined.readMisses).toEqual([]);
    // Reported, not asserted: timed figures belong to bench/cluster.bench.ts (10 kills beside the bound).
    console.log(`failover (kill -9 to the first acknowledged write): ${failoverMs} ms (lease ${LEASE_MS} ms); ${workload.acks.length} writes acknowledged; errors seen by clients: ${JSON.stringify(Object.fromEntries(workload.errors))}`);
    expect(workload.readMisses).toEqual([]);
    await checkNothingLostOrDoubled('orders', workload.acks);
    await checkNodesAgree('orders', workload.acks);
  }, 120_000);

  it('SIGSTOP of the transactor past its lease: it writes nothing after it wakes, and steps down', async () => {
    const workload = new Workload(await connectionsTo('stock'));
    await until('some writes', async () => workload.acks.length >= 20);
    const victim = await until('the transactor of stock', () => mini.leaderOf('stock'));
    mini.pause(victim);
    const pausedAt = Date.now();
    try {
      await until('a write while the old transactor sleeps', async () => workload.firstAckAfter(pausedAt), 30_000);
      await sleep(LEASE_MS);
    } finally {
      mini.resume(victim);
    }
    const resumedAt = Date.now();
    await until('the old transactor stepping down', async () => (await victim.events()).some((e) => e.event === 'transactor/stepped-down' && e.database === 'stock'));
    // The old transactor wrote no log position after the new one took over. (A write it sent
    // before the pause may land then, and be logged as it wakes: that position comes before the
    // new transactor's first. Until it leads again, if spreading hands the database back later.)
    const events = await victim.events();
    const timeOf = (e: Record<string, unknown>): number => Date.parse(String(e.time));
    const leadsAgainAt = Math.min(...events.filter((e) => e.event === 'transactor/leading' && e.database === 'stock' && timeOf(e) >= resumedAt).map(timeOf), Infinity);
    const othersWrites = (await Promise.all(mini.nodes.filter((node) => node !== victim).map((node) => node.events()))).flat();
    const takenOverAt = Math.min(...othersWrites.filter((e) => e.event === 'log/written' && e.database === 'stock' && timeOf(e) > pausedAt).map((e) => Number(e.position)));
    expect(takenOverAt).toBeLessThan(Infinity);
    const lateWrites = events.filter((e) => e.event === 'log/written' && e.database === 'stock' && timeOf(e) >= resumedAt && timeOf(e) < leadsAgainAt && Number(e.position) >= takenOverAt);
    expect(lateWrites).toEqual([]);
    expect((await victim.events()).some((e) => e.event === 'log/written' && e.database === 'stock')).toBe(true); // it did write before
    const acksAfterWake = workload.acks.length;
    await until('writes after it woke', async () => workload.acks.length > acksAfterWake + 10);
    await workload.stop();
    expect(workload.readMisses).toEqual([]);
    await checkNothingLostOrDoubled('stock', workload.acks);
    await checkNodesAgree('stock', workload.acks);
  }, 120_000);

  it('a query-group node killed and restarted serves again from the EFS cache, not S3', async () => {
    const conn = await mini.client(mini.nodes[0]!, 'read-write', 'users').connect('users');
    // Enough datoms for index runs (the nodes index at 32 KiB of novelty): segments in S3 and EFS.
    for (let i = 0; i < 20; i++) await conn.transact(Array.from({ length: 100 }, (_, j) => ({ 'item/value': `user-${i}-${j}-${'x'.repeat(40)}` })));
    const analytics = mini.nodes.find((node) => node.role === 'query-group')!;
    const reader = async (): Promise<number> => {
      const c = await mini.client(analytics, 'read-only', 'users').connect('users');
      return (await q('[:find (count ?e) . :where [?e :item/value]]', await c.sync(conn.db().basisT))) as number;
    };
    await until('the index root on the query group', async () => (await reader()) === 2000);
    await settled(mini.efsDirectory('query-group')); // the EFS level's writes of what was read, done
    // Replaced, as an instance is: its SSD cache empty, the group's EFS directory as it was.
    const efsBefore = await segmentFiles(mini.efsDirectory('query-group'));
    await mini.kill(analytics);
    await mini.start(analytics, { freshSsd: true });
    expect(await reader()).toBe(2000);
    const stats = await mini.client(analytics, 'admin').ioStats();
    await settled(mini.efsDirectory('query-group'));
    const efsAfter = await segmentFiles(mini.efsDirectory('query-group'));
    // The restarted node read from its group's EFS directory, and from S3 only the segments EFS did
    // not hold (each read from S3 is then written to EFS: the files it gained).
    expect(stats.efs?.hits ?? 0).toBeGreaterThan(0);
    const gained = [...efsAfter].filter((file) => !efsBefore.has(file)).length;
    expect(stats.storage?.hits ?? 0).toBe(gained);
    expect(gained).toBeLessThan(stats.efs?.hits ?? 0);
  }, 120_000);
});
