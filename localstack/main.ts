// `npm run localstack`: starts the emulator (emulator.ts), prints its endpoints and the environment
// to export, and stops cleanly on Ctrl-C (SIGINT) or SIGTERM.
import { startEmulator } from './emulator.ts';

const emulator = await startEmulator();
const lines = [
  'factum AWS emulator running on 127.0.0.1 (DynamoDB: dynalite, S3: s3rver, KMS: localstack/kms-server.ts)',
  `  DynamoDB  ${emulator.endpoints.dynamodb}`,
  `  S3        ${emulator.endpoints.s3}`,
  `  KMS       ${emulator.endpoints.kms}`,
  '',
  'Environment for a node or the integration tests (paste into another shell):',
  ...Object.entries(emulator.env).map(([name, value]) => `export ${name}=${value}`),
  '',
  'Ctrl-C stops it; everything it held is gone then.',
];
process.stdout.write(lines.join('\n') + '\n');

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: stopping the emulator\n`);
  await emulator.stop();
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
