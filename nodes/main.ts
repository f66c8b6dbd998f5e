//! The node's entry point: the process systemd starts on every node of a compute group (the CDK
//! app bundles this file with esbuild into the node bundle, infra/constructs/node-bundle.ts).
//!
//! For now it serves only `GET /health` (200, `{"status":"ok","role":…,"system":…,"group":…}`),
//! which the load balancer's health check calls; the engine's HTTP server replaces this body in a
//! later issue. It imports nothing from the engine yet. It stops on SIGTERM (systemd stop).
//!
//! Configuration comes from the environment, written by the node's user data into
//! /etc/factum/node.env (see docs/deploy.md):
//!   FACTUM_SYSTEM              system name                                    (required)
//!   FACTUM_ROLE                `primary` or `query-group`                     (required)
//!   FACTUM_GROUP               compute group name: `primary` or the query group's name
//!   FACTUM_PORT                HTTP port                                      (default 8182)
//!   FACTUM_HOST                address to bind                                (default 0.0.0.0)
//!   AWS_REGION              AWS region
//!   FACTUM_TABLE               DynamoDB table: log, roots, catalog, leases
//!   FACTUM_BUCKET              S3 bucket: segments, ion revisions, access keys
//!   FACTUM_SEGMENTS_PREFIX     key prefix of segments in the bucket           (`segments/`)
//!   FACTUM_REVISIONS_PREFIX    key prefix of ion revisions                    (`revisions/`)
//!   FACTUM_ACCESS_PREFIX       key prefix of access keys                      (`access/`)
//!   FACTUM_KMS_KEY             KMS key that wraps access keys
//!   FACTUM_LOG_GROUP           CloudWatch log group (embedded metric format goes there too)
//!   FACTUM_METRICS_ENDPOINT    CloudWatch agent's EMF listener                (tcp://127.0.0.1:25888)
//!   FACTUM_SSD_CACHE_DIR       local SSD cache directory (instance store or root volume)
//!   FACTUM_EFS_CACHE_DIR       EFS cache directory shared by all nodes of the system
//!   FACTUM_PRIMARY_ENDPOINT    http://primary.<system>.factum.internal:8182 (query groups forward
//!                              transactions there)

import { createServer, type Server } from 'node:http';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface NodeSettings {
  readonly system: string;
  readonly role: 'primary' | 'query-group';
  readonly group: string;
  readonly port: number;
  readonly host: string;
  /** The cache levels under memory: the SSD directory, then the EFS directory (IndexerOptions). */
  readonly cache: { readonly cacheDirectory?: string; readonly efsCacheDirectory?: string };
}

/** Reads the settings the user data provides; a missing or malformed one is named in the error. */
export function readNodeSettings(environment: Readonly<Record<string, string | undefined>>): NodeSettings {
  const system = environment.FACTUM_SYSTEM ?? '';
  if (system === '') throw new Error('FACTUM_SYSTEM is not set: expected the system name, e.g. FACTUM_SYSTEM=demo.');
  const role = environment.FACTUM_ROLE ?? '';
  if (role !== 'primary' && role !== 'query-group') {
    throw new Error(`FACTUM_ROLE is ${JSON.stringify(role)}: expected primary or query-group.`);
  }
  const port = Number(environment.FACTUM_PORT ?? '8182');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`FACTUM_PORT is ${JSON.stringify(environment.FACTUM_PORT)}: expected a port number from 0 to 65535.`);
  }
  const cache = {
    ...(environment.FACTUM_SSD_CACHE_DIR ? { cacheDirectory: environment.FACTUM_SSD_CACHE_DIR } : {}),
    ...(environment.FACTUM_EFS_CACHE_DIR ? { efsCacheDirectory: environment.FACTUM_EFS_CACHE_DIR } : {}),
  };
  return { system, role, group: environment.FACTUM_GROUP ?? role, port, host: environment.FACTUM_HOST ?? '0.0.0.0', cache };
}

/** Starts the HTTP server; resolves once it listens (port 0 picks a free port). */
export function startNode(settings: NodeSettings): Promise<Server> {
  const body = JSON.stringify({ status: 'ok', role: settings.role, system: settings.system, group: settings.group });
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/health') {
      response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    } else {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'not found', path: request.url }));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve(server));
  });
}

async function main(): Promise<void> {
  const settings = readNodeSettings(process.env);
  const server = await startNode(settings);
  console.log(JSON.stringify({ event: 'node/started', ...settings, port: (server.address() as { port: number }).port }));
  process.once('SIGTERM', () => {
    console.log(JSON.stringify({ event: 'node/stopping', signal: 'SIGTERM' }));
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}

/** True when this module is the process's entry point (also through a symlinked release dir). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
