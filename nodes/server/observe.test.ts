import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { processIoStats } from '../cache/io-stats.ts';
import { createLogger } from './log.ts';
import { createMetrics } from './metrics.ts';
import { NodeObserver } from './observe.ts';

describe('NodeObserver', () => {
  it('logs each transaction and emits segment reads per cache level as deltas, with memory and lag', () => {
    const output = new PassThrough();
    const lines: string[] = [];
    output.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const emitted: string[] = [];
    const metrics = createMetrics({ dimensions: { system: 'demo', group: 'primary' }, emit: (line) => emitted.push(line), intervalMs: 0 });
    const observer = new NodeObserver(createLogger({ destination: output, base: { system: 'demo', group: 'primary', role: 'primary' } }), metrics);
    observer.sample(); // the baseline: reads before it are not counted again
    processIoStats.hit('directory', 100, 1);
    processIoStats.hit('directory', 100, 1);
    processIoStats.miss('efs', 1);
    observer.transaction('shop', 7, 12, 3.25, false);
    observer.stop();
    metrics.flush();
    const document = JSON.parse(emitted.join('\n').split('\n').find((line) => line.includes('CacheHits'))!) as Record<string, unknown>;
    expect(document.CacheHits).toBe(2);
    expect(document.Level).toBe('ssd');
    const all = emitted.join('\n');
    expect(all).toContain('"CacheMisses"');
    expect(all).toContain('MemoryRssBytes');
    expect(all).toContain('IndexingLagBytes');
    expect(all).toContain('"Transactions"');
    const transaction = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.event === 'transaction');
    expect(transaction).toMatchObject({ database: 'shop', t: 7, datoms: 12, duplicate: false });
  });
});
