//! Deploys ion revisions onto this node: each node of a compute group watches its group's
//! deployment record and moves itself onto the revision it names, one node at a time.
//!
//!   ions/deployment/<group>   { deployId, app, rev, previous, state }   (written by ionDeploy)
//!   ions/status/<group>       { nodes: { <node>: { deployId, running, state, beat, at } } }
//!
//!   deploying ──every live node runs rev──▶ deployed
//!       │
//!       └──a node fails to load rev──▶ rolled-back (every node moves onto `previous`)
//!
//! One at a time: a node loads a new revision only after marking itself `loading` in the status
//! record, by compare-and-swap, while no other live node is loading the same deployment; the node
//! keeps serving its old revision while it loads, and switches in one step once the new one has
//! loaded and every name it allows resolves. So a broken revision fails on the first node, which
//! rolls the deployment back before any other node has switched, and nothing was served by it.
//!
//! Liveness without synchronized clocks: every node rewrites its entry (a new `beat`) at least
//! every HEARTBEAT_MS; a node whose beat has not changed for GONE_MS by this node's clock no longer
//! counts (it does not hold up `deployed`, and its `loading` turn lapses after LOADING_STALE_MS).
import type { Storage } from '../storage/protocol.ts';
import type { ActiveIons, LoadedRevision } from './active-ions.ts';
import { isFactumError } from '../util/errors.ts';
import { ionKeys, type Deployment, type IonNodeStatus } from './revision.ts';

const POLL_MS = 500;
const HEARTBEAT_MS = 3000;
/** How long a starting node tries to load its group's revision before it serves without it. */
const START_MS = 30_000;
export const GONE_MS = 15_000;
const LOADING_STALE_MS = 120_000;
/** Entries of nodes gone this long are dropped from the status record. */
const FORGET_MS = 600_000;
/** A revision that failed to load outside a rolling deployment (at start) is tried again after this. */
const RETRY_MS = 10_000;
const CAS_ATTEMPTS_MAX = 8;

type Entry = IonNodeStatus & { readonly beat: number };
interface StatusRecord {
  readonly nodes: Record<string, Entry>;
}
type Target = { readonly app: string; readonly rev: string } | null;

export interface DeployerOptions {
  readonly storage: Storage;
  readonly group: string;
  readonly nodeId: string;
  readonly active: ActiveIons;
  /** Fetches a revision from storage and starts it on its own thread (load-revision.ts). */
  readonly load: (app: string, rev: string) => Promise<LoadedRevision>;
  readonly log: (level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => void;
  /** @default 1000 */
  readonly pollMs?: number;
  /** The node's clock (tests). @default Date.now */
  readonly now?: () => number;
}

/** The revision a deployment asks for: its own, or the one before it when it was rolled back. */
export function targetOf(deployment: Deployment | null): Target {
  if (deployment === null) return null;
  return deployment.state === 'rolled-back' ? deployment.previous : { app: deployment.app, rev: deployment.rev };
}

function sameTarget(a: Target, b: Target): boolean {
  return a === b || (a !== null && b !== null && a.app === b.app && a.rev === b.rev);
}

export async function readDeployment(storage: Storage, group: string): Promise<{ readonly deployment: Deployment | null; readonly version: number | null }> {
  const record = await storage.getRecord(ionKeys.deployment(group));
  return record === null ? { deployment: null, version: null } : { deployment: JSON.parse(Buffer.from(record.bytes).toString('utf8')) as Deployment, version: record.version };
}

export async function readStatus(storage: Storage, group: string): Promise<{ readonly status: StatusRecord; readonly version: number | null }> {
  const record = await storage.getRecord(ionKeys.status(group));
  return record === null ? { status: { nodes: {} }, version: null } : { status: JSON.parse(Buffer.from(record.bytes).toString('utf8')) as StatusRecord, version: record.version };
}

function json(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

/** Failures that are the revision's own (it will fail the same way on every node): they roll a deployment back. */
const REVISION_FAILURES: ReadonlySet<string> = new Set(['ion/load-failed', 'ion/invalid-revision', 'ion/revision-not-found', 'query/invalid-input', 'pull/invalid-xform']);
/** Errors and reasons recorded are cut to this many characters (a record stays far below DynamoDB's 400 KB). */
const TEXT_MAX = 2000;

function isRevisionFailure(error: unknown): boolean {
  return isFactumError(error) && REVISION_FAILURES.has(error.code);
}

function cut(text: string): string {
  return text.length <= TEXT_MAX ? text : `${text.slice(0, TEXT_MAX)}…`;
}

type Fields = Pick<IonNodeStatus, 'deployId' | 'running' | 'state' | 'error' | 'rollBack'>;

export class Deployer {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;
  private beat = 0;
  /** What this node's entry says (rewritten with a new beat every HEARTBEAT_MS, whatever the node is doing). */
  private mine: Fields = { deployId: null, running: null, state: 'running' };
  private lastWritten = '';
  /** Other nodes' beats as last seen, and when (this node's clock) each last changed. */
  private readonly seen = new Map<string, { beat: number; changedMs: number }>();
  /** When (this node's clock) each node was first seen loading a deployment: a turn held too long lapses. */
  private readonly loadingSince = new Map<string, { deployId: string; sinceMs: number }>();
  /** The deployment this node failed to load (it rolled it back; not tried again). */
  private failedDeployId: string | null = null;
  /** A rollback this node owes: its compare-and-swap has not landed yet (tried again every tick). */
  private owedRollback: { deployId: string; reason: string } | null = null;
  private lastFailure: { target: string; atMs: number } | null = null;

  constructor(private readonly options: DeployerOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Starts watching. The first looks are awaited: a node starts serving with its group's revision
   * (or, while the group deploys a new one, the one before it), trying for up to START_MS when
   * storage or the load fails, then starts anyway and keeps trying.
   */
  async start(): Promise<void> {
    const deadline = this.now() + START_MS;
    for (;;) {
      await this.tick();
      const { deployment } = await readDeployment(this.options.storage, this.options.group).catch(() => ({ deployment: undefined }));
      if (deployment !== undefined && (targetOf(deployment) === null || this.options.active.revision !== null)) break;
      if (this.now() >= deadline) {
        this.options.log('warn', `ions: this node starts without its group's ion revision (it could not load it within ${START_MS / 1000} s); it keeps trying, and ion calls fail with ion/unknown-name meanwhile.`, { group: this.options.group });
        break;
      }
      this.lastFailure = null;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? POLL_MS);
    this.timer.unref();
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), HEARTBEAT_MS);
    this.heartbeatTimer.unref();
  }

  /** Stops watching and leaves the status record (the node is stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    await this.ticking;
    await this.beating;
    await this.updateStatus((nodes) => {
      delete nodes[this.options.nodeId];
    }).catch(() => undefined);
  }

  /** Whether `node`'s entry still changes (this node always is). */
  isLive(node: string): boolean {
    if (node === this.options.nodeId) return true;
    const seen = this.seen.get(node);
    return seen !== undefined && this.now() - seen.changedMs < GONE_MS;
  }

  /** One look at the deployment record, and whatever it asks of this node. Never throws. */
  tick(): Promise<void> {
    if (this.ticking !== null || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.step()
      .catch((error: unknown) => this.options.log('warn', `ions: could not check this group's deployment (${(error as Error).message}); trying again shortly. If this repeats, check that storage can be read.`, { group: this.options.group }))
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  /** Rewrites this node's entry with a new beat: it is alive, whatever it is doing (loading too). */
  heartbeat(): Promise<void> {
    if (this.beating !== null || this.stopped) return this.beating ?? Promise.resolve();
    this.beating = this.write(this.mine)
      .catch((error: unknown) => this.options.log('warn', `ions: could not write this node's status (${(error as Error).message}); trying again shortly.`, { group: this.options.group }))
      .finally(() => {
        this.beating = null;
      });
    return this.beating;
  }

  private async step(): Promise<void> {
    if (this.owedRollback !== null) await this.rollBack(this.owedRollback);
    const { deployment } = await readDeployment(this.options.storage, this.options.group);
    const { status } = await readStatus(this.options.storage, this.options.group);
    this.observe(status);
    // A node that failed to load this deployment's revision may not have managed to record the
    // rollback: whoever sees its entry does, and nobody loads that revision meanwhile.
    const failure = deployment?.state === 'deploying' ? Object.values(status.nodes).find((entry) => entry.deployId === deployment.deployId && entry.state === 'failed' && entry.rollBack === true) : undefined;
    if (failure !== undefined) return this.rollBack(this.owedRollback ?? { deployId: failure.deployId!, reason: cut(`${failure.node}: ${failure.error ?? 'failed to load'}`) });
    const target = targetOf(deployment);
    const running = this.options.active.revision;
    if (!sameTarget(running, target)) {
      // A node running nothing while its group deploys (it just started) first runs what the
      // group ran before, without waiting for a turn: it serves the group's ions meanwhile.
      const before = deployment?.state === 'deploying' ? deployment.previous : null;
      if (running === null && before !== null) return this.moveTo(deployment, before, 'catch-up');
      return this.moveTo(deployment, target, deployment?.state === 'deploying' ? 'rolling' : 'direct');
    }
    await this.report({ deployId: deployment?.deployId ?? null, running, state: 'running' });
    if (deployment?.state === 'deploying') await this.completeIfDone(deployment.deployId);
  }

  /**
   * Loads `target` and switches to it. `rolling`: a deployment's new revision, loaded in turn, whose
   * failure rolls the deployment back; `direct`: the group's settled revision (deployed, or rolled
   * back to); `catch-up`: the revision before a deployment, for a node that runs none.
   */
  private async moveTo(deployment: Deployment | null, target: Target, how: 'rolling' | 'direct' | 'catch-up'): Promise<void> {
    const key = target === null ? '' : `${target.app}@${target.rev}`;
    if (this.lastFailure !== null && this.lastFailure.target === key && this.now() - this.lastFailure.atMs < RETRY_MS) return;
    const deployId = deployment?.deployId ?? null;
    if (how === 'rolling') {
      if (this.failedDeployId === deployId || this.owedRollback?.deployId === deployId) return;
      if (!(await this.takeTurn(deployId!))) return;
    }
    if (target !== null) this.options.log('info', `ions: loading ${target.app} revision ${target.rev} (the node serves what it ran until it has loaded)`, { group: this.options.group, deployId, phase: 'loading', ...target });
    let loaded: LoadedRevision | null = null;
    try {
      loaded = target === null ? null : await this.options.load(target.app, target.rev);
      // A newer deployment while this one loaded: it is the next tick's.
      const now = await readDeployment(this.options.storage, this.options.group);
      const wanted = how === 'catch-up' ? now.deployment?.deployId === deployId : now.deployment?.deployId === deployId && sameTarget(targetOf(now.deployment), target);
      if (!wanted) {
        await loaded?.host.stop();
        await this.report({ deployId: null, running: this.options.active.revision, state: 'running' }); // gives the turn back
        return;
      }
      await this.options.active.switchTo(loaded);
    } catch (error) {
      await loaded?.host.stop().catch(() => undefined);
      return this.failed(deployment, target, error as Error, how === 'rolling' && isRevisionFailure(error));
    }
    this.lastFailure = null;
    this.options.log('info', target === null ? 'ions: no revision runs on this node now' : `ions: this node runs ${target.app} revision ${target.rev} now`, { group: this.options.group, deployId, phase: 'running', ...(target ?? {}) });
    await this.report({ deployId: how === 'catch-up' ? null : deployId, running: target, state: 'running' });
    if (how === 'rolling') await this.completeIfDone(deployId!);
  }

  /** A load that failed: the revision's own failure in a rolling deployment rolls it back; any other is tried again later. */
  private async failed(deployment: Deployment | null, target: Target, error: Error, rollBack: boolean): Promise<void> {
    const what = target === null ? 'no revision' : `${target.app} revision ${target.rev}`;
    const deployId = deployment?.deployId ?? null;
    this.options.log('error', `ions: ${what} failed to load on this node: ${error.message}${rollBack ? ' The deployment is rolled back to the revision before it.' : ` It keeps running what it ran; trying again in ${RETRY_MS / 1000} s.`}`, { group: this.options.group, deployId });
    this.lastFailure = { target: target === null ? '' : `${target.app}@${target.rev}`, atMs: this.now() };
    await this.report({ deployId, running: this.options.active.revision, state: 'failed', error: cut(error.message), ...(rollBack ? { rollBack: true } : {}) });
    if (!rollBack) return;
    this.owedRollback = { deployId: deployId!, reason: cut(`${this.options.nodeId}: ${error.message}`) };
    await this.rollBack(this.owedRollback);
  }

  /** Marks this node `loading` for `deployId`, unless another live node is loading it now (and has not for too long). */
  private async takeTurn(deployId: string): Promise<boolean> {
    let mine = false;
    await this.updateStatus((nodes) => {
      mine = false;
      const other = Object.entries(nodes).find(([node, entry]) => {
        if (node === this.options.nodeId || entry.state !== 'loading' || entry.deployId !== deployId || !this.isLive(node)) return false;
        const since = this.loadingSince.get(node);
        return since === undefined || since.deployId !== deployId || this.now() - since.sinceMs < LOADING_STALE_MS;
      });
      if (other !== undefined) return false;
      mine = true;
      this.mine = { deployId, running: this.options.active.revision, state: 'loading' };
      nodes[this.options.nodeId] = this.entry(this.mine);
      return true;
    });
    return mine;
  }

  /** Marks the deployment `deployed` once every live node runs its revision. */
  private async completeIfDone(deployId: string): Promise<void> {
    const { deployment, version } = await readDeployment(this.options.storage, this.options.group);
    if (deployment === null || deployment.deployId !== deployId || deployment.state !== 'deploying') return;
    const { status } = await readStatus(this.options.storage, this.options.group);
    const target = targetOf(deployment);
    const done = Object.entries(status.nodes).every(([node, entry]) => !this.isLive(node) || (entry.deployId === deployId && entry.state === 'running' && sameTarget(entry.running, target)));
    if (!done || status.nodes[this.options.nodeId] === undefined) return;
    if (await this.options.storage.casRecord(ionKeys.deployment(this.options.group), version, json({ ...deployment, state: 'deployed' } satisfies Deployment))) {
      this.options.log('info', `ions: ${deployment.app} revision ${deployment.rev} is deployed on every node of group ${this.options.group}`, { group: this.options.group, deployId });
    }
  }

  /** Rolls `owed` back; settled once it landed (or the deployment moved on). Throws when it could not: the next tick tries again. */
  private async rollBack(owed: { readonly deployId: string; readonly reason: string }): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const { deployment, version } = await readDeployment(this.options.storage, this.options.group);
      const settled = deployment === null || deployment.deployId !== owed.deployId || deployment.state !== 'deploying';
      if (settled || (await this.options.storage.casRecord(ionKeys.deployment(this.options.group), version, json({ ...deployment, state: 'rolled-back', reason: owed.reason } satisfies Deployment)))) {
        this.failedDeployId = owed.deployId;
        this.owedRollback = null;
        return;
      }
    }
    throw new Error(`could not record the rollback of deployment ${owed.deployId} (the record kept changing)`);
  }

  private entry(fields: Fields): Entry {
    return { node: this.options.nodeId, deployId: fields.deployId, running: fields.running, state: fields.state, ...(fields.error === undefined ? {} : { error: fields.error }), ...(fields.rollBack === true ? { rollBack: true } : {}), at: new Date(this.now()).toISOString(), beat: ++this.beat };
  }

  /** Records this node's entry when it changed (heartbeat() rewrites it regularly anyway). */
  private async report(fields: Fields): Promise<void> {
    this.mine = fields;
    if (JSON.stringify(fields) === this.lastWritten) return;
    await this.write(fields);
  }

  private async write(fields: Fields): Promise<void> {
    await this.updateStatus((nodes) => {
      nodes[this.options.nodeId] = this.entry(fields);
    });
    this.lastWritten = JSON.stringify(fields);
  }

  /** Read, change (false from `change`: leave it), compare-and-swap; again on a lost race. */
  private async updateStatus(change: (nodes: Record<string, Entry>) => boolean | void): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const { status, version } = await readStatus(this.options.storage, this.options.group);
      this.observe(status);
      const nodes = { ...status.nodes };
      if (change(nodes) === false) return;
      for (const node of Object.keys(nodes)) {
        const seen = this.seen.get(node);
        if (node !== this.options.nodeId && seen !== undefined && this.now() - seen.changedMs > FORGET_MS) delete nodes[node];
      }
      if (await this.options.storage.casRecord(ionKeys.status(this.options.group), version, json({ nodes } satisfies StatusRecord))) return;
    }
    throw new Error(`the status record of group ${this.options.group} kept changing under ${CAS_ATTEMPTS_MAX} attempts to write it`);
  }

  private observe(status: StatusRecord): void {
    for (const [node, entry] of Object.entries(status.nodes)) {
      const seen = this.seen.get(node);
      if (seen === undefined || seen.beat !== entry.beat) this.seen.set(node, { beat: entry.beat, changedMs: this.now() });
      const since = this.loadingSince.get(node);
      if (entry.state === 'loading' && entry.deployId !== null) {
        if (since === undefined || since.deployId !== entry.deployId) this.loadingSince.set(node, { deployId: entry.deployId, sinceMs: this.now() });
      } else this.loadingSince.delete(node);
    }
    // Nodes dropped from the record are forgotten here too.
    for (const node of this.seen.keys()) if (status.nodes[node] === undefined) this.seen.delete(node);
  }
}
