//! `factum ions deploy` and `factum ions status`, the caller's side: record a deployment, then
//! watch the group's nodes take it up one at a time until it is deployed or rolled back.
//!
//!   ionDeploy { group, app, rev } ─▶ deployId
//!   every pollMs: ionStatus { group } ─▶ print each node whose state changed
//!     deployment.state 'deployed'    → done
//!     deployment.state 'rolled-back' → failed, with the node's reason
//!     another deployId               → failed: someone else deployed meanwhile
import type { Deployment, IonGroupStatus, IonNodeStatus } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';
import type { IonAdmin } from './ion-admin.ts';

export interface DeployOptions {
  readonly group: string;
  readonly app: string;
  readonly rev: string;
  /** Progress lines. @default - none */
  readonly onProgress?: (line: string) => void;
  /** @default 300 */
  readonly pollMs?: number;
  /** How long to watch before giving up (the deployment goes on; `factum ions status` shows it). @default 600000 */
  readonly watchMs?: number;
}

export interface DeployOutcome {
  readonly deployment: Deployment;
  readonly nodes: readonly IonNodeStatus[];
  /** The deployment's own time from record to its end, as watched here. */
  readonly elapsedMs: number;
}

const revisionOf = (running: IonNodeStatus['running']): string => (running === null ? 'nothing' : `${running.app}/${running.rev}`);

/** One line for a node: its name, what it runs and its state. */
export function describeNode(node: IonNodeStatus & { readonly live?: boolean }): string {
  const gone = node.live === false ? ' (not heard from lately)' : '';
  const error = node.error === undefined ? '' : `: ${node.error}`;
  return `${node.node}  ${node.state}  runs ${revisionOf(node.running)}${gone}${error}`;
}

/** The lines `factum ions status` prints. */
export function describeStatus(status: IonGroupStatus): string[] {
  const { deployment } = status;
  const lines = [
    deployment === null
      ? `group ${status.group}: nothing deployed yet`
      : `group ${status.group}: ${deployment.app}/${deployment.rev} ${deployment.state} (deployment ${deployment.deployId}, started ${deployment.startedAt}${deployment.previous === null ? '' : `; before it ${deployment.previous.app}/${deployment.previous.rev}`})`,
  ];
  if (deployment?.reason !== undefined) lines.push(`  reason: ${deployment.reason}`);
  if (status.nodes.length === 0) lines.push('  no node has reported yet');
  for (const node of status.nodes) lines.push(`  ${describeNode(node)}`);
  return lines;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Deploys a pushed revision onto a group and watches it to its end.
 * @example
 * const outcome = await deployRevision(admin, { group: 'primary', app: 'bank', rev: 'a1b2c3…', onProgress: console.log });
 * if (outcome.deployment.state === 'rolled-back') console.error(outcome.deployment.reason);
 */
export async function deployRevision(admin: IonAdmin, options: DeployOptions): Promise<DeployOutcome> {
  const progress = options.onProgress ?? (() => {});
  const pollMs = options.pollMs ?? 300;
  const watchMs = options.watchMs ?? 600_000;
  const started = performance.now();
  const { deployId } = await admin.deploy({ group: options.group, app: options.app, rev: options.rev });
  progress(`deploying ${options.app}/${options.rev} onto ${options.group} (deployment ${deployId})`);
  const shown = new Map<string, string>();
  for (;;) {
    const status = await admin.status(options.group);
    for (const node of status.nodes) {
      const line = describeNode(node);
      if (node.deployId === deployId && shown.get(node.node) !== line) progress(`  ${line}`);
      if (node.deployId === deployId) shown.set(node.node, line);
    }
    const { deployment } = status;
    if (deployment === null || deployment.deployId !== deployId) {
      const other = deployment === null ? 'none' : `${deployment.deployId} of ${deployment.app}/${deployment.rev}`;
      throw new FactumError('ion/deploy-in-progress', `group ${options.group} no longer records deployment ${deployId} (it records ${other}): another deployment replaced it. Run factum ions status --group ${options.group}.`, { group: options.group, deployId });
    }
    if (deployment.state !== 'deploying') {
      const elapsedMs = performance.now() - started;
      progress(deployment.state === 'deployed' ? `deployed ${options.app}/${options.rev} onto ${options.group} in ${(elapsedMs / 1000).toFixed(1)} s` : `rolled back: ${deployment.reason ?? 'no reason given'}`);
      return { deployment, nodes: status.nodes, elapsedMs };
    }
    if (performance.now() - started > watchMs) {
      throw new FactumError('ion/deploy-in-progress', `deployment ${deployId} of ${options.app}/${options.rev} onto ${options.group} is still going after ${Math.round(watchMs / 1000)} s; it goes on without this command. Watch it with factum ions status --group ${options.group}.`, { group: options.group, deployId });
    }
    await sleep(pollMs);
  }
}
