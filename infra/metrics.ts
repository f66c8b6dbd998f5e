//! The metrics contract between the node process and the dashboard and alarms. Nodes publish
//! these in CloudWatch embedded metric format (EMF) to the CloudWatch agent on
//! FACTUM_METRICS_ENDPOINT (`tcp://127.0.0.1:25888`), into the system's log group; CloudWatch
//! extracts the metrics, so nodes need no cloudwatch:PutMetricData and no monitoring endpoint.
//! Every EMF event names `LogGroupName: <FACTUM_LOG_GROUP>` in its `_aws` metadata: the node role
//! may write to that log group only.
//!
//!   metric               unit          statistic  dimension sets
//!   -------------------  ------------  ---------  ------------------------------------------
//!   MemoryUsedPercent    Percent       Maximum    [System, Group]
//!   RequestCount         Count         Sum        [System], [System, Group]
//!   RequestLatency       Milliseconds  p50, p99   [System, Group]
//!   TransactionCount     Count         Sum        [System]
//!   IndexingLagSeconds   Seconds       Maximum    [System]   age of the oldest unindexed transaction
//!   CacheHits            Count         Sum        [System, Level]   Level: memory | ssd | efs
//!   CacheMisses          Count         Sum        [System, Level]

export const metricsNamespace = 'Factum';

export const metricNames = {
  memoryUsedPercent: 'MemoryUsedPercent',
  requestCount: 'RequestCount',
  requestLatency: 'RequestLatency',
  transactionCount: 'TransactionCount',
  indexingLagSeconds: 'IndexingLagSeconds',
  cacheHits: 'CacheHits',
  cacheMisses: 'CacheMisses',
} as const;

/** Cache levels in the order a read goes through them (S3 below them has no metric). */
export const cacheLevels = ['memory', 'ssd', 'efs'] as const;

/** Indexing lag that raises the alarm: novelty older than this means the indexer is stuck. */
export const indexingLagAlarmSeconds = 15 * 60;
