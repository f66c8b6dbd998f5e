// The Lambda ion proxy as it runs on AWS: bundled, in a fresh node process whose only AWS SDK is
// the runtime's (a node_modules/@aws-sdk beside the bundle, as in a Lambda), against a node on
// DynamoDB + S3 + KMS (the emulator, LocalStack or real AWS). The proxy fetches a database's
// read-only key from the bucket and opens it with KMS, as a function's role does, then invokes a
// deployed Lambda ion; nothing is written to its stdout or stderr but what the test prints.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Client } from '../../client/index.ts';
import { fetchAccessKey } from '../../client/remote/access-key.ts';
import { resolveAccessKey } from '../../client/remote/resolve-key.ts';
import { Transport } from '../../client/remote/transport.ts';
import { bundleLambdaProxy, lambdaProxyEntryFile } from '../../infra/constructs/lambda-proxy-bundle.ts';
import { deployGreeter, greeting } from '../../ions/lambda-proxy-test-support.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/serve.ts';
import type { AwsStorageConfig } from '../../nodes/storage/aws/index.ts';
import { bucketClient } from '../miniature/miniature.ts';
import { integrationConfig, removePrefix } from './aws-environment.ts';

const run = promisify(execFile);
const system = 'it';

let dir = '';
let config: AwsStorageConfig;
let node: ChildNode;
let admin: Client;
let adminTransport: Transport;
let bundleDir = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-proxy-aws-'));
  config = integrationConfig();
  node = await startChildNode(dir, path.join(dir, 'node.log'), 0, {
    ...inject('awsEnvironment'),
    FACTUM_STORAGE: 'aws',
    FACTUM_STORAGE_PREFIX: config.prefix!,
    FACTUM_SYSTEM: system,
    FACTUM_SSD_CACHE_DIR: path.join(dir, 'ssd'),
    FACTUM_EFS_CACHE_DIR: path.join(dir, 'efs'),
  });
  const endpoint = node.announcement.endpoint;
  admin = bucketClient(endpoint, system, config, 'admin');
  await admin.createDatabase('shop');
  const credentials = {
    bucket: config.bucket,
    region: config.region,
    prefix: config.prefix!,
    permission: 'admin' as const,
    ...(config.s3Endpoint === undefined ? {} : { s3Endpoint: config.s3Endpoint }),
    ...(config.kmsEndpoint === undefined ? {} : { kmsEndpoint: config.kmsEndpoint }),
    ...(config.credentials === undefined ? {} : { aws: config.credentials }),
  };
  adminTransport = new Transport({ endpoint, system, key: resolveAccessKey({ endpoint, system, credentials }) });
  await deployGreeter(adminTransport, 'aws-proxy-1');
  // The bundle beside the SDK only, as the Lambda runtime provides it.
  bundleDir = path.join(dir, 'function');
  bundleLambdaProxy(bundleDir);
  await mkdir(path.join(bundleDir, 'node_modules'));
  await symlink(path.resolve('node_modules/@aws-sdk'), path.join(bundleDir, 'node_modules', '@aws-sdk'), 'dir');
});

afterAll(async () => {
  adminTransport?.close();
  await admin?.close();
  await node?.stop();
  if (config !== undefined) await removePrefix(config);
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** The function's environment: what the construct sets, plus the emulator's endpoints and credentials. */
function functionEnvironment(lambda: string): Record<string, string> {
  const optional = (name: string, value: string | undefined): Record<string, string> => (value === undefined ? {} : { [name]: value });
  return {
    PATH: process.env.PATH ?? '',
    ...optional('NODE_OPTIONS', process.env.NODE_OPTIONS),
    // The AWS SDK warns on stderr that its 2027 releases need Node 22 (Lambda's nodejs24.x never does).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    FACTUM_ENDPOINT: node.announcement.endpoint,
    FACTUM_SYSTEM: system,
    FACTUM_ION_APP: 'greeter',
    FACTUM_ION_LAMBDA: lambda,
    FACTUM_BUCKET: config.bucket,
    FACTUM_ACCESS_PREFIX: 'access/',
    FACTUM_PERMISSION: 'read-only',
    FACTUM_DATABASE: 'shop',
    FACTUM_STORAGE_PREFIX: config.prefix!,
    AWS_REGION: config.region,
    ...optional('FACTUM_S3_ENDPOINT', config.s3Endpoint),
    ...optional('FACTUM_KMS_ENDPOINT', config.kmsEndpoint),
    ...optional('AWS_ACCESS_KEY_ID', config.credentials?.accessKeyId),
    ...optional('AWS_SECRET_ACCESS_KEY', config.credentials?.secretAccessKey),
  };
}

/** Invokes the bundled handler in a fresh process with `events`, one after another (one container). */
async function invoke(lambda: string, events: readonly unknown[], overrides: Record<string, string> = {}): Promise<{ answers: unknown[]; stderr: string; stdout: string }> {
  const code = `const m = await import('./${lambdaProxyEntryFile}');
    const answers = [];
    for (const event of ${JSON.stringify(events)}) {
      try { answers.push({ output: await m.handler(event) }); } catch (e) { answers.push({ errorType: e.name, code: e.code, message: e.message }); }
    }
    process.stdout.write(JSON.stringify(answers));`;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', code], { cwd: bundleDir, env: { ...functionEnvironment(lambda), ...overrides }, timeout: 60_000 });
  return { answers: JSON.parse(stdout) as unknown[], stderr, stdout };
}

describe('the Lambda ion proxy on AWS storage', () => {
  it('fetches its key from the bucket with KMS and answers with the ion, logging nothing', async () => {
    const events = [{ name: 'Ada' }, { name: 'Grace', tags: ['x'] }];
    const { answers, stderr, stdout } = await invoke('greet', events);
    expect(answers).toEqual(events.map((event) => ({ output: greeting(event) })));
    expect(stderr).toBe('');
    const key = await fetchAccessKey({
      aws: { bucket: config.bucket, region: config.region, prefix: config.prefix!, ...(config.s3Endpoint === undefined ? {} : { s3Endpoint: config.s3Endpoint }), ...(config.kmsEndpoint === undefined ? {} : { kmsEndpoint: config.kmsEndpoint }), ...(config.credentials === undefined ? {} : { credentials: config.credentials }) },
      system,
      permission: 'read-only',
      database: 'shop',
    });
    expect(stdout).not.toContain(key.secret);
  });

  it("fails with the node's code as the error type: a throwing ion, and a key that is not there", async () => {
    const broken = await invoke('broken', [{}]);
    expect(broken.answers).toEqual([{ errorType: 'ion/call-failed', code: 'ion/call-failed', message: expect.stringContaining('the warehouse is closed') }]);
    // No read-only key of that database exists: the fetch finds none (and the role would be refused).
    const missing = await invoke('greet', [{}], { FACTUM_DATABASE: 'no-such-database' });
    const [answer] = missing.answers as { code: string; message: string }[];
    expect(answer!.code).toBe('auth/key-not-found');
    expect(answer!.message).toContain('Lambda ion greeter/greet');
    expect(broken.stderr + missing.stderr).toBe('');
  });
});
