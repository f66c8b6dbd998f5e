//! I/O statistics of segment reads, per cache level, as Datomic's `:io-context` reports them.
//!
//! An `IoContext` accumulates, for each level it saw (`memory`, `directory`, `storage`, or a name
//! given to a level), hits (the level had the segment), misses (it asked the next level), bytes
//! served and milliseconds spent. The process has one context that sees everything
//! (`processIoStats`); a query passes its own to see only its reads.
export interface LevelStats {
  hits: number;
  misses: number;
  bytes: number;
  ms: number;
}

export type IoStats = Readonly<Record<string, Readonly<LevelStats>>>;

export class IoContext {
  private readonly levels = new Map<string, LevelStats>();

  constructor(readonly name = 'query') {}

  private level(name: string): LevelStats {
    let stats = this.levels.get(name);
    if (stats === undefined) {
      stats = { hits: 0, misses: 0, bytes: 0, ms: 0 };
      this.levels.set(name, stats);
    }
    return stats;
  }

  hit(level: string, bytes: number, ms: number): void {
    const stats = this.level(level);
    stats.hits++;
    stats.bytes += bytes;
    stats.ms += ms;
  }

  miss(level: string, ms: number): void {
    const stats = this.level(level);
    stats.misses++;
    stats.ms += ms;
  }

  /** A copy of the figures so far, by level. */
  snapshot(): IoStats {
    const out: Record<string, LevelStats> = {};
    for (const [name, stats] of this.levels) out[name] = { ...stats };
    return out;
  }

  reset(): void {
    this.levels.clear();
  }
}

/** Every segment read of this process. */
export const processIoStats = new IoContext('process');

/** Records in the process context and in the query's, if any. */
export interface IoRecorder {
  hit(level: string, bytes: number, ms: number): void;
  miss(level: string, ms: number): void;
}

export function recorderFor(context: IoContext | undefined): IoRecorder {
  if (context === undefined) return processIoStats;
  return {
    hit(level, bytes, ms) {
      processIoStats.hit(level, bytes, ms);
      context.hit(level, bytes, ms);
    },
    miss(level, ms) {
      processIoStats.miss(level, ms);
      context.miss(level, ms);
    },
  };
}
