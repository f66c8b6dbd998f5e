// Scripted runs of the whole-system simulation's nodes (whole-system.ts scriptedSystem), one for
// each bug of the node code the simulation found: the same nodes, storage and network, no random
// faults, no clients but the test's own steps.
//
// Trace one: SIM_TRACE=1 npx vitest run test/simulation/whole-system-regressions.test.ts
import { afterEach, describe, expect, it } from 'vitest';
import { Transactor } from '../../nodes/transactor/transactor.ts';
import { scriptedSystem, type WholeSystem } from './whole-system.ts';

let last: WholeSystem | null = null;

describe('whole-system simulation: regressions', () => {
  afterEach(() => {
    last?.network.shutdown();
    if (process.env.SIM_TRACE === '1') console.log(last?.traced.join('\n'));
  });

  it('a transactor that missed a log entry landed after it opened (an earlier transactor\'s late append) catches up without a write of its own, and so do its followers (seed 390)', async () => {
    // Seed 390: n1 led database b, paused; n0, its clock jumped ahead, took the lease over and
    // opened a leader at t 14; n1 woke still believing it led and appended t 15 and 16 (the log's
    // condition let them: the positions were free). No write came to n0 after: it stayed at t 14.
    const system = await scriptedSystem(2, 2, 1);
    last = system;
    await system.time.advance(2 * system.periodMs);
    const log = system.databases.get('a')!;
    const leader = system.nodes.find((node) => node.isLeader(log))!;
    expect(leader.seats.get('a')!.role).toBe('leader');
    const openedT = leader.seats.get('a')!.db().basisT;
    // The late append, written as an earlier transactor would have: the next position, t + 1.
    const earlier = await Transactor.open(system.shared, log, { indexing: false });
    const { t } = await earlier.transact([{ 'sim/key': '0.0', 'sim/element': 1 }]);
    await earlier.close();
    expect(t).toBe(openedT + 1);
    await system.time.advance(3 * system.periodMs);
    for (const node of system.running()) expect(node.seats.get('a')!.db().basisT, node.nodeId).toBe(t);
    // And it leads on from there: a transaction through any node commits after the late one.
    expect(leader.isLeader(log)).toBe(true);
    const next = leader.seats.get('a')!.transact([{ 'sim/key': '0.0', 'sim/element': 2 }], { idempotencyKey: 'after-late' });
    await system.time.advance(system.periodMs);
    await expect(next).resolves.toMatchObject({ t: t + 1, duplicate: false });
  });
});
