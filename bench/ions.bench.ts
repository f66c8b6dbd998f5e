// Ions, the figures of issue 18:
// 1. a transaction function deployed as an ion vs the built-in one doing the same work, on a solo
//    node (a process of its own, local storage): `[:bank/transfer a b 1]` (the example app: the
//    ion reads both balances through the client API on its thread and answers two datoms) beside
//    `[:db/cas a :account/balance old new] [:db/cas b ...]` with the values the client already
//    knows (one client, one transfer after another); then 16 clients in flight, each moving money
//    between its own two accounts, by the ion vs by plain `:db/add` of the values it tracks;
// 2. push and deploy on the production system in miniature (3 primary nodes as processes on the
//    AWS emulator): `factum ions push` of the example to its answer, and a deploy to every node
//    running the revision (the deployment `deployed`), DEPLOYS times.
//
// Run: NODE_OPTIONS=--openssl-legacy-provider npm run bench -- bench/ions.bench.ts
//      (BENCH_MS=3000 DEPLOYS=3 by default)
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Connection } from '../client/index.ts';
import { openIonAdmin, type IonAdmin } from '../ions/ion-admin.ts';
import { pushRevision } from '../ions/push.ts';
import { emulatorCredentials, startEmulator } from '../localstack/emulator.ts';
import { startChildNode } from '../nodes/cli/child-node.ts';
import { awsStorageConfigFromEnvironment } from '../nodes/storage/aws/index.ts';
import { bucketConfig, startMiniature } from '../test/miniature/miniature.ts';
import { median } from './timing.ts';

const durationMs = Number(process.env.BENCH_MS ?? 3000);
const deploys = Number(process.env.DEPLOYS ?? 3);
const example = path.resolve('ions/examples');
const work = await mkdtemp(path.join(os.tmpdir(), 'factum-ions-bench-'));

async function deployAndWait(admin: IonAdmin, group: string, app: string, rev: string): Promise<void> {
  const { deployId } = await admin.deploy({ group, app, rev });
  for (;;) {
    const status = await admin.status(group);
    if (status.deployment?.deployId === deployId && status.deployment.state === 'deployed') return;
    if (status.deployment?.deployId === deployId && status.deployment.state === 'rolled-back') throw new Error(`rolled back: ${status.deployment.reason}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Transactions per second of `send` run one after another (per loop), `loops` at once, for durationMs. */
async function rate(loops: number, send: (loop: number, n: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: loops }, async (_, loop) => {
      for (let n = 0; performance.now() < end; n++) {
        await send(loop, n);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const row = (label: string, ion: number, peer: number, peerLabel: string): string =>
  `${label.padEnd(34)} ion ${ion.toFixed(0).padStart(6)} tx/s   ${peerLabel} ${peer.toFixed(0).padStart(6)} tx/s   ion/${peerLabel} ${(ion / peer).toFixed(2)}`;

async function transactionFunctions(): Promise<void> {
  const solo = await startChildNode(path.join(work, 'solo'), path.join(work, 'solo.log'));
  const { endpoint, system, keyFile } = solo.announcement;
  const client = createClient({ endpoint, system, keyFile: keyFile! });
  const admin = openIonAdmin({ endpoint, system, keyFile: keyFile! });
  try {
    await client.createDatabase('bank');
    const conn: Connection = await client.connect('bank');
    await conn.transact(await readFile(path.join(example, 'schema.edn'), 'utf8'));
    const accounts = Array.from({ length: 34 }, (_, i) => `{:account/id "a${i}" :account/balance 100000000}`);
    await conn.transact(`[${accounts.join(' ')}]`);
    const { app, rev } = await pushRevision({ projectDirectory: example, uname: `bench-${Date.now()}`, admin });
    await deployAndWait(admin, 'primary', app, rev);
    await conn.transact('[[:bank/transfer [:account/id "a0"] [:account/id "a1"] 1]]'); // warm the thread

    const ionOne = await rate(1, () => conn.transact('[[:bank/transfer [:account/id "a0"] [:account/id "a1"] 1]]'));
    const balances = new Map<string, number>();
    const balance = async (id: string): Promise<number> => (await conn.sync()).pull('[:account/balance]', ['account/id', id]).then((e) => e['account/balance'] as number);
    for (const id of ['a0', 'a1']) balances.set(id, await balance(id));
    const casOne = await rate(1, async () => {
      const from = balances.get('a0')!;
      const to = balances.get('a1')!;
      await conn.transact(`[[:db/cas [:account/id "a0"] :account/balance ${from} ${from - 1}] [:db/cas [:account/id "a1"] :account/balance ${to} ${to + 1}]]`);
      balances.set('a0', from - 1);
      balances.set('a1', to + 1);
    });
    console.log(row('one client, one after another', ionOne, casOne, 'cas'));

    const ionMany = await rate(16, (loop) => conn.transact(`[[:bank/transfer [:account/id "a${2 + 2 * loop}"] [:account/id "a${3 + 2 * loop}"] 1]]`));
    const tracked = new Map<string, number>();
    for (let i = 2; i < 34; i++) tracked.set(`a${i}`, await balance(`a${i}`));
    const addMany = await rate(16, async (loop) => {
      const [from, to] = [`a${2 + 2 * loop}`, `a${3 + 2 * loop}`];
      const [a, b] = [tracked.get(from)! - 1, tracked.get(to)! + 1];
      await conn.transact(`[[:db/add [:account/id "${from}"] :account/balance ${a}] [:db/add [:account/id "${to}"] :account/balance ${b}]]`);
      tracked.set(from, a);
      tracked.set(to, b);
    });
    console.log(row('16 clients in flight', ionMany, addMany, 'add'));
  } finally {
    admin.close();
    await client.close();
    await solo.stop();
  }
}

async function pushAndDeploy(): Promise<void> {
  const emulator = await startEmulator();
  const environment: Record<string, string> = { ...emulator.env };
  const config = { ...awsStorageConfigFromEnvironment(environment), credentials: emulatorCredentials, prefix: `bench-${randomUUID()}/` };
  const mini = await startMiniature({ environment, config, removePrefix: async () => undefined, primaries: 3, queryGroupNodes: 0, leaseMs: 2000 });
  const admin = openIonAdmin(bucketConfig(mini.nodes[0]!.endpoint(), 'mini', mini.config, 'admin'));
  const pushes: number[] = [];
  const deploysMs: number[] = [];
  try {
    for (let i = 0; i < deploys; i++) {
      // Each round a revision of its own (the same sources would be the same revision).
      const project = path.join(work, `rev-${i}`);
      await cp(example, project, { recursive: true });
      await writeFile(path.join(project, 'src', 'round.ts'), `export const round = ${i};\n`);
      let started = performance.now();
      const { app, rev } = await pushRevision({ projectDirectory: project, uname: `round-${i}`, admin });
      pushes.push(performance.now() - started);
      started = performance.now();
      await deployAndWait(admin, 'primary', app, rev);
      deploysMs.push(performance.now() - started);
    }
  } finally {
    admin.close();
    await mini.stop();
    await emulator.stop();
  }
  console.log(`push (bundle, check, upload), ${deploys} runs      median ${median(pushes).toFixed(0)} ms (max ${Math.max(...pushes).toFixed(0)})`);
  console.log(`deploy onto 3 primary nodes, ${deploys} runs     median ${median(deploysMs).toFixed(0)} ms (max ${Math.max(...deploysMs).toFixed(0)})   goal < 10000 ms`);
}

try {
  console.log(`ions (BENCH_MS=${durationMs})`);
  await transactionFunctions();
  await pushAndDeploy();
} finally {
  await rm(work, { recursive: true, force: true });
}
