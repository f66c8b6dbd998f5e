//! An AWS Lambda function over factum's remote client: a small items API behind API Gateway.
//!
//!   GET  /items/{sku}   the item, pulled by the lookup ref [:item/sku sku]     200, or 404
//!   POST /items         { "sku": "A-1", "name": "Anvil", "quantity": 3 }      201 { sku, id, t }
//!                       (:item/sku is a unique identity, so a second POST of a sku updates it)
//!
//! Errors answer `{ error: { code, category, message } }` with a status from the error's category
//! (`statusOf`); never a stack, the error's data or a secret. A bug is logged and answers 500.
//!
//! ## Deployment
//!
//! Bundle (the Lambda runtime provides the AWS SDK; client/remote.ts keeps the engine out), split
//! so that the AWS SDK and the KMS envelope load only when a key is fetched from S3 (one file would
//! load the KMS client at every cold start; see client/lambda-bundle.test.ts), and zip the folder:
//!
//!   npx esbuild index=client/examples/lambda-handler.ts --bundle --minify --splitting --platform=node \
//!     --format=esm --target=node20 '--external:@aws-sdk/*' --out-extension:.js=.mjs \
//!     --chunk-names='chunks/[name]-[hash]' --outdir=dist/items
//!
//! Runtime `nodejs20.x` (or later), handler `index.handler`. The function runs in the system's VPC:
//! the compute stack's `PrivateSubnetIds` and `ClientSecurityGroupId` (docs/deploy.md).
//!
//! Environment:
//!   FACTUM_ENDPOINT     the compute stack's `EndpointUrl`
//!   FACTUM_SYSTEM       the system's name
//!   FACTUM_DATABASE     the database this function uses (it must exist, with `itemSchema`)
//!   and one way to an access key:
//!   FACTUM_KEY_FILE     a key file (local systems, tests), or else
//!   FACTUM_BUCKET       the system's bucket (`BucketName`); the key is fetched from it with the
//!   FACTUM_PERMISSION   function's role and opened with KMS: `read-write` (the default) or
//!                       `read-only`; AWS_REGION is set by the Lambda runtime.
//!
//! IAM: the function's role needs the client policy of its database and permission, e.g.
//! `ClientAccessPolicy.fromSystemExports(this, 'ItemsWriter', { system: 'prod', grants: [{
//! permission: 'read-write', database: 'shop' }] })` (infra/constructs/client-access-policy.ts),
//! or the storage stack's `ClientPolicyArn` for every database; plus the VPC execution role
//! (AWSLambdaVPCAccessExecutionRole). The key is fetched once per container, at the first call.
import { createClient, FactumError, kw, type Connection, type RemoteClientConfig } from '../remote.ts';

/** The schema this function needs in its database. */
export const itemSchema = `[{:db/ident :item/sku :db/valueType :db.type/string :db/cardinality :db.cardinality/one :db/unique :db.unique/identity}
                            {:db/ident :item/name :db/valueType :db.type/string :db/cardinality :db.cardinality/one}
                            {:db/ident :item/quantity :db/valueType :db.type/long :db/cardinality :db.cardinality/one}]`;

/** The parts of an API Gateway proxy event this function reads (REST API, or HTTP API v2). */
export interface ItemsEvent {
  readonly httpMethod?: string;
  readonly path?: string;
  readonly rawPath?: string;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
}

export interface ItemsResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The client configuration from the environment; throws (failing the container's init) naming what is missing. */
export function configFromEnvironment(env: NodeJS.ProcessEnv): RemoteClientConfig & { readonly database: string } {
  const required = ['FACTUM_ENDPOINT', 'FACTUM_SYSTEM', 'FACTUM_DATABASE', ...(env.FACTUM_KEY_FILE ? [] : ['FACTUM_BUCKET', 'AWS_REGION'])];
  const missing = required.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`The items function needs the environment variables ${missing.join(', ')} (see client/examples/lambda-handler.ts).`);
  const database = env.FACTUM_DATABASE!;
  const permission = env.FACTUM_PERMISSION ?? 'read-write';
  if (permission !== 'read-write' && permission !== 'read-only') throw new Error(`FACTUM_PERMISSION is ${JSON.stringify(permission)}; expected read-write or read-only.`);
  const common = { endpoint: env.FACTUM_ENDPOINT!, system: env.FACTUM_SYSTEM!, database };
  if (env.FACTUM_KEY_FILE) return { ...common, keyFile: env.FACTUM_KEY_FILE };
  return { ...common, credentials: { bucket: env.FACTUM_BUCKET!, region: env.AWS_REGION!, database, permission } };
}

// Once per container: a thawed container reuses the client, its key and its keep-alive sockets
// (a stale socket is retried by the client on a fresh one).
const { database, ...config } = configFromEnvironment(process.env);
const client = createClient(config);
let connection: Promise<Connection> | null = null;

function connect(): Promise<Connection> {
  connection ??= client.connect(database);
  // A failed connect is not kept: the next invocation tries again.
  connection.catch(() => (connection = null));
  return connection;
}

/** HTTP statuses of factum's error categories. */
export const statusOf: Readonly<Record<FactumError['category'], number>> = {
  incorrect: 400,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  busy: 503,
  unavailable: 503,
  interrupted: 504,
  fault: 500,
};

const itemPattern = '[:item/sku :item/name :item/quantity]';

export const handler = async (event: ItemsEvent): Promise<ItemsResponse> => {
  try {
    const method = event.httpMethod ?? event.requestContext?.http?.method ?? '';
    const path = event.path ?? event.rawPath ?? '';
    const get = /^\/items\/([^/]+)$/.exec(path);
    if (method === 'GET' && get !== null) return await getItem(decodeURIComponent(get[1]!));
    if (method === 'POST' && path === '/items') return await postItem(readBody(event));
    return answer(404, { error: { code: 'items/unknown-route', category: 'not-found', message: `No route ${method} ${path}; expected GET /items/{sku} or POST /items.` } });
  } catch (error) {
    if (error instanceof BadRequest) return answer(400, { error: { code: error.code, category: 'incorrect', message: error.message } });
    if (error instanceof FactumError) {
      // An unknown category (from a newer node) is still an answer: 500.
      const status = statusOf[error.category] ?? 500;
      return answer(status, { error: { code: error.code, category: error.category, message: error.message } }, status === 503 ? { 'retry-after': '1' } : {});
    }
    console.error('items: unexpected error', error); // the stack goes to the log, never to the caller
    return answer(500, { error: { code: 'items/internal', category: 'fault', message: 'Internal error; see the function log.' } });
  }
};

async function getItem(sku: string): Promise<ItemsResponse> {
  const conn = await connect();
  // conn.db() is the newest basis this container has seen, at once. A function that must read
  // what other containers wrote just before would use `await conn.sync()` instead.
  return answer(200, await conn.db().pull(itemPattern, [kw('item/sku'), sku]));
}

async function postItem(item: { sku: string; name?: unknown; quantity?: unknown }): Promise<ItemsResponse> {
  const conn = await connect();
  // Types are checked by the database against the schema (a wrong one is value/wrong-type, 400).
  const entity: Record<string, unknown> = { 'db/id': 'item', 'item/sku': item.sku };
  if (item.name !== undefined) entity['item/name'] = item.name;
  if (item.quantity !== undefined) entity['item/quantity'] = item.quantity;
  const report = await conn.transact([entity]);
  return answer(201, { sku: item.sku, id: report.tempids.item, t: report.dbAfter.basisT });
}

/** The POST body: a JSON object with a non-empty string sku, or an `incorrect` error. */
function readBody(event: ItemsEvent): { sku: string; name?: unknown; quantity?: unknown } {
  const text = event.isBase64Encoded === true ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest('items/invalid-body', 'The body is not JSON; expected { "sku": "A-1", "name": "Anvil", "quantity": 3 }.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body) || typeof (body as { sku?: unknown }).sku !== 'string' || (body as { sku: string }).sku === '') {
    throw new BadRequest('items/invalid-body', 'The body must be an object with a non-empty string "sku"; expected { "sku": "A-1", "name": "Anvil", "quantity": 3 }.');
  }
  return body as { sku: string };
}

/** This function's own `incorrect` errors, answered like factum's. */
class BadRequest extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function answer(statusCode: number, value: unknown, headers: Record<string, string> = {}): ItemsResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) };
}
