//! The node's metrics, in CloudWatch embedded metric format (EMF): JSON lines that CloudWatch Logs
//! turns into metrics when they reach the system's log group (stdout → node.log → the CloudWatch
//! agent, or the agent's EMF listener). No cloudwatch:PutMetricData, no monitoring endpoint.
//!
//! Values are aggregated between flushes (every `intervalMs`, default a minute), so a busy node
//! writes one line per dimension combination a minute, not one per request:
//!
//!   kind     API                          aggregated as                      EMF value
//!   -------  ---------------------------  ---------------------------------  -----------------------
//!   count    count(name, n, dimensions)   sum                                one number
//!   timing   timing(name, ms, dimensions) up to 100 values; beyond that a    array of ≤ 100 numbers
//!                                         uniform sample of 100 (reservoir)
//!   gauge    gauge(name, value, dims)     last value                         one number
//!
//! One line holds the metrics recorded with the same extra dimensions, and declares four dimension
//! sets so that CloudWatch also rolls them up: [System, Group, …extra], [System, …extra],
//! [System, Group] and [System] (just the last two without extra dimensions). Requests by
//! Operation therefore also give requests per group and per system. A metric must always be
//! recorded with the same extra dimension names, or the roll-ups count it twice.
//!
//!   {"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Factum",
//!     "Dimensions":[["System","Group","Operation"],["System","Operation"],["System","Group"],["System"]],
//!     "Metrics":[{"Name":"Requests","Unit":"Count"},{"Name":"RequestLatency","Unit":"Milliseconds"}]}]},
//!    "event":"metrics","System":"demo","Group":"primary","Operation":"q","Requests":812,"RequestLatency":[3,2,…]}
//!
//! Why not @aws-lambda-powertools/metrics: it does run outside Lambda (no context or cold-start
//! metric needed), but (1) it writes through its own Console on process.stdout, with no way to
//! hand a line to another sink or to a test; (2) a flush has one dimension set for all its metrics,
//! so Requests by Operation and CacheHits by Level need one instance or flush per combination;
//! (3) it keeps one array entry per recorded value and flushes by itself at 100, a line per 100
//! requests; (4) it adds a `service` dimension (`service_undefined` unless named) to every set and
//! warns on stderr when a flush has nothing. The format is small and documented
//! (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
//! so this module writes it.

import { AssertionError } from '../util/assert.ts';

/** The CloudWatch namespace of every factum metric (the dashboard and alarms read it, infra/metrics.ts). */
export const metricsNamespace = 'Factum';

/** The metrics a node records, by kind. Names are the contract with infra/metrics.ts. */
export const countMetrics = ['Requests', 'Errors', 'Transactions', 'CacheHits', 'CacheMisses', 'BusyRefusals', 'IonMetric'] as const;
export const timingMetrics = ['RequestLatency', 'TransactionLatency', 'NoveltyLag'] as const;
export const gaugeMetrics = ['IndexingLagBytes', 'MemoryRssBytes', 'MemoryHeapUsedBytes'] as const;

export type CountMetric = (typeof countMetrics)[number];
export type TimingMetric = (typeof timingMetrics)[number];
export type GaugeMetric = (typeof gaugeMetrics)[number];
export type MetricName = CountMetric | TimingMetric | GaugeMetric;

/** Cache levels a segment read goes through, top to bottom (`storage`: S3 itself). */
export const cacheLevels = ['memory', 'ssd', 'efs', 'storage'] as const;
export type CacheLevel = (typeof cacheLevels)[number];

/** EMF units (a subset of CloudWatch's). */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes';

const gaugeUnits: Readonly<Record<GaugeMetric, MetricUnit>> = {
  IndexingLagBytes: 'Bytes',
  MemoryRssBytes: 'Bytes',
  MemoryHeapUsedBytes: 'Bytes',
};

/** Extra dimensions of one value: `{ Operation: 'q' }`, `{ Category: 'busy' }`, `{ Level: 'ssd' }`. */
export type Dimensions = Readonly<Record<string, string>>;

export interface MetricsOptions {
  /** @default 'Factum' (metricsNamespace) */
  readonly namespace?: string;
  /** Dimensions of every value: the system's name and the compute group's. */
  readonly dimensions: { readonly system: string; readonly group: string };
  /** Receives each EMF line, without its newline. @default - writes the line and a newline to stdout */
  readonly emit?: (line: string) => void;
  /** Time between flushes; 0 flushes only when asked. @default 60000 */
  readonly intervalMs?: number;
  /**
   * The log group the CloudWatch agent's EMF listener should put lines in (`_aws.LogGroupName`).
   * @default - none: the lines go wherever the stream that carries them goes
   */
  readonly logGroupName?: string;
  /** The clock of the EMF Timestamp (ms since the epoch). @default Date.now */
  readonly now?: () => number;
  /** Picks the timing values kept beyond 100, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

export interface Metrics {
  /** Adds `value` (default 1) to a count. */
  count(name: CountMetric, value?: number, dimensions?: Dimensions): void;
  /** Records one duration in milliseconds. */
  timing(name: TimingMetric, milliseconds: number, dimensions?: Dimensions): void;
  /** Sets a gauge; the last value before a flush is the one emitted. */
  gauge(name: GaugeMetric, value: number, dimensions?: Dimensions): void;
  /** Emits everything recorded since the last flush (nothing if nothing was recorded). */
  flush(): void;
  /** Stops the timer and flushes. Recording afterwards is allowed; only `flush()` emits it. */
  stop(): void;
}

/** EMF allows at most 100 values per metric in one document. */
export const valuesMax = 100;

interface Series {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  sum: number;
  values: number[];
  seen: number;
}

interface Group {
  readonly dimensions: Dimensions;
  readonly series: Map<MetricName, Series>;
}

const dimensionNamePattern = /^[A-Za-z][A-Za-z0-9_]{0,254}$/;
const reservedNames = new Set<string>(['System', 'Group', 'event', '_aws', ...countMetrics, ...timingMetrics, ...gaugeMetrics]);

/**
 * Creates the node's metrics and starts its flush timer (unreferenced: it never keeps the process
 * alive). Call `stop()` on shutdown to emit the last values.
 *
 * @example
 * const metrics = createMetrics({ dimensions: { system: 'demo', group: 'primary' }, logGroupName: '/factum/demo' });
 * metrics.count('Requests', 1, { Operation: 'q' });
 * metrics.timing('RequestLatency', 3.2, { Operation: 'q' });
 * metrics.gauge('IndexingLagBytes', indexer.noveltyBytes);
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const namespace = options.namespace ?? metricsNamespace;
  const emit = options.emit ?? ((line: string) => void process.stdout.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const base = { System: options.dimensions.system, Group: options.dimensions.group };
  let groups = new Map<string, Group>();

  const seriesOf = (name: MetricName, unit: MetricUnit, dimensions: Dimensions | undefined): Series => {
    const key = groupKey(dimensions);
    let group = groups.get(key);
    if (group === undefined) {
      group = { dimensions: checkDimensions(dimensions ?? {}), series: new Map() };
      groups.set(key, group);
    }
    let series = group.series.get(name);
    if (series === undefined) {
      series = { name, unit, sum: 0, values: [], seen: 0 };
      group.series.set(name, series);
    }
    return series;
  };

  const flush = (): void => {
    if (groups.size === 0) return;
    const flushed = groups;
    groups = new Map();
    const timestamp = now();
    for (const group of flushed.values()) {
      emit(JSON.stringify(emfDocument(namespace, options.logGroupName, timestamp, base, group)));
    }
  };

  const intervalMs = options.intervalMs ?? 60_000;
  const timer = intervalMs > 0 ? setInterval(flush, intervalMs) : null;
  timer?.unref();

  return {
    count(name, value = 1, dimensions) {
      checkValue(name, value);
      seriesOf(name, 'Count', dimensions).sum += value;
    },
    timing(name, milliseconds, dimensions) {
      checkValue(name, milliseconds);
      const series = seriesOf(name, 'Milliseconds', dimensions);
      series.seen += 1;
      if (series.values.length < valuesMax) {
        series.values.push(milliseconds);
      } else {
        // Reservoir sampling (Algorithm R): every value seen so far is kept with equal chance.
        const slot = Math.floor(random() * series.seen);
        if (slot < valuesMax) series.values[slot] = milliseconds;
      }
    },
    gauge(name, value, dimensions) {
      checkValue(name, value);
      const series = seriesOf(name, gaugeUnits[name], dimensions);
      series.values = [value];
    },
    flush,
    stop() {
      if (timer !== null) clearInterval(timer);
      flush();
    },
  };
}

/** Records the process's memory as the MemoryRssBytes and MemoryHeapUsedBytes gauges. */
export function recordProcessMemory(metrics: Metrics, usage: NodeJS.MemoryUsage = process.memoryUsage()): void {
  metrics.gauge('MemoryRssBytes', usage.rss);
  metrics.gauge('MemoryHeapUsedBytes', usage.heapUsed);
}

function emfDocument(namespace: string, logGroupName: string | undefined, timestamp: number, base: Dimensions, group: Group): Record<string, unknown> {
  const extra = Object.keys(group.dimensions).sort();
  const dimensionSets = extra.length === 0 ? [['System', 'Group'], ['System']] : [['System', 'Group', ...extra], ['System', ...extra], ['System', 'Group'], ['System']];
  const metrics = [...group.series.values()];
  const values: Record<string, number | number[]> = {};
  for (const series of metrics) {
    values[series.name] = series.unit === 'Count' ? series.sum : series.values.length === 1 ? series.values[0]! : series.values;
  }
  return {
    _aws: {
      Timestamp: timestamp,
      ...(logGroupName === undefined ? {} : { LogGroupName: logGroupName }),
      CloudWatchMetrics: [{ Namespace: namespace, Dimensions: dimensionSets, Metrics: metrics.map((series) => ({ Name: series.name, Unit: series.unit })) }],
    },
    event: 'metrics',
    ...base,
    ...group.dimensions,
    ...values,
  };
}

/** The same extra dimensions, in any order, make the same line. */
function groupKey(dimensions: Dimensions | undefined): string {
  if (dimensions === undefined) return '';
  return JSON.stringify(Object.entries(dimensions).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0)));
}

/** A bad name or value is a bug in the caller: it would make CloudWatch drop the whole line. */
function checkDimensions(dimensions: Dimensions): Dimensions {
  const names = Object.keys(dimensions);
  if (names.length > 28) throw new AssertionError(`metrics: ${names.length} extra dimensions; CloudWatch allows 30 per set, System and Group included`);
  for (const name of names) {
    const value = dimensions[name];
    if (!dimensionNamePattern.test(name) || reservedNames.has(name)) throw new AssertionError(`metrics: dimension name ${JSON.stringify(name)} is invalid or reserved`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
      throw new AssertionError(`metrics: dimension ${name} has value ${JSON.stringify(value)}; expected 1 to 1024 characters`);
    }
  }
  return { ...dimensions };
}

function checkValue(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new AssertionError(`metrics: ${name} value ${String(value)} is not a finite number`);
}
