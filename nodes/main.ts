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
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLocalKeyStore, openS3KeyStore, type AccessKeyStore } from './server/access-keys/index.ts';
import { createLogger } from './server/log.ts';
import { createMetrics } from './server/metrics.ts';
import { NodeObserver } from './server/observe.ts';
import { readNodeSettings, type Environment, type NodeSettings } from './server/settings.ts';
import { DbRefs } from './server/db-refs.ts';
import { KeyCache } from './server/key-cache.ts';
import { startNodeServer, type NodeServer } from './server/server.ts';
import { System } from './transactor/system.ts';
import { openLocalStorage } from './storage/index.ts';
import { createAwsStorage } from './storage/aws/index.ts';
import type { Storage } from './storage/protocol.ts';
import { isFactumError } from './util/errors.ts';

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
  const system = new System(storage, { indexing: { worker: settings.storage.kind === 'local', ...settings.cache } });
  const keys = await openAccessKeyStore(settings);
  const admin = await keys.ensureAdminKey();
  const keyCache = new KeyCache(keys, (error) => log.warn({ event: 'access-keys/reload-failed', error: String(error) }, 'could not reload access keys; the ones loaded before stay in use'));
  await keyCache.reload();
  const reloadKeys = (): Promise<void> => keyCache.reload();

  const refs = new DbRefs();
  const observer = new NodeObserver(log, metrics);
  const server = await startNodeServer({
    system: settings.system,
    host: settings.host,
    port: settings.port,
    lookupKey: (keyId) => keyCache.lookup(keyId),
    readsMax: settings.readsMax,
    queueMax: settings.queueMax,
    requestBytesMax: settings.requestBytesMax,
    observers: { log, metrics },
    health: { role: settings.role, system: settings.system, group: settings.group },
    context: {
      system,
      refs,
      queryTimeoutMs: settings.queryTimeoutMs,
      onTransaction: (database, t, datoms, ms, duplicate) => observer.transaction(database, t, datoms, ms, duplicate),
      onCreated: async (name) => {
        observer.watch(name, await system.connect(name));
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
  for (const name of await system.listDatabases()) {
    const started = Date.now();
    const transactor = await system.connect(name);
    observer.watch(name, transactor);
    log.info({ event: 'database/opened', database: name, basisT: transactor.db().basisT, ms: Date.now() - started });
  }
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
        await server.drain(settings.drainMs);
        await system.close();
        await keys.close();
        observer.stop();
        metrics.stop();
        log.info({ event: 'node/stopped' });
      })()),
  };
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
