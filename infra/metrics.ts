//! The metrics contract between the node process and the dashboard and alarms. Nodes publish
//! these in CloudWatch embedded metric format (EMF, nodes/server/metrics.ts, which owns the names
//! and the namespace): JSON lines on stdout, appended to /var/log/factum/node.log, which the
//! CloudWatch agent ships to the system's log group, where CloudWatch extracts the metrics. So
//! nodes need no cloudwatch:PutMetricData and no monitoring endpoint. (The agent also listens for
//! EMF on FACTUM_METRICS_ENDPOINT, `tcp://127.0.0.1:25888`; lines sent there name
//! `LogGroupName: <FACTUM_LOG_GROUP>` in their `_aws` metadata.)
//!
//! Every value carries System and Group; each line rolls up to [System, Group] and [System], and a
//! value with an extra dimension also to [System, Group, X] and [System, X].
//!
//!   metric               unit          kind    extra dimension        dashboard / alarm
//!   -------------------  ------------  ------  ---------------------  -------------------------
//!   Requests             Count         count   Operation              Sum by group
//!   RequestLatency       Milliseconds  timing  Operation              p99 by group
//!   Errors               Count         count   Category (anomaly)     Sum by category
//!   BusyRefusals         Count         count   -                      Sum by group
//!   Transactions         Count         count   -                      Sum
//!   TransactionLatency   Milliseconds  timing  -                      p99
//!   NoveltyLag           Milliseconds  timing  -                      p99 by group (a follower's
//!                                                                     lag behind the transactor)
//!   IndexingLagBytes     Bytes         gauge   -                      Maximum; alarm
//!   CacheHits            Count         count   Level                  hit rate per level
//!   CacheMisses          Count         count   Level
//!   MemoryRssBytes       Bytes         gauge   -                      Maximum by group
//!   MemoryHeapUsedBytes  Bytes         gauge   -

import { cacheLevels as nodeCacheLevels, metricsNamespace as nodeMetricsNamespace, type MetricName } from '../nodes/server/metrics.ts';

export const metricsNamespace = nodeMetricsNamespace;

export const metricNames = {
  requests: 'Requests',
  requestLatency: 'RequestLatency',
  errors: 'Errors',
  busyRefusals: 'BusyRefusals',
  transactions: 'Transactions',
  transactionLatency: 'TransactionLatency',
  noveltyLag: 'NoveltyLag',
  indexingLagBytes: 'IndexingLagBytes',
  cacheHits: 'CacheHits',
  cacheMisses: 'CacheMisses',
  memoryRssBytes: 'MemoryRssBytes',
  memoryHeapUsedBytes: 'MemoryHeapUsedBytes',
} as const satisfies Record<string, MetricName>;

/** Cache levels with a hit rate on the dashboard: those above storage (S3 is where a miss ends). */
export const cacheLevels = nodeCacheLevels.filter((level) => level !== 'storage');

/**
 * Novelty that raises the alarm when it stays above this for 15 minutes: twice the novelty at which
 * an index run starts (BackgroundIndexer's noveltyBytesMax, 16 MiB by default), half the novelty at
 * which the transactor refuses transactions (backPressureBytes, 64 MiB). A healthy indexer brings
 * novelty back under the start threshold within a run; one that is stuck or failing lets it grow.
 */
export const indexingLagAlarmBytes = 32 * 1024 * 1024;

/** How long novelty must stay above `indexingLagAlarmBytes` before the alarm. */
export const indexingLagAlarmMinutes = 15;
