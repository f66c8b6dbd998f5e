import { afterEach, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../util/random.ts';
import { createMetrics, metricsNamespace, recordProcessMemory, valuesMax, type Metrics, type MetricsOptions } from './metrics.ts';

const timestamp = Date.UTC(2026, 10, 23, 12, 0, 0);

function collect(options: Partial<MetricsOptions> = {}): { metrics: Metrics; lines: string[]; documents: () => Record<string, any>[] } {
  const lines: string[] = [];
  const metrics = createMetrics({ dimensions: { system: 'demo', group: 'primary' }, emit: (line) => lines.push(line), intervalMs: 0, now: () => timestamp, ...options });
  return { metrics, lines, documents: () => lines.map((line) => JSON.parse(line)) };
}

/** Checks one document against the EMF specification's structure and returns its directive. */
function expectValidEmf(document: Record<string, any>): { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] } {
  expect(Object.keys(document._aws).filter((key) => key !== 'LogGroupName').sort()).toEqual(['CloudWatchMetrics', 'Timestamp']);
  expect(Number.isInteger(document._aws.Timestamp)).toBe(true);
  expect(document._aws.CloudWatchMetrics).toHaveLength(1);
  const directive = document._aws.CloudWatchMetrics[0];
  expect(typeof directive.Namespace).toBe('string');
  expect(directive.Dimensions.length).toBeGreaterThan(0);
  for (const set of directive.Dimensions) {
    expect(set.length).toBeLessThanOrEqual(30);
    for (const name of set) expect(typeof document[name]).toBe('string');
  }
  expect(directive.Metrics.length).toBeGreaterThan(0);
  expect(directive.Metrics.length).toBeLessThanOrEqual(100);
  for (const metric of directive.Metrics) {
    const value = document[metric.Name];
    const values = Array.isArray(value) ? value : [value];
    expect(values.length).toBeGreaterThan(0);
    expect(values.length).toBeLessThanOrEqual(100);
    for (const number of values) expect(Number.isFinite(number)).toBe(true);
    expect(['Count', 'Milliseconds', 'Bytes']).toContain(metric.Unit);
  }
  return directive;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createMetrics', () => {
  it('emits nothing when nothing was recorded', () => {
    const { metrics, lines } = collect();
    metrics.flush();
    metrics.stop();
    expect(lines).toEqual([]);
  });

  it('aggregates counts, timings and gauges into one valid EMF line per dimension combination', () => {
    const { metrics, documents } = collect({ logGroupName: '/factum/demo' });
    for (let index = 0; index < 1000; index++) {
      metrics.count('Requests', 1, { Operation: 'q' });
      metrics.timing('RequestLatency', index % 7, { Operation: 'q' });
    }
    metrics.count('Requests', 2, { Operation: 'transact' });
    metrics.count('Transactions', 2);
    metrics.timing('TransactionLatency', 12.5);
    metrics.gauge('IndexingLagBytes', 4096);
    metrics.gauge('IndexingLagBytes', 1024);
    metrics.count('CacheHits', 5, { Level: 'memory' });
    metrics.count('CacheMisses', 1, { Level: 'memory' });
    metrics.count('Errors', 1, { Category: 'busy' });
    metrics.flush();

    const all = documents();
    expect(all).toHaveLength(5);
    for (const document of all) {
      const directive = expectValidEmf(document);
      expect(directive.Namespace).toBe(metricsNamespace);
      expect(document._aws.Timestamp).toBe(timestamp);
      expect(document._aws.LogGroupName).toBe('/factum/demo');
      expect(document).toMatchObject({ event: 'metrics', System: 'demo', Group: 'primary' });
    }
    const query = all.find((document) => document.Operation === 'q')!;
    expect(query.Requests).toBe(1000);
    expect(query.RequestLatency).toHaveLength(valuesMax);
    expect(query._aws.CloudWatchMetrics[0].Dimensions).toEqual([['System', 'Group', 'Operation'], ['System', 'Operation'], ['System', 'Group'], ['System']]);
    expect(query._aws.CloudWatchMetrics[0].Metrics).toEqual([
      { Name: 'Requests', Unit: 'Count' },
      { Name: 'RequestLatency', Unit: 'Milliseconds' },
    ]);
    expect(all.find((document) => document.Operation === 'transact')).toMatchObject({ Requests: 2 });
    const plain = all.find((document) => document.Transactions !== undefined)!;
    expect(plain).toMatchObject({ Transactions: 2, TransactionLatency: 12.5, IndexingLagBytes: 1024 });
    expect(plain._aws.CloudWatchMetrics[0].Dimensions).toEqual([['System', 'Group'], ['System']]);
    expect(plain._aws.CloudWatchMetrics[0].Metrics).toContainEqual({ Name: 'IndexingLagBytes', Unit: 'Bytes' });
    expect(all.find((document) => document.Level === 'memory')).toMatchObject({ CacheHits: 5, CacheMisses: 1 });
    expect(all.find((document) => document.Category === 'busy')).toMatchObject({ Errors: 1 });
  });

  it('starts afresh after a flush', () => {
    const { metrics, documents } = collect();
    metrics.count('BusyRefusals');
    metrics.flush();
    metrics.flush();
    metrics.count('BusyRefusals', 3);
    metrics.stop();
    expect(documents().map((document) => document.BusyRefusals)).toEqual([1, 3]);
  });

  it('keeps a uniform sample of the timings beyond 100 values', () => {
    const { metrics, documents } = collect({ random: seededRandom(7) });
    for (let index = 0; index < 10_000; index++) metrics.timing('RequestLatency', index);
    metrics.flush();
    const values: number[] = documents()[0]!.RequestLatency;
    expect(values).toHaveLength(100);
    // A sample of 10 000 values, not the first 100: about half of it is above the median.
    const above = values.filter((value) => value >= 5000).length;
    expect(above).toBeGreaterThan(30);
    expect(above).toBeLessThan(70);
  });

  it('flushes on its interval, and stop() emits what is left', () => {
    vi.useFakeTimers();
    const lines: string[] = [];
    const metrics = createMetrics({ dimensions: { system: 'demo', group: 'analytics' }, emit: (line) => lines.push(line) });
    metrics.count('Requests', 1, { Operation: 'pull' });
    vi.advanceTimersByTime(59_999);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(1);
    metrics.count('Requests', 1, { Operation: 'pull' });
    metrics.stop();
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(120_000);
    expect(lines).toHaveLength(2);
    expectValidEmf(JSON.parse(lines[1]!));
  });

  it('writes to stdout by default', () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const metrics = createMetrics({ dimensions: { system: 'demo', group: 'primary' }, intervalMs: 0 });
      recordProcessMemory(metrics, { rss: 100, heapUsed: 50, heapTotal: 60, external: 0, arrayBuffers: 0 });
      metrics.flush();
      expect(write).toHaveBeenCalledTimes(1);
      const line = String(write.mock.calls[0]![0]);
      expect(line.endsWith('}\n')).toBe(true);
      expect(JSON.parse(line)).toMatchObject({ MemoryRssBytes: 100, MemoryHeapUsedBytes: 50 });
    } finally {
      write.mockRestore();
    }
  });

  it('refuses values and dimensions CloudWatch would drop the line for', () => {
    const { metrics } = collect();
    expect(() => metrics.count('Requests', Number.NaN)).toThrow(/not a finite number/);
    expect(() => metrics.timing('RequestLatency', 1, { System: 'other' })).toThrow(/reserved/);
    expect(() => metrics.count('Requests', 1, { Operation: '' })).toThrow(/1 to 1024/);
  });
});
