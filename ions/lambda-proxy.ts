//! The proxy of a Lambda ion: one generic AWS Lambda handler (Node.js runtime) for every Lambda an
//! ion application configures. It forwards the event to the compute group that runs the
//! application and returns the ion's answer (Datomic Cloud's Lambda ions work the same way).
//!
//!   Lambda event ──JSON.stringify──▶ ionInvoke { name, input } ──▶ group's endpoint ──▶ ion
//!   Lambda result ◀──── the ion's output string, unchanged ◀──── { output } ◀───────────┘
//!
//! The result is the ion's string as it returned it, never parsed: a Lambda ion's contract is
//! `(input: string) => Promise<string>`, as in Datomic. The Node.js runtime serializes a returned
//! string as a JSON string, so `aws lambda invoke` prints `"..."`; an ion that answers API Gateway
//! is better written as the application's HTTP handler (docs/ions.md).
//!
//! Environment (infra/constructs/ion-lambdas.ts sets it):
//!
//!   FACTUM_ENDPOINT      the group's endpoint, e.g. http://primary.prod.factum.internal:8182
//!   FACTUM_SYSTEM        the system's name
//!   FACTUM_ION_APP       the ion application (for messages)
//!   FACTUM_ION_LAMBDA    the Lambda's name in the application's ion-config.json `lambdas`
//!   and one way to an access key (any key of the system may invoke an ion):
//!   FACTUM_KEY_FILE      a key file (local systems and tests), or else
//!   FACTUM_BUCKET        the system's bucket: the function's role fetches the key from it and
//!   FACTUM_PERMISSION    opens it with KMS (client/remote/access-key.ts); `read-only`,
//!   FACTUM_DATABASE      `read-write` (with the database) or `admin`; AWS_REGION is the runtime's.
//!   FACTUM_ACCESS_PREFIX, FACTUM_STORAGE_PREFIX, FACTUM_S3_ENDPOINT, FACTUM_KMS_ENDPOINT
//!                        optional, as the node reads them (a storage prefix, LocalStack)
//!   FACTUM_TIMEOUT_MS    how long to wait for the node's answer (default 60000; the construct
//!                        sets the function's timeout)
//!
//! The key is fetched once per container, at the first invocation, and kept in memory for the
//! next ones; so is the connection, unless it sat idle long enough for the other side to close it
//! while the container was frozen (`connectionIdleMsMax`). Nothing is logged: the key never
//! leaves memory.
//! A failure is thrown as the node's FactumError, its message naming the ion, the endpoint and the
//! code; its `name` is the code, so the caller sees it as the Lambda's `errorType` (what Step
//! Functions' Retry and Catch match on).

import type { AccessKey } from '../client/remote/access-key.ts';
import type { AccessKeyCredentials, RemoteClientConfig } from '../client/types.ts';
import { resolveAccessKey } from '../client/remote/resolve-key.ts';
import { Transport } from '../client/remote/transport.ts';
import { FactumError, isFactumError } from '../nodes/util/errors.ts';

/** The parts of the Lambda context the proxy reads. */
export interface LambdaContext {
  readonly awsRequestId?: string;
}

export type IonLambdaHandler = (event: unknown, context?: LambdaContext) => Promise<string>;

/** The proxy's settings, read from its environment. */
export interface LambdaProxyConfig {
  readonly app: string;
  readonly lambda: string;
  readonly client: RemoteClientConfig;
  readonly timeoutMs: number;
}

const permissions = ['admin', 'read-write', 'read-only'] as const;

/** Reads and checks the environment; throws one `client/invalid-config` error naming every problem. */
export function readLambdaProxyConfig(env: Readonly<Record<string, string | undefined>>): LambdaProxyConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') problems.push(`${name} is not set`);
    return value ?? '';
  };
  const endpoint = required('FACTUM_ENDPOINT');
  const system = required('FACTUM_SYSTEM');
  const lambda = required('FACTUM_ION_LAMBDA');
  const app = env.FACTUM_ION_APP ?? '';
  const timeoutMs = env.FACTUM_TIMEOUT_MS === undefined || env.FACTUM_TIMEOUT_MS === '' ? 60_000 : Number(env.FACTUM_TIMEOUT_MS);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) problems.push(`FACTUM_TIMEOUT_MS is ${JSON.stringify(env.FACTUM_TIMEOUT_MS)}, expected a whole number of milliseconds`);
  const keyFile = env.FACTUM_KEY_FILE;
  let way: Pick<RemoteClientConfig, 'keyFile' | 'credentials'> = {};
  if (keyFile !== undefined && keyFile !== '') {
    way = { keyFile };
  } else {
    const bucket = required('FACTUM_BUCKET');
    const region = required('AWS_REGION');
    const permission = env.FACTUM_PERMISSION ?? 'read-only';
    const database = env.FACTUM_DATABASE;
    if (!(permissions as readonly string[]).includes(permission)) {
      problems.push(`FACTUM_PERMISSION is ${JSON.stringify(permission)}, expected one of ${permissions.join(', ')}`);
    } else if (permission !== 'admin' && (database === undefined || database === '')) problems.push(`FACTUM_DATABASE is not set (a ${permission} key belongs to a database)`);
    const optional = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
    const credentials: AccessKeyCredentials = {
      bucket,
      region,
      permission: permission as AccessKeyCredentials['permission'],
      ...(permission === 'admin' || database === undefined ? {} : { database }),
      ...withDefined('accessPrefix', optional('FACTUM_ACCESS_PREFIX')),
      ...withDefined('prefix', optional('FACTUM_STORAGE_PREFIX')),
      ...withDefined('s3Endpoint', optional('FACTUM_S3_ENDPOINT')),
      ...withDefined('kmsEndpoint', optional('FACTUM_KMS_ENDPOINT')),
    };
    way = { credentials };
  }
  if (problems.length > 0) {
    throw new FactumError(
      'client/invalid-config',
      `The Lambda ion proxy's environment is not valid: ${problems.join('; ')}. Expected FACTUM_ENDPOINT, FACTUM_SYSTEM, FACTUM_ION_LAMBDA and either FACTUM_KEY_FILE or FACTUM_BUCKET with FACTUM_PERMISSION (and FACTUM_DATABASE); see ions/lambda-proxy.ts.`,
      { problems },
    );
  }
  return { app, lambda, client: { endpoint, system, ...way }, timeoutMs };
}

function withDefined<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/**
 * How long a connection may sit idle and still be used: half the load balancer's idle timeout
 * (60 s; a node's own keep-alive is 65 s). While a container is frozen between invocations it
 * does not see the other side close an idle connection, and ionInvoke, which may write, cannot be
 * sent again after a reset socket; so a connection idle longer than this is never reused.
 */
export const connectionIdleMsMax = 30_000;

export interface LambdaProxyOptions {
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A Lambda handler forwarding to one Lambda ion. The environment is read at the first call, and
 * the key fetched then and kept for the container's life. Invocations close together share one
 * kept-alive connection; after `connectionIdleMsMax` without one, the next opens a new one.
 *
 * @example
 * const handler = createLambdaProxy({ FACTUM_ENDPOINT: 'http://127.0.0.1:8182', FACTUM_SYSTEM: 'local', FACTUM_ION_LAMBDA: 'hello', FACTUM_KEY_FILE: './data/access/admin/1f2e….json' });
 * const output = await handler({ name: 'Ada' }); // the ion's string
 */
export function createLambdaProxy(env: Readonly<Record<string, string | undefined>>, options: LambdaProxyOptions = {}): IonLambdaHandler {
  const now = options.now ?? Date.now;
  let state: { config: LambdaProxyConfig; key: () => Promise<AccessKey> } | null = null;
  let connection: { transport: Transport; idleSince: number } | null = null;
  const transportFor = (config: LambdaProxyConfig, key: () => Promise<AccessKey>): Transport => {
    if (connection !== null && now() - connection.idleSince <= connectionIdleMsMax) return connection.transport;
    connection?.transport.close();
    connection = { transport: new Transport({ endpoint: config.client.endpoint, system: config.client.system, key, timeoutMs: config.timeoutMs }), idleSince: now() };
    return connection.transport;
  };
  const handler = async (event: unknown): Promise<string> => {
    state ??= ((config) => ({ config, key: resolveAccessKey(config.client) }))(readLambdaProxyConfig(env));
    const { config, key } = state;
    // `undefined` (an empty payload) is sent as JSON's null: the ion always gets JSON text.
    const input = JSON.stringify(event) ?? 'null';
    const transport = transportFor(config, key);
    let answer: unknown;
    try {
      // Not idempotent: only answers the node refused before running the ion (busy,
      // unavailable) and refused connections are sent again.
      answer = (await transport.call('ionInvoke', { name: config.lambda, input }, { idempotent: false })).value;
    } catch (error) {
      throw explained(error, config);
    } finally {
      if (connection?.transport === transport) connection.idleSince = now();
    }
    const output = (answer as { output?: unknown } | null)?.output;
    if (typeof output !== 'string') {
      throw explained(new FactumError('client/bad-response', `The node answered ionInvoke without an output string (got ${typeof output}).`, {}), config);
    }
    return output;
  };
  return handler;
}

/** The error with the ion, the endpoint and the code in its message, and the code as its name. */
function explained(error: unknown, config: LambdaProxyConfig): unknown {
  if (!isFactumError(error)) return error;
  const ion = config.app === '' ? `Lambda ion ${config.lambda}` : `Lambda ion ${config.app}/${config.lambda}`;
  Object.defineProperty(error, 'message', { value: `${ion} via ${config.client.endpoint} failed: ${error.message} [${error.code}]`, configurable: true, writable: true });
  Object.defineProperty(error, 'name', { value: error.code, configurable: true, writable: true });
  return error;
}

let proxy: IonLambdaHandler | null = null;

/** The Lambda entry point (`index.handler`): reads `process.env` at the first invocation. */
export async function handler(event: unknown, context?: LambdaContext): Promise<string> {
  proxy ??= createLambdaProxy(process.env);
  return proxy(event, context);
}
