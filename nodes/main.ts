//! The node's entry point: the process systemd starts on every node of a compute group (the CDK
//! app bundles this file with esbuild into the node bundle, infra/constructs/node-bundle.ts), and
//! the one `factum serve` runs for a local system.
//!
//! It reads its settings from the environment (nodes/server/settings.ts lists the variables),
//! opens the system's storage (a local directory, or DynamoDB + S3 + KMS with the SSD and EFS
//! cache levels), loads the system's access keys (creating the admin key on first start), opens
//! every database of the system (its transactor and background indexer; catching up with the
//! log), and serves the client API over HTTP (nodes/server/server.ts). `/health` answers 200 only
//! once all of that is done. SIGTERM drains in-flight requests, then stops.
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { AccessKey } from '../client/remote/access-key.ts';
import { hostname, networkInterfaces } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLocalKeyStore, openS3KeyStore, type AccessKeyStore } from './server/access-keys/index.ts';
import { createLogger } from './server/log.ts';
import { createMetrics, type Metrics } from './server/metrics.ts';
import type { Logger } from 'pino';
import { NodeObserver } from './server/observe.ts';
import { readNodeSettings, type Environment, type NodeSettings } from './server/settings.ts';
import { DbRefs } from './server/db-refs.ts';
import { KeyCache } from './server/key-cache.ts';
import { QueryPool, splitCacheBytes } from './server/query-pool.ts';
import { DEFAULT_CACHE_BYTES_MAX } from './cache/node-cache.ts';
import { startNodeServer, type NodeServer } from './server/server.ts';
import { System } from './transactor/system.ts';
import type { TransactorOptions } from './transactor/transactor.ts';
import { Cluster } from './cluster/cluster.ts';
import type { Databases } from './cluster/database-handle.ts';
import { openLocalStorage } from './storage/index.ts';
import { createAwsStorage } from './storage/aws/index.ts';
import type { Storage } from './storage/protocol.ts';
import { fail, isFactumError } from './util/errors.ts';
import { ActiveIons } from './ions/active-ions.ts';
import { Deployer } from './ions/deployer.ts';
import { IonService } from './ions/ion-service.ts';
import { loadRevision, type HostSettings } from './ions/load-revision.ts';

export { readNodeSettings, type NodeSettings } from './server/settings.ts';

export interface RunningNode {
  readonly endpoint: string;
  readonly settings: NodeSettings;
  readonly keys: AccessKeyStore;
  /** The admin key's file (local storage only). */
  readonly keyFile: string | null;
  readonly server: NodeServer;
  /** Drains and stops the node (what SIGTERM does). */
  stop(): Promise<void>;
}

function openAccessKeyStore(settings: NodeSettings): Promise<AccessKeyStore> | AccessKeyStore {
  return settings.storage.kind === 'local'
    ? openLocalKeyStore(settings.storage.dir, settings.system)
    : openS3KeyStore(settings.storage.config, { system: settings.system, accessPrefix: settings.accessPrefix });
}

async function openStorage(settings: NodeSettings): Promise<Storage> {
  return settings.storage.kind === 'local' ? openLocalStorage(settings.storage.dir) : createAwsStorage(settings.storage.config);
}

/** Starts a node; resolves once it is ready (storage open, keys loaded, every database caught up). */
export async function startNode(settings: NodeSettings, output?: NodeJS.WritableStream): Promise<RunningNode> {
  // Logs and metrics (EMF) are lines on stdout, which the CloudWatch agent ships, unless `output` is given.
  const log = createLogger({ level: settings.logLevel, ...(output === undefined ? {} : { destination: output }), base: { system: settings.system, group: settings.group, role: settings.role, node: hostname() } });
  const metrics = createMetrics({ dimensions: { system: settings.system, group: settings.group }, ...(output === undefined ? {} : { emit: (line: string) => void output.write(line + '\n') }) });
  const storage = await openStorage(settings);
  // The main thread and each query thread keep their equal part of the segment memory.
  const cacheBytesMax = splitCacheBytes(settings.cache.cacheBytesMax ?? DEFAULT_CACHE_BYTES_MAX, settings.queryThreads);
  // Transaction functions deployed as ions are expanded by the leader's transactor (the ions
  // themselves are set up below, once the node's keys and db references are).
  const transactorOptions: TransactorOptions = {
    indexing: { worker: settings.storage.kind === 'local', ...settings.cache, cacheBytesMax },
    expandTxData: (db, txData, logName) => ions.active.expand(db, txData, logName),
  };
  const system = new System(storage, transactorOptions);
  const keys = await openAccessKeyStore(settings);
  const admin = await keys.ensureAdminKey();
  // The key the ions this node runs call it with: every database, nothing of an admin's; made
  // now, known only to this process and its ion thread.
  const ionKey: AccessKey = { keyId: `ions-${randomBytes(8).toString('hex')}`, secret: randomBytes(32).toString('base64url'), permission: 'ions', database: null };
  const keyCache = new KeyCache(keys, (error) => log.warn({ event: 'access-keys/reload-failed', error: String(error) }, 'could not reload access keys; the ones loaded before stay in use'));
  await keyCache.reload();
  const reloadKeys = (): Promise<void> => keyCache.reload();

  // `with` tokens are sealed under a key every node derives from the system's admin key, so a
  // token one node made verifies on any other.
  const sharedSecret = Buffer.from(admin.secret, 'base64url');
  const refs = new DbRefs(sharedSecret);
  // Queries run on these threads, so that one computing never keeps the node from answering.
  const queries =
    settings.queryThreads === 0
      ? null
      : new QueryPool({
          threads: settings.queryThreads,
          // Every admitted read may be a query: spread over the threads, none waits for a place on one.
          queriesPerThreadMax: Math.ceil(settings.readsMax / settings.queryThreads),
          storage,
          indexing: { ...settings.cache, cacheBytesMax },
          sharedSecret,
          log,
        });
  // On shared storage (aws) the node is one of a group: each database's transactor is whichever
  // node holds its lease; the others follow it and forward transactions to it. A local directory
  // is one process's (its lock), so that node is every database's transactor.
  const cluster =
    settings.storage.kind === 'aws'
      ? new Cluster(system, storage, { system: settings.system, nodeId: settings.nodeId, role: settings.role, leasePeriodMs: settings.leasePeriodMs, transactor: transactorOptions }, () => Promise.resolve(admin), log, {
          onLeading: (name, leader) => observer.watch(name, leader),
          onFollowing: (name) => observer.forget(name),
          onNoveltyLag: (_name, lagMs) => metrics.timing('NoveltyLag', lagMs),
        })
      : null;
  const databases: Databases = cluster ?? system;
  const observer = new NodeObserver(log, metrics);
  const ions = nodeIons(settings, storage, system, refs, log, metrics);
  const server = await startNodeServer({
    system: settings.system,
    host: settings.host,
    port: settings.port,
    lookupKey: (keyId) => (keyId === ionKey.keyId ? ionKey : keyCache.lookup(keyId)),
    reloadKeys: () => keyCache.reloadForUnknown(),
    readsMax: settings.readsMax,
    queueMax: settings.queueMax,
    requestBytesMax: settings.requestBytesMax,
    observers: { log, metrics },
    health: { role: settings.role, system: settings.system, group: settings.group },
    ionHttp: { handler: () => ions.active.httpHandler() },
    context: {
      system: databases,
      cluster,
      refs,
      queries,
      ions: ions.service,
      queryTimeoutMs: settings.queryTimeoutMs,
      onTransaction: (database, t, datoms, ms, duplicate) => observer.transaction(database, t, datoms, ms, duplicate),
      onCreated: async (name) => {
        if (cluster === null) observer.watch(name, await system.connect(name));
        const existing = (await keys.list()).filter((key) => key.database === name);
        if (!existing.some((key) => key.permission === 'read-write')) await keys.create('read-write', name);
        if (!existing.some((key) => key.permission === 'read-only')) await keys.create('read-only', name);
        await reloadKeys();
      },
      onDeleted: async (name) => {
        observer.forget(name);
        await keys.deleteDatabaseKeys(name);
        await reloadKeys();
      },
    },
  });
  // Every database of the system is opened before the node says it is ready.
  if (cluster !== null) await cluster.start(settings.internalEndpoint ?? internalEndpointOf(settings, server.endpoint));
  for (const name of cluster === null ? await system.listDatabases() : []) {
    const started = Date.now();
    const transactor = await system.connect(name);
    observer.watch(name, transactor);
    log.info({ event: 'database/opened', database: name, basisT: transactor.db().basisT, ms: Date.now() - started });
  }
  // The group's ion revision, loaded before the node says it is ready (its calls reach the
  // databases through this node's own endpoint, with the node's ion key).
  await ions.start({ endpoint: server.endpoint, system: settings.system, accessKey: { keyId: ionKey.keyId, secret: ionKey.secret } });
  server.ready();
  const keyFile = settings.storage.kind === 'local' ? path.resolve(settings.storage.dir, 'access', 'admin', `${admin.keyId}.json`) : null;
  log.info({ event: 'node/started', endpoint: server.endpoint, storage: settings.storage.kind, port: settings.port });
  let stopping: Promise<void> | null = null;
  return {
    endpoint: server.endpoint,
    settings,
    keys,
    keyFile,
    server,
    stop: () =>
      (stopping ??= (async () => {
        log.info({ event: 'node/stopping' });
        keyCache.stop();
        // Leases first: the other primary nodes take this node's databases over while it drains.
        await cluster?.stopLeading();
        await ions.deployer.stop();
        await server.drain(settings.drainMs);
        await ions.active.close();
        await queries?.close();
        await cluster?.close();
        await system.close();
        await keys.close();
        observer.stop();
        metrics.stop();
        log.info({ event: 'node/stopped' });
      })()),
  };
}

interface NodeIons {
  readonly active: ActiveIons;
  readonly deployer: Deployer;
  readonly service: IonService;
  start(client: HostSettings['client']): Promise<void>;
}

/**
 * The node's ions: the revision it runs (ActiveIons), the deployer that moves it onto its group's
 * deployed revision, and the ion operations. `start` loads the group's revision.
 */
function nodeIons(settings: NodeSettings, storage: Storage, system: System, refs: DbRefs, log: Logger, metrics: Metrics): NodeIons {
  let logNames = new Map<string, string>();
  const databaseOfLog = async (logName: string): Promise<string> => {
    if (!logNames.has(logName)) logNames = new Map([...(await system.databaseLogs())].map(([name, logOf]) => [logOf, name]));
    return logNames.get(logName) ?? fail('db/invalid-reference', `No database of this system has the log ${logName} any more (it was deleted).`, { log: logName });
  };
  const active = new ActiveIons(
    async (db, logName) => refs.lend(await databaseOfLog(logName), logName, db),
    (revision, error) => log.error({ event: 'ions/retire-failed', app: revision.app, rev: revision.rev, error: String(error) }, 'the thread of a replaced ion revision could not be stopped; it stays until the node restarts'),
  );
  let host: HostSettings | null = null;
  const deployer = new Deployer({
    storage,
    group: settings.group,
    nodeId: settings.nodeId,
    active,
    load: (app, rev) => loadRevision(storage, app, rev, host ?? fail('ion/unavailable', 'The node is still starting.', {})),
    log: (level, message, fields) => log[level]({ event: 'ions/deploy', ...fields }, message),
  });
  const service = new IonService({ storage, group: settings.group, active, deployer, onDeployed: (group) => void (group === settings.group && deployer.tick()) });
  const onCast = (kind: 'event' | 'alert' | 'metric', data: Readonly<Record<string, unknown>>): void => {
    const revision = active.revision;
    // An ion's metric: counted under its own name (the Name dimension).
    if (kind === 'metric') metrics.count('IonMetric', Number(data.value), { Name: String(data.name) });
    (kind === 'alert' ? log.warn.bind(log) : log.info.bind(log))({ event: `ions/${kind}`, app: revision?.app, rev: revision?.rev, data }, kind === 'alert' ? 'an ion raised an alert' : undefined);
  };
  return {
    active,
    deployer,
    service,
    async start(client: HostSettings['client']): Promise<void> {
      const { env, callTimeoutMs, syncTimeoutMs, memoryMb, paramsFile } = settings.ions;
      const region = settings.storage.kind === 'aws' ? settings.storage.config.region : 'local';
      host = { group: settings.group, env, params: paramsFile === null ? { kind: 'ssm', region } : { kind: 'file', path: paramsFile }, client, callTimeoutMs, syncTimeoutMs, memoryMb, onCast };
      await deployer.start();
    },
  };
}

/** Where the other nodes reach this one when FACTUM_INTERNAL_ENDPOINT does not say: the bound port on the host's first private IPv4 address (or the bound host, when it is a specific one). */
function internalEndpointOf(settings: NodeSettings, endpoint: string): string {
  const port = new URL(endpoint).port;
  if (settings.host !== '0.0.0.0' && settings.host !== '::') return `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  const address = Object.values(networkInterfaces())
    .flat()
    .find((info) => info !== undefined && info.family === 'IPv4' && !info.internal)?.address;
  if (address === undefined) {
    console.error(`factum node: no private IPv4 address found; other nodes will be told to reach this one at 127.0.0.1:${port}, which works only when they all run on this machine. Set FACTUM_INTERNAL_ENDPOINT.`);
  }
  return `http://${address ?? '127.0.0.1'}:${port}`;
}

async function main(environment: Environment): Promise<void> {
  const settings = readNodeSettings(environment);
  const node = await startNode(settings);
  const stop = (signal: string): void => {
    node.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`factum node: stopping after ${signal} failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/** True when this module is the process's entry point (also through a symlinked release dir). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  return script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
}

if (isEntryPoint()) {
  main(process.env).catch((error: unknown) => {
    // One line per problem, for the operator reading journalctl.
    console.error(isFactumError(error) ? `factum node: cannot start:\n${error.message}` : `factum node: cannot start: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  });
}
