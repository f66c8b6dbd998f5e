//! What a node tells its operators beyond requests: a log line per transaction and per index
//! run, and every 10 s the gauges and counts CloudWatch graphs (memory, indexing lag, segment
//! reads per cache level, as deltas of the process's ioStats).
import type { Logger } from './log.ts';
import type { CacheLevel, Metrics } from './metrics.ts';
import { recordProcessMemory } from './metrics.ts';
import { processIoStats } from '../cache/io-stats.ts';
import type { Transactor } from '../transactor/transactor.ts';

const SAMPLE_MS = 10_000;

/** The ioStats level names, as the metrics name them. */
const levelNames: Readonly<Record<string, CacheLevel>> = { memory: 'memory', directory: 'ssd', ssd: 'ssd', efs: 'efs', storage: 'storage' };

export class NodeObserver {
  private readonly transactors = new Map<string, Transactor>();
  private readonly timer: NodeJS.Timeout;
  private lastIo = processIoStats.snapshot();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  /** Starts watching a database's transactor (its index runs and lag). */
  watch(database: string, transactor: Transactor): void {
    if (this.transactors.get(database) === transactor) return;
    this.transactors.set(database, transactor);
    transactor.indexing?.background.onIndexed((root) => {
      this.log.info({ event: 'index-run', database, t: root.t, logPosition: root.logPosition });
    });
  }

  forget(database: string): void {
    this.transactors.delete(database);
  }

  transaction(database: string, t: number, datoms: number, ms: number, duplicate: boolean): void {
    this.metrics.count('Transactions', 1);
    this.metrics.timing('TransactionLatency', ms);
    this.log.info({ event: 'transaction', database, t, datoms, ms: Math.round(ms * 10) / 10, duplicate });
  }

  sample(): void {
    recordProcessMemory(this.metrics);
    let lag = 0;
    for (const transactor of this.transactors.values()) lag += transactor.indexing?.background.noveltyBytes ?? 0;
    this.metrics.gauge('IndexingLagBytes', lag);
    const io = processIoStats.snapshot();
    for (const [level, stats] of Object.entries(io)) {
      const before = this.lastIo[level] ?? { hits: 0, misses: 0 };
      const name = levelNames[level] ?? 'storage';
      if (stats.hits > before.hits) this.metrics.count('CacheHits', stats.hits - before.hits, { Level: name });
      if (stats.misses > before.misses) this.metrics.count('CacheMisses', stats.misses - before.misses, { Level: name });
    }
    this.lastIo = io;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
