// Starts the emulator once for the whole integration run, unless the environment already names a
// system (FACTUM_TABLE set: LocalStack or real AWS), and hands the tests the environment to use.
import type { TestProject } from 'vitest/node';
import { startEmulator, type Emulator } from '../../localstack/emulator.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    awsEnvironment: Record<string, string>;
  }
}

const forwarded = [
  'FACTUM_TABLE',
  'FACTUM_BUCKET',
  'FACTUM_KMS_KEY',
  'AWS_REGION',
  'FACTUM_DYNAMODB_ENDPOINT',
  'FACTUM_S3_ENDPOINT',
  'FACTUM_KMS_ENDPOINT',
];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let emulator: Emulator | undefined;
  if (process.env.FACTUM_TABLE === undefined) {
    emulator = await startEmulator();
    project.provide('awsEnvironment', { ...emulator.env, FACTUM_EMULATOR: 'true' });
  } else {
    const environment: Record<string, string> = {};
    for (const name of forwarded) {
      const value = process.env[name];
      if (value !== undefined) environment[name] = value;
    }
    project.provide('awsEnvironment', environment);
  }
  return async () => {
    await emulator?.stop();
  };
}
