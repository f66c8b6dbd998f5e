// A production system in miniature on one machine (for test/integration/production.test.ts and
// bench/failover.bench.ts): primary nodes and query-group nodes as real
// separate processes (`factum serve` children) sharing one storage (DynamoDB + S3 + KMS: the
// emulator, LocalStack or real AWS) under a fresh prefix, each with its own SSD cache directory
// and its group's EFS directory, each killable with SIGKILL and pausable with SIGSTOP.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient, type Client, type RemoteClientConfig } from '../../client/index.ts';
import { startChildNode, type ChildNode } from '../../nodes/cli/child-node.ts';
import type { AwsStorageConfig } from '../../nodes/storage/aws/index.ts';

export interface MiniatureOptions {
  /** The AWS settings of the nodes' environment (endpoints, table, bucket, key; see nodes/storage/aws/config.ts). */
  readonly environment: Readonly<Record<string, string>>;
  /** The same storage as a config, with the fresh prefix the system lives under. */
  readonly config: AwsStorageConfig;
  /** Removes everything under the prefix (at stop). */
  readonly removePrefix: (config: AwsStorageConfig) => Promise<void>;
  readonly primaries: number;
  readonly queryGroupNodes: number;
  readonly leaseMs: number;
  /** Novelty that starts an index run (small: index runs happen during the test). */
  readonly noveltyBytesMax?: number;
}

export interface MiniatureNode {
  readonly name: string;
  readonly role: 'primary' | 'query-group';
  readonly logFile: string;
  child: ChildNode | null;
  readonly endpoint: () => string;
  /** The node's log, one parsed JSON line each (lines that are not JSON are skipped). */
  readonly events: () => Promise<Array<Record<string, unknown>>>;
}

export interface Miniature {
  readonly config: AwsStorageConfig;
  readonly nodes: MiniatureNode[];
  /** Starts (or restarts) a node; resolves once it is ready. `freshSsd`: as a replaced instance, with an empty SSD cache. */
  start(node: MiniatureNode, options?: { readonly freshSsd?: boolean }): Promise<void>;
  /** SIGKILL, then waits for the process to be gone. */
  kill(node: MiniatureNode): Promise<void>;
  pause(node: MiniatureNode): void;
  resume(node: MiniatureNode): void;
  /** A client of `node` (or of an endpoint, e.g. a load balancer), fetching its key from S3 and unwrapping it with KMS. */
  client(node: MiniatureNode | string, permission: 'admin' | 'read-write' | 'read-only', database?: string): Client;
  /** The EFS cache directory the nodes of a role's group share. */
  efsDirectory(role: MiniatureNode['role']): string;
  /** The node leading `database` now, from the nodes' own logs (the last `transactor/leading` of a live node). */
  leaderOf(database: string): Promise<MiniatureNode | null>;
  stop(): Promise<void>;
}

export async function startMiniature(options: MiniatureOptions): Promise<Miniature> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'factum-miniature-'));
  const { config, environment } = options;
  const clients: Client[] = [];
  const nodes: MiniatureNode[] = [];
  const make = (name: string, role: MiniatureNode['role']): MiniatureNode => {
    const logFile = path.join(dir, `${name}.log`);
    const node: MiniatureNode = {
      name,
      role,
      logFile,
      child: null,
      endpoint: () => node.child?.announcement.endpoint ?? fail(`node ${name} is not running`),
      events: async () => {
        const text = await readFile(logFile, 'utf8').catch(() => '');
        const out: Array<Record<string, unknown>> = [];
        for (const line of text.split('\n')) {
          if (!line.startsWith('{')) continue;
          try {
            out.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            // a line cut by SIGKILL
          }
        }
        return out;
      },
    };
    return node;
  };
  for (let i = 0; i < options.primaries; i++) nodes.push(make(`primary-${i + 1}`, 'primary'));
  for (let i = 0; i < options.queryGroupNodes; i++) nodes.push(make(`analytics-${i + 1}`, 'query-group'));

  const start = async (node: MiniatureNode, startOptions: { readonly freshSsd?: boolean } = {}): Promise<void> => {
    if (startOptions.freshSsd === true) await rm(path.join(dir, node.name, 'ssd'), { recursive: true, force: true });
    const group = node.role === 'primary' ? 'primary' : 'analytics';
    node.child = await startChildNode(path.join(dir, node.name), node.logFile, 0, {
      ...environment,
      FACTUM_STORAGE: 'aws',
      FACTUM_STORAGE_PREFIX: config.prefix!,
      FACTUM_SYSTEM: 'mini',
      FACTUM_ROLE: node.role,
      FACTUM_GROUP: group,
      FACTUM_NODE_ID: `${node.name}-${Date.now().toString(36)}`,
      FACTUM_LEASE_MS: String(options.leaseMs),
      FACTUM_SSD_CACHE_DIR: path.join(dir, node.name, 'ssd'),
      FACTUM_EFS_CACHE_DIR: path.join(dir, `efs-${group}`),
      FACTUM_LOG_LEVEL: 'debug',
      ...(options.noveltyBytesMax === undefined ? {} : { FACTUM_NOVELTY_BYTES_MAX: String(options.noveltyBytesMax) }),
    });
  };
  await Promise.all(nodes.map((node) => start(node)));

  const exited = (child: ChildNode): Promise<void> =>
    child.process.exitCode !== null || child.process.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.process.once('exit', () => resolve()));

  return {
    config,
    nodes,
    start,
    async kill(node) {
      const child = node.child;
      if (child === null) return;
      child.process.kill('SIGKILL');
      await exited(child);
      await child.stop();
      node.child = null;
    },
    efsDirectory(role) {
      return path.join(dir, `efs-${role === 'primary' ? 'primary' : 'analytics'}`);
    },
    pause(node) {
      node.child?.process.kill('SIGSTOP');
    },
    resume(node) {
      node.child?.process.kill('SIGCONT');
    },
    client(node, permission, database) {
      const client = bucketClient(typeof node === 'string' ? node : node.endpoint(), 'mini', config, permission, database);
      clients.push(client);
      return client;
    },
    async leaderOf(database) {
      // Every live node's leading and stepping down, in time order: the last to start leading
      // without stepping down since.
      const changes: Array<{ node: MiniatureNode; time: number; leading: boolean }> = [];
      for (const node of nodes) {
        if (node.child === null) continue;
        for (const event of await node.events()) {
          if (event.database !== database || (event.event !== 'transactor/leading' && event.event !== 'transactor/stepped-down')) continue;
          changes.push({ node, time: Date.parse(String(event.time)), leading: event.event === 'transactor/leading' });
        }
      }
      changes.sort((a, b) => a.time - b.time);
      let leader: MiniatureNode | null = null;
      for (const change of changes) {
        if (change.leading) leader = change.node;
        else if (leader === change.node) leader = null;
      }
      return leader;
    },
    async stop() {
      for (const client of clients) await client.close().catch(() => undefined);
      for (const node of nodes) {
        if (node.child !== null) {
          node.child.process.kill('SIGCONT');
          await node.child.stop();
          node.child = null;
        }
      }
      await options.removePrefix(config);
      // KEEP_MINIATURE=1 keeps the nodes' logs and caches to look at.
      if (process.env.KEEP_MINIATURE === '1') console.log(`the miniature's logs and caches: ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A client of the node at `endpoint` that fetches its access key from the system's bucket and unwraps it with KMS, as a client on AWS does. */
export function bucketClient(endpoint: string, system: string, config: AwsStorageConfig, permission: 'admin' | 'read-write' | 'read-only', database?: string): Client {
  return createClient(bucketConfig(endpoint, system, config, permission, database));
}

/** The configuration of such a client (also what the ion tooling, ions/ion-admin.ts, takes). */
export function bucketConfig(endpoint: string, system: string, config: AwsStorageConfig, permission: 'admin' | 'read-write' | 'read-only', database?: string): RemoteClientConfig {
  return {
    endpoint,
    system,
    credentials: {
      bucket: config.bucket,
      region: config.region,
      prefix: config.prefix!,
      permission,
      ...(database === undefined ? {} : { database }),
      ...(config.s3Endpoint === undefined ? {} : { s3Endpoint: config.s3Endpoint }),
      ...(config.kmsEndpoint === undefined ? {} : { kmsEndpoint: config.kmsEndpoint }),
      ...(config.credentials === undefined ? {} : { aws: config.credentials }),
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}
