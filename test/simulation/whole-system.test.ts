// The seeded whole-system simulation (whole-system.ts): nodes of the production topology and
// list-append clients in one process on virtual time, with faults drawn from each seed. Nodes
// share a process only here; everywhere else each node is its own process.
//
// Run (CI):              npx vitest run test/simulation
// A long run:            SIM_SEEDS=100000 npx vitest run test/simulation
// Seeds from another one: SIM_FIRST=100001 SIM_SEEDS=100000 npx vitest run test/simulation   (split a long run)
// Replay one seed:       SEED=123 npx vitest run test/simulation/whole-system.test.ts
// Trace a replayed seed: SIM_TRACE=1 SEED=123 SIM_MODE=liveness npx vitest run test/simulation/whole-system.test.ts
import { describe, expect, it } from 'vitest';
import { noFaults, type FaultCounts } from './fault-plan.ts';
import { noFigures, runSimulation, type Figures, type Mode, type RunResult } from './whole-system.ts';

const seedCount = Number(process.env.SIM_SEEDS ?? 1000);
const firstSeed = Number(process.env.SIM_FIRST ?? 1);
const onlySeed = process.env.SEED === undefined ? null : Number(process.env.SEED);
const onlyMode = process.env.SIM_MODE as Mode | undefined;
const tracing = process.env.SIM_TRACE === '1';

function replay(result: RunResult): string {
  return `SEED=${result.seed} SIM_MODE=${result.mode} npx vitest run test/simulation/whole-system.test.ts   (SIM_TRACE=1 prints each step)`;
}

/** Seeds alternate modes in pairs, so that each mode runs with indexing on (odd seeds) and off. */
function modeOf(seed: number): Mode {
  return onlyMode ?? (Math.floor(seed / 2) % 2 === 0 ? 'safety' : 'liveness');
}

function median(values: number[]): string {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted.length === 0 ? '-' : sorted[sorted.length >> 1]!.toFixed(0);
}

function add(total: FaultCounts, faults: FaultCounts): void {
  for (const kind of Object.keys(total) as (keyof FaultCounts)[]) total[kind] += faults[kind];
}

function addFigures(total: Figures, figures: Figures): void {
  for (const name of Object.keys(total) as (keyof Figures)[]) total[name] += figures[name];
}

describe('whole-system simulation', () => {
  const seeds = onlySeed === null ? Array.from({ length: seedCount }, (_, index) => firstSeed + index) : [onlySeed];
  it(`loses no acknowledged transaction, duplicates none, and shows no anomaly (${onlySeed === null ? `${seedCount} seeds from ${firstSeed}` : `seed ${onlySeed}`})`, async () => {
    const faults = noFaults();
    const figures = noFigures();
    const modes = { safety: 0, liveness: 0 };
    const failures: string[] = [];
    const settleMs: number[] = [];
    const clientErrors = new Map<string, number>();
    const startedMs = performance.now();
    for (const seed of seeds) {
      const result = await runSimulation({ seed, mode: modeOf(seed), tracing });
      if (tracing) console.log([...result.trace, ...result.events].join('\n'));
      if (result.problems.length > 0) {
        // Every seed runs (a long run reports all its failures), each with the command that replays it.
        failures.push(`seed ${seed} (${result.mode}) failed:\n  ${result.problems.slice(0, 10).join('\n  ')}\n  replay: ${replay(result)}`);
        console.log(failures[failures.length - 1]);
        continue;
      }
      if (onlySeed !== null) console.log(`seed ${seed} (${result.mode}): history digest ${result.digest}`);
      if (result.settleMs !== null) settleMs.push(result.settleMs);
      for (const [code, count] of result.clientErrors) clientErrors.set(code, (clientErrors.get(code) ?? 0) + count);
      add(faults, result.faults);
      addFigures(figures, result.figures);
      modes[result.mode]++;
    }
    const seconds = (performance.now() - startedMs) / 1000;
    console.log(
      `whole-system simulation: ${seeds.length} seeds (${modes.safety} safety, ${modes.liveness} liveness) in ${seconds.toFixed(1)} s = ${(seeds.length / seconds).toFixed(1)} seeds/s, ${(figures.virtualMs / 1000).toFixed(0)} virtual s; heap ${Math.round(process.memoryUsage().heapUsed / 2 ** 20)} MiB`,
      `\nliveness: end of faults to last completion, virtual ms: median ${median(settleMs)}, max ${Math.max(0, ...settleMs).toFixed(0)}`,
      '\nfaults injected by kind:', faults,
      '\nfigures:', figures,
      '\nerrors answered to clients, by code:', Object.fromEntries([...clientErrors].sort(([left], [right]) => left.localeCompare(right))),
    );
    if (failures.length > 0) throw new Error(`${failures.length} of ${seeds.length} seeds failed; the first:\n${failures.slice(0, 5).join('\n')}`);
    if (seeds.length >= 100) {
      // The runs exercised what they claim to: every kind of fault was injected.
      for (const [kind, count] of Object.entries(faults)) expect(count, kind).toBeGreaterThan(0);
      expect(figures.forwarded).toBeGreaterThan(0);
      expect(figures.duplicates).toBeGreaterThan(0);
      expect(figures.rootMoves).toBeGreaterThan(0);
    }
  }, Math.max(120_000, seeds.length * 2000));

  it('catches a bug planted in the system: acknowledged appends that storage forgot, reads not synced to the client\'s t', async () => {
    const found = { 'forget-appends': [] as string[], 'unsynced-reads': [] as string[] };
    for (const sabotage of ['forget-appends', 'unsynced-reads'] as const) {
      for (let seed = 1; seed <= 20; seed++) found[sabotage].push(...(await runSimulation({ seed, mode: 'safety', sabotage })).problems);
    }
    expect(found['forget-appends'].join('\n')).toMatch(/\(b\) c\d+-\d+ was acknowledged at t \d+, but t \d+ in the log holds/);
    expect(found['unsynced-reads'].join('\n')).toMatch(/\(d\) c\d+-\d+ read at basis \d+, older than t \d+ its client was answered before/);
    expect(found['unsynced-reads'].join('\n')).toMatch(/\(checker, session, t order\)/);
  });

  it('gives the same history, byte for byte, for the same seed', async () => {
    for (const seed of [3, 6]) {
      const first = await runSimulation({ seed, mode: 'liveness' });
      const second = await runSimulation({ seed, mode: 'liveness', tracing: true }); // tracing changes nothing of the run
      expect(first.history.length).toBeGreaterThan(10);
      expect(second.digest).toBe(first.digest);
      expect(second.trace.length).toBeGreaterThan(first.trace.length);
      const other = await runSimulation({ seed: seed + 1000, mode: 'liveness' });
      expect(other.digest).not.toBe(first.digest);
    }
  });
});
