// Kill -9 a process in the middle of appending (from several concurrent submitters), swapping a
// record and writing segments, at seeded random moments; reopen and check that every
// acknowledged write is there, byte-exact, and that nothing partial is visible. Repeated on one
// directory, so each round also recovers from the previous one.
import { spawn } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../../nodes/storage/contract.ts';
import { seededRandom } from '../../nodes/storage/fault.ts';
import { openLocalStorage } from '../../nodes/storage/local/local-storage.ts';
import { decodeFrameHeader, encodeFrame, fileHeaderLength, frameHeaderLength } from '../../nodes/storage/local/log-frame.ts';
import { entryBytes, labelOf } from './crash-entries.ts';

const rounds = 20;

interface Acknowledged {
  readonly entries: Map<number, string>;
  readonly segments: Set<string>;
  recordVersion: number;
}

let workDirectory: string;
let childScript: string;

beforeAll(async () => {
  workDirectory = await mkdtemp(path.join(os.tmpdir(), 'factum-crash-'));
  childScript = path.join(workDirectory, 'append-child.mjs');
  // Bundled once so that each round starts a plain node process quickly.
  await build({
    entryPoints: [path.join(import.meta.dirname, 'append-child.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile: childScript,
    logLevel: 'silent',
  });
});

afterAll(async () => {
  await rm(workDirectory, { recursive: true, force: true });
});

/** Runs the child until it has printed `linesBeforeKill` acknowledgements (plus a short random wait), then kills it. */
async function runAndKill(directory: string, seed: number, acknowledged: Acknowledged, linesBeforeKill: number, extraWaitMs: number): Promise<void> {
  const child = spawn(process.execPath, [childScript, directory, String(seed), '4'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let lines = 0;
  const guard = setTimeout(() => child.kill('SIGKILL'), 15_000);
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, first, second] = line.split(' ');
    if (kind === 'ack') acknowledged.entries.set(Number(first), second);
    if (kind === 'segment') acknowledged.segments.add(first);
    if (kind === 'record') acknowledged.recordVersion = Math.max(acknowledged.recordVersion, Number(first));
    if (kind !== 'ready' && ++lines === linesBeforeKill) setTimeout(() => child.kill('SIGKILL'), extraWaitMs);
  }
  clearTimeout(guard);
  expect(await exited, `child stderr: ${stderr}`).toBe('SIGKILL');
}

/**
 * Simulates a power loss on top of the kill: bytes after the end of the last acknowledged frame
 * were never fsynced, so they may be cut off or read back as zeros. When the kill left nothing
 * after that frame (it depends on timing), a torn write is made instead: a prefix of the next
 * frame, which was never acknowledged. So every such round damages the tail. Returns what was done.
 */
async function loseUnsyncedTail(logPath: string, lastAcknowledged: number, random: () => number): Promise<string> {
  const handle = await open(logPath, 'r+');
  try {
    const size = (await handle.stat()).size;
    let end = fileHeaderLength;
    for (let position = 0; position <= lastAcknowledged; position++) {
      const header = Buffer.alloc(frameHeaderLength);
      await handle.read(header, 0, frameHeaderLength, end);
      end += frameHeaderLength + (decodeFrameHeader(header, 0)?.length ?? Number.NaN);
    }
    expect(end).toBeLessThanOrEqual(size);
    if (end === size) {
      const next = encodeFrame(lastAcknowledged + 1, entryBytes('torn'));
      const torn = 1 + Math.floor(random() * (next.length - 1));
      await handle.write(next, 0, torn, end);
      return `torn write of ${torn} of ${next.length} bytes at ${end}`;
    }
    const cut = end + 1 + Math.floor(random() * (size - end));
    if (random() < 0.5) {
      await handle.truncate(cut - 1);
      return `cut at ${cut - 1} of ${size}`;
    }
    await handle.write(Buffer.alloc(size - cut + 1), 0, size - cut + 1, cut - 1);
    return `zeroed from ${cut - 1} of ${size}`;
  } finally {
    await handle.close();
  }
}

async function checkRecovered(directory: string, acknowledged: Acknowledged): Promise<number> {
  const storage = await openLocalStorage(directory);
  try {
    const entries = await collect(storage.readLog('crash', 0));
    expect(entries.map((entry) => entry.position)).toEqual(entries.map((_, index) => index));
    expect(await storage.logLength('crash')).toBe(entries.length);
    const labels = entries.map((entry) => labelOf(entry.bytes));
    expect(labels.indexOf(null), 'an entry that is not a complete written entry').toBe(-1);
    for (const [position, label] of acknowledged.entries) expect(labels[position], `acknowledged position ${position}`).toBe(label);
    for (const label of acknowledged.segments) {
      expect(Buffer.compare((await storage.getSegment(`crash/${label}`)) ?? new Uint8Array(), entryBytes(label))).toBe(0);
    }
    for await (const key of storage.listSegments('crash/')) expect(await storage.getSegment(key)).not.toBeNull();
    const record = await storage.getRecord('counter');
    expect(record?.version ?? 0).toBeGreaterThanOrEqual(acknowledged.recordVersion);
    if (record !== null) expect(labelOf(record.bytes)).toBe(`record-${record.version}`);
    return entries.length;
  } finally {
    await storage.close();
  }
}

describe('local log under kill -9', () => {
  it(`keeps every acknowledged write over ${rounds} seeded kills`, async () => {
    const directory = path.join(workDirectory, 'storage');
    const random = seededRandom(20250611);
    const acknowledged: Acknowledged = { entries: new Map(), segments: new Set(), recordVersion: 0 };
    let length = 0;
    const damage: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const linesBeforeKill = 1 + Math.floor(random() * 60);
      await runAndKill(directory, round, acknowledged, linesBeforeKill, Math.floor(random() * 4));
      if (random() < 0.5 && acknowledged.entries.size > 0) {
        const lastAcknowledged = Math.max(...acknowledged.entries.keys());
        damage.push(await loseUnsyncedTail(path.join(directory, 'logs', 'crash.log'), lastAcknowledged, random));
      }
      const recovered = await checkRecovered(directory, acknowledged);
      expect(recovered).toBeGreaterThanOrEqual(Math.min(length, Math.max(-1, ...acknowledged.entries.keys()) + 1));
      length = recovered;
    }
    expect(acknowledged.entries.size).toBeGreaterThan(rounds);
    expect(damage.length, 'rounds whose unsynced tail was damaged').toBeGreaterThan(2);
  });
});
