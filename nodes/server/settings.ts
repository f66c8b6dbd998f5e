//! The node's settings, read from the environment the infrastructure writes (/etc/factum/node.env,
//! see docs/deploy.md) or that `factum serve` sets for a local system.
//!
//!   variable                   meaning                                            default
//!   -------------------------  -------------------------------------------------  ----------------
//!   FACTUM_SYSTEM              system name                                        required
//!   FACTUM_ROLE                `primary` or `query-group`                         required
//!   FACTUM_GROUP               compute group: `primary` or the query group's name the role
//!   FACTUM_STORAGE             `local` (a data directory) or `aws`                 aws
//!   FACTUM_DATA_DIR            the data directory of local storage                required if local
//!   FACTUM_PORT                HTTP port (0: any free port)                       8182
//!   FACTUM_HOST                address to bind                                    0.0.0.0
//!   FACTUM_ACCESS_PREFIX       key prefix of access keys in the bucket            access/
//!   FACTUM_SSD_CACHE_DIR       the SSD level of the segment cache                 none
//!   FACTUM_EFS_CACHE_DIR       the EFS level of the segment cache                 none
//!   FACTUM_CACHE_BYTES_MAX     bytes of decoded segments in memory                256 MiB
//!   FACTUM_NOVELTY_BYTES_MAX   novelty (bytes of datoms) that starts an index run 16 MiB
//!   FACTUM_READS_MAX           reads running at once; more wait in a queue        64
//!   FACTUM_QUEUE_MAX           requests waiting per kind of work; more get busy   1024
//!   FACTUM_REQUEST_BYTES_MAX   largest request body                               16 MiB
//!   FACTUM_QUERY_TIMEOUT_MS    the longest a query may run (its own timeout is    60000
//!                              capped by it)
//!   FACTUM_QUERY_THREADS       worker threads queries run on, off the main        cores - 1 (at least 1)
//!                              thread (0: on the main thread); they and the main
//!                              thread share FACTUM_CACHE_BYTES_MAX equally
//!   FACTUM_DRAIN_MS            on SIGTERM, how long in-flight requests may finish 25000
//!   FACTUM_LOG_LEVEL           pino level                                         info
//!   FACTUM_NODE_ID             this node's name among its system's nodes          host name, pid and a
//!                                                                                 random suffix
//!   FACTUM_INTERNAL_ENDPOINT   where the other nodes reach this one (forwarded    http://<first private
//!                              transactions, novelty)                             IPv4>:<port>
//!   FACTUM_LEASE_MS            the transactor lease's period (aws storage: nodes  5000
//!                              share databases; a dead transactor is replaced
//!                              within 2 periods + 1 s)
//!   FACTUM_ION_ENV             the ions' environment map (getEnv), a JSON object  {}
//!   FACTUM_ION_TIMEOUT_MS      the longest an ion's transaction function, HTTP    10000
//!                              handler or Lambda call may run
//!   FACTUM_ION_SYNC_TIMEOUT_MS the longest an ion's query function or xform call   1000
//!                              may run (it holds up the query that calls it)
//!   FACTUM_ION_MEMORY_MB       the heap of the thread an ion revision runs on     256
//!   FACTUM_ION_PARAMS_FILE     local storage: the JSON file getParams reads       <data dir>/ion-params.json
//!                              (aws: SSM Parameter Store, in AWS_REGION)
//!   AWS_REGION, FACTUM_TABLE, FACTUM_BUCKET, FACTUM_KMS_KEY and endpoint overrides: see
//!   nodes/storage/aws/config.ts.
//!
//! Every problem is reported, one line each (the variable, its value, what is expected), before
//! the node listens.
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';
import { awsStorageConfigFromEnvironment, type AwsStorageConfig } from '../storage/aws/index.ts';
import { FactumError } from '../util/errors.ts';

export type Environment = Readonly<Record<string, string | undefined>>;

export interface NodeSettings {
  readonly system: string;
  readonly role: 'primary' | 'query-group';
  readonly group: string;
  readonly port: number;
  readonly host: string;
  readonly storage: { readonly kind: 'local'; readonly dir: string } | { readonly kind: 'aws'; readonly config: AwsStorageConfig };
  readonly accessPrefix: string;
  /** The cache levels under memory: the SSD directory, then the EFS directory (IndexerOptions). */
  readonly cache: { readonly cacheDirectory?: string; readonly efsCacheDirectory?: string; readonly cacheBytesMax?: number; readonly noveltyBytesMax?: number };
  readonly readsMax: number;
  readonly queueMax: number;
  readonly requestBytesMax: number;
  readonly queryTimeoutMs: number;
  /** Worker threads queries (q, qseq) run on; 0: they run on the main thread. */
  readonly queryThreads: number;
  readonly drainMs: number;
  readonly logLevel: string;
  /** Unique among the system's nodes (lease records name their holder by it). */
  readonly nodeId: string;
  /** Where the other nodes reach this one; null: http://<first private IPv4 address>:<port bound>. */
  readonly internalEndpoint: string | null;
  readonly leasePeriodMs: number;
  readonly ions: {
    readonly env: Readonly<Record<string, unknown>>;
    readonly callTimeoutMs: number;
    readonly syncTimeoutMs: number;
    readonly memoryMb: number;
    /** Local storage: getParams' file; null on aws (SSM Parameter Store). */
    readonly paramsFile: string | null;
  };
}

const systemPattern = /^[a-z][a-z0-9-]{0,23}$/;
const levels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Reads the settings; throws one `node/invalid-config` error listing every problem, one per line. */
export function readNodeSettings(environment: Environment): NodeSettings {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = environment[name];
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number, what: string): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`${name} is ${JSON.stringify(raw)}: expected ${what} (an integer from ${min} to ${max}).`);
      return fallback;
    }
    return value;
  };

  const system = text('FACTUM_SYSTEM') ?? '';
  if (!systemPattern.test(system)) {
    problems.push(`FACTUM_SYSTEM is ${JSON.stringify(environment.FACTUM_SYSTEM ?? null)}: expected the system name (lower-case letters, digits and '-', starting with a letter, at most 24), e.g. FACTUM_SYSTEM=demo.`);
  }
  const role = text('FACTUM_ROLE') ?? '';
  if (role !== 'primary' && role !== 'query-group') {
    problems.push(`FACTUM_ROLE is ${JSON.stringify(environment.FACTUM_ROLE ?? null)}: expected primary or query-group.`);
  }
  const port = integer('FACTUM_PORT', 8182, 0, 65535, 'a port number');
  const storageKind = text('FACTUM_STORAGE') ?? 'aws';
  let storage: NodeSettings['storage'] = { kind: 'local', dir: '' };
  if (storageKind === 'local') {
    const dir = text('FACTUM_DATA_DIR');
    if (dir === undefined) problems.push('FACTUM_DATA_DIR is not set: local storage needs its data directory, e.g. FACTUM_DATA_DIR=./data.');
    storage = { kind: 'local', dir: dir ?? '' };
  } else if (storageKind === 'aws') {
    try {
      storage = { kind: 'aws', config: awsStorageConfigFromEnvironment(environment) };
    } catch (error) {
      problems.push(String((error as Error).message).replace(/^environment variable /, ''));
    }
  } else {
    problems.push(`FACTUM_STORAGE is ${JSON.stringify(storageKind)}: expected local or aws.`);
  }
  const accessPrefix = text('FACTUM_ACCESS_PREFIX') ?? 'access/';
  if (!/^[A-Za-z0-9_\-/]*\/$/.test(accessPrefix)) {
    problems.push(`FACTUM_ACCESS_PREFIX is ${JSON.stringify(accessPrefix)}: expected a key prefix of letters, digits, '-', '_' and '/', ending in '/'.`);
  }
  const logLevel = text('FACTUM_LOG_LEVEL') ?? 'info';
  if (!levels.has(logLevel)) problems.push(`FACTUM_LOG_LEVEL is ${JSON.stringify(logLevel)}: expected one of ${[...levels].join(', ')}.`);
  const cacheBytesMax = text('FACTUM_CACHE_BYTES_MAX') === undefined ? undefined : integer('FACTUM_CACHE_BYTES_MAX', 0, 1 << 20, Number.MAX_SAFE_INTEGER, 'bytes of memory for segments');
  const internalEndpoint = text('FACTUM_INTERNAL_ENDPOINT') ?? null;
  if (internalEndpoint !== null && !/^https?:\/\/[^/\s]+$/.test(internalEndpoint)) {
    problems.push(`FACTUM_INTERNAL_ENDPOINT is ${JSON.stringify(internalEndpoint)}: expected http://host:port (no path), the address other nodes reach this one at.`);
  }
  const nodeId = text('FACTUM_NODE_ID') ?? `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(nodeId)) problems.push(`FACTUM_NODE_ID is ${JSON.stringify(nodeId)}: expected 1 to 128 letters, digits, '.', '_' or '-'.`);
  const noveltyBytesMax = text('FACTUM_NOVELTY_BYTES_MAX') === undefined ? undefined : integer('FACTUM_NOVELTY_BYTES_MAX', 0, 1024, 1 << 30, 'bytes of novelty that start an index run');
  let ionEnv: Record<string, unknown> = {};
  const ionEnvText = text('FACTUM_ION_ENV');
  if (ionEnvText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(ionEnvText);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      ionEnv = parsed as Record<string, unknown>;
    } catch {
      problems.push(`FACTUM_ION_ENV is ${JSON.stringify(ionEnvText.slice(0, 80))}: expected a JSON object, the map ions read with getEnv(), e.g. FACTUM_ION_ENV='{"env":"prod"}'.`);
    }
  }
  const settings: NodeSettings = {
    system,
    role: role as NodeSettings['role'],
    group: text('FACTUM_GROUP') ?? role,
    port,
    host: text('FACTUM_HOST') ?? '0.0.0.0',
    storage,
    accessPrefix,
    cache: {
      ...(text('FACTUM_SSD_CACHE_DIR') === undefined ? {} : { cacheDirectory: text('FACTUM_SSD_CACHE_DIR') }),
      ...(text('FACTUM_EFS_CACHE_DIR') === undefined ? {} : { efsCacheDirectory: text('FACTUM_EFS_CACHE_DIR') }),
      ...(cacheBytesMax === undefined ? {} : { cacheBytesMax }),
      ...(noveltyBytesMax === undefined ? {} : { noveltyBytesMax }),
    },
    readsMax: integer('FACTUM_READS_MAX', 64, 1, 100_000, 'the number of reads run at once'),
    queueMax: integer('FACTUM_QUEUE_MAX', 1024, 0, 1_000_000, 'the number of requests that may wait per kind of work'),
    requestBytesMax: integer('FACTUM_REQUEST_BYTES_MAX', 16 << 20, 1024, 1 << 30, 'the largest request body in bytes'),
    queryTimeoutMs: integer('FACTUM_QUERY_TIMEOUT_MS', 60_000, 1, 3_600_000, 'milliseconds'),
    queryThreads: integer('FACTUM_QUERY_THREADS', Math.max(1, availableParallelism() - 1), 0, 1024, 'the number of threads queries run on (0: the main thread)'),
    drainMs: integer('FACTUM_DRAIN_MS', 25_000, 0, 600_000, 'milliseconds'),
    logLevel,
    nodeId,
    internalEndpoint,
    leasePeriodMs: integer('FACTUM_LEASE_MS', 5000, 200, 600_000, 'the transactor lease period in milliseconds'),
    ions: {
      env: ionEnv,
      callTimeoutMs: integer('FACTUM_ION_TIMEOUT_MS', 10_000, 10, 900_000, 'milliseconds an ion call may run'),
      syncTimeoutMs: integer('FACTUM_ION_SYNC_TIMEOUT_MS', 1000, 10, 60_000, 'milliseconds an ion query function call may run'),
      memoryMb: integer('FACTUM_ION_MEMORY_MB', 256, 16, 65_536, "megabytes of heap for the ions' thread"),
      paramsFile: storage.kind === 'local' ? (text('FACTUM_ION_PARAMS_FILE') ?? `${storage.dir.replace(/\/$/, '')}/ion-params.json`) : null,
    },
  };
  if (problems.length > 0) {
    throw new FactumError('node/invalid-config', problems.join('\n'), { problems });
  }
  return settings;
}
