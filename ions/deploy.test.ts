// What deploy and status print, and how deploy's watch ends. A real node's deployments are in
// push-deploy.test.ts; here a scripted node answers (the answers a real node gives only in races:
// another deployment recorded meanwhile, a deployment that never finishes).
import { describe, expect, it } from 'vitest';
import { deployRevision, describeNode, describeStatus } from './deploy.ts';
import type { IonAdmin } from './ion-admin.ts';
import type { Deployment, IonGroupStatus, IonNodeStatus } from '../nodes/ions/revision.ts';
import { isFactumError } from '../nodes/util/errors.ts';

const deployment = (deployId: string, state: Deployment['state'], extra: Partial<Deployment> = {}): Deployment => ({
  deployId,
  group: 'primary',
  app: 'bank',
  rev: 'r2',
  previous: { app: 'bank', rev: 'r1' },
  state,
  startedAt: '2026-12-06T08:00:00.000Z',
  ...extra,
});

const nodeStatus = (node: string, state: IonNodeStatus['state'], rev: string | null, extra: Partial<IonNodeStatus> = {}): IonNodeStatus => ({
  node,
  deployId: 'd1',
  running: rev === null ? null : { app: 'bank', rev },
  state,
  at: '2026-12-06T08:00:01.000Z',
  ...extra,
});

/** A node that answers ionDeploy with d1 and ionStatus with each of `statuses` in turn (the last one forever). */
function scriptedNode(statuses: readonly IonGroupStatus[]): IonAdmin {
  let call = 0;
  const unused = () => Promise.reject(new Error('not part of this script'));
  return {
    push: unused,
    revisions: unused,
    invoke: unused,
    deploy: async () => ({ deployId: 'd1' }),
    status: async () => statuses[Math.min(call++, statuses.length - 1)]!,
    close: () => {},
  };
}

describe('describeStatus', () => {
  it('shows the deployment, its reason and each node', () => {
    const status: IonGroupStatus = {
      group: 'primary',
      deployment: deployment('d1', 'rolled-back', { reason: 'node-a: the module threw' }),
      nodes: [nodeStatus('node-a', 'failed', 'r1', { error: 'the module threw' }), { ...nodeStatus('node-b', 'running', 'r1'), live: false } as IonNodeStatus],
    };
    expect(describeStatus(status)).toEqual([
      'group primary: bank/r2 rolled-back (deployment d1, started 2026-12-06T08:00:00.000Z; before it bank/r1)',
      '  reason: node-a: the module threw',
      '  node-a  failed  runs bank/r1: the module threw',
      '  node-b  running  runs bank/r1 (not heard from lately)',
    ]);
    expect(describeStatus({ group: 'analytics', deployment: null, nodes: [] })).toEqual(['group analytics: nothing deployed yet', '  no node has reported yet']);
    expect(describeNode(nodeStatus('node-c', 'loading', null))).toBe('node-c  loading  runs nothing');
  });
});

describe('deployRevision', () => {
  it('prints each node once per change of its state, and ends when deployed', async () => {
    const lines: string[] = [];
    const loading = { group: 'primary', deployment: deployment('d1', 'deploying'), nodes: [nodeStatus('a', 'loading', 'r1'), nodeStatus('b', 'running', 'r1', { deployId: 'd0' })] };
    const switched = { ...loading, nodes: [nodeStatus('a', 'running', 'r2'), nodeStatus('b', 'loading', 'r1')] };
    const done = { ...loading, deployment: deployment('d1', 'deployed'), nodes: [nodeStatus('a', 'running', 'r2'), nodeStatus('b', 'running', 'r2')] };
    const outcome = await deployRevision(scriptedNode([loading, loading, switched, switched, done]), { group: 'primary', app: 'bank', rev: 'r2', pollMs: 1, onProgress: (line) => lines.push(line) });
    expect(outcome.deployment.state).toBe('deployed');
    expect(lines.slice(0, -1)).toEqual([
      'deploying bank/r2 onto primary (deployment d1)',
      '  a  loading  runs bank/r1',
      '  a  running  runs bank/r2',
      '  b  loading  runs bank/r1',
      '  b  running  runs bank/r2',
    ]);
    expect(lines.at(-1)).toMatch(/^deployed bank\/r2 onto primary in \d+\.\d s$/);
  });

  it('fails when another deployment replaced its own', async () => {
    const replaced = { group: 'primary', deployment: deployment('d9', 'deploying', { rev: 'r3' }), nodes: [] };
    const error = await deployRevision(scriptedNode([replaced]), { group: 'primary', app: 'bank', rev: 'r2', pollMs: 1 }).catch((caught: unknown) => caught);
    expect(isFactumError(error, 'ion/deploy-in-progress')).toBe(true);
    expect((error as Error).message).toMatch(/no longer records deployment d1 \(it records d9 of bank\/r3\): another deployment replaced it/);
  });

  it('stops watching after watchMs, saying the deployment goes on', async () => {
    const forever = { group: 'primary', deployment: deployment('d1', 'deploying'), nodes: [nodeStatus('a', 'loading', 'r1')] };
    const error = await deployRevision(scriptedNode([forever]), { group: 'primary', app: 'bank', rev: 'r2', pollMs: 1, watchMs: 0 }).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(/is still going after 0 s; it goes on without this command. Watch it with factum ions status --group primary/);
  });
});
