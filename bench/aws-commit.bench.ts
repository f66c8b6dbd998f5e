// Commit throughput on the AWS backend, on the local emulator (dynalite + s3rver): 5-datom
// transactions with 1 and 16 concurrent submitters, and log writes per transaction. The peer is
// the floor under any log on DynamoDB: raw conditional puts of the same size from the same number
// of submitters, one per transaction (no group commit). Emulator figures are not AWS figures; the
// ratios are what carry over.
// Run: NODE_OPTIONS=--openssl-legacy-provider npm run bench -- bench/aws-commit.bench.ts
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { emulatorCredentials, startEmulator } from '../localstack/emulator.ts';
import { awsStorageConfigFromEnvironment, createAwsClients, createAwsStorage, destroyAwsClients } from '../nodes/storage/aws/index.ts';
import { commitRate } from './commit-workload.ts';

const durationMs = Number(process.env.BENCH_MS ?? 3000);
const emulator = await startEmulator();
const environment = { ...process.env, ...emulator.env };
const base = () => ({ ...awsStorageConfigFromEnvironment(environment), credentials: emulatorCredentials });

async function factum(submitters: number): Promise<{ perSecond: number; perWrite: number }> {
  const storage = createAwsStorage({ ...base(), prefix: `bench-${randomUUID()}/` });
  const rate = await commitRate(storage, submitters, durationMs);
  return { perSecond: rate.perSecond, perWrite: rate.transactions / rate.logWrites };
}

async function rawPuts(submitters: number): Promise<number> {
  const config = base();
  const clients = createAwsClients(config);
  const payload = new Uint8Array(220).fill(7);
  let position = 0;
  let done = 0;
  const log = `bench-raw-${randomUUID()}`;
  const deadline = performance.now() + durationMs;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: submitters }, async () => {
      while (performance.now() < deadline) {
        await clients.dynamodb.send(new PutItemCommand({ TableName: config.table, Item: { id: { S: log }, position: { N: String(position++) }, bytes: { B: payload } }, ConditionExpression: 'attribute_not_exists(id)' }));
        done++;
      }
    }),
  );
  destroyAwsClients(clients);
  return done / ((performance.now() - started) / 1000);
}

try {
  console.log(`commit on the AWS backend (emulator), 5-datom transactions, ${durationMs} ms per run`);
  console.log('submitters  raw conditional puts/s  factum tx/s  ratio (factum/raw)  tx per log write');
  for (const submitters of [1, 16]) {
    const raw = await rawPuts(submitters);
    const result = await factum(submitters);
    console.log(`${String(submitters).padStart(10)}  ${raw.toFixed(0).padStart(22)}  ${result.perSecond.toFixed(0).padStart(11)}  ${(result.perSecond / raw).toFixed(2).padStart(18)}  ${result.perWrite.toFixed(1).padStart(16)}`);
  }
} finally {
  await emulator.stop();
}
