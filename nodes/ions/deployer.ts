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
import { ionKeys, type Deployment, type IonNodeStatus } from './revision.ts';

const POLL_MS = 1000;
const HEARTBEAT_MS = 5000;
const GONE_MS = 15_000;
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

export class Deployer {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  private beat = 0;
  private lastWrittenMs = -Infinity;
  private lastWritten = '';
  /** Other nodes' beats as last seen, and when (this node's clock) each last changed. */
  private readonly seen = new Map<string, { beat: number; changedMs: number }>();
  /** The deployment this node failed to load (it rolled it back; not tried again). */
  private failedDeployId: string | null = null;
  private lastFailure: { target: string; atMs: number } | null = null;

  constructor(private readonly options: DeployerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts watching: a first look now (awaited: a node starts with its group's revision), then every poll. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? POLL_MS);
    this.timer.unref();
  }

  /** Stops watching and leaves the status record (the node is stopping). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.ticking;
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
      .catch((error: unknown) => this.options.log('warn', `ions: could not check this group's deployment (${(error as Error).message}); trying again in a second. If this repeats, check that storage can be read.`, { group: this.options.group }))
      .finally(() => {
        this.ticking = null;
      });
    return this.ticking;
  }

  private async step(): Promise<void> {
    const { deployment } = await readDeployment(this.options.storage, this.options.group);
    const { status } = await readStatus(this.options.storage, this.options.group);
    this.observe(status);
    const target = targetOf(deployment);
    const running = this.options.active.revision;
    if (!sameTarget(running, target)) return this.moveTo(deployment, target);
    await this.report({ deployId: deployment?.deployId ?? null, running, state: 'running' }, false);
    if (deployment?.state === 'deploying') await this.completeIfDone(deployment.deployId);
  }

  private async moveTo(deployment: Deployment | null, target: Target): Promise<void> {
    const rolling = deployment !== null && deployment.state === 'deploying';
    if (rolling) {
      if (this.failedDeployId === deployment.deployId) return;
      if (!(await this.takeTurn(deployment.deployId))) return;
    } else {
      const key = target === null ? '' : `${target.app}@${target.rev}`;
      if (this.lastFailure !== null && this.lastFailure.target === key && this.now() - this.lastFailure.atMs < RETRY_MS) return;
    }
    const deployId = deployment?.deployId ?? null;
    if (target !== null) this.options.log('info', `ions: loading ${target.app} revision ${target.rev} (the node serves what it ran until it has loaded)`, { group: this.options.group, deployId, phase: 'loading', ...target });
    let loaded: LoadedRevision | null = null;
    try {
      loaded = target === null ? null : await this.options.load(target.app, target.rev);
      // A newer deployment while this one loaded: it is the next tick's.
      const now = await readDeployment(this.options.storage, this.options.group);
      if (now.deployment?.deployId !== deployId || !sameTarget(targetOf(now.deployment), target)) {
        await loaded?.host.stop();
        return;
      }
      await this.options.active.switchTo(loaded);
    } catch (error) {
      await loaded?.host.stop().catch(() => undefined);
      return this.failed(deployment, target, error as Error, rolling);
    }
    this.lastFailure = null;
    this.options.log('info', target === null ? 'ions: no revision runs on this node now' : `ions: this node runs ${target.app} revision ${target.rev} now`, { group: this.options.group, deployId, phase: 'running', ...(target ?? {}) });
    await this.report({ deployId, running: target, state: 'running' }, true);
    if (rolling) await this.completeIfDone(deployment.deployId);
  }

  private async failed(deployment: Deployment | null, target: Target, error: Error, rolling: boolean): Promise<void> {
    const what = target === null ? 'no revision' : `${target.app} revision ${target.rev}`;
    this.options.log('error', `ions: ${what} failed to load on this node: ${error.message}${rolling ? ' The deployment is rolled back to the revision before it.' : ` It keeps running what it ran; trying again in ${RETRY_MS / 1000} s.`}`, { group: this.options.group, deployId: deployment?.deployId ?? null });
    await this.report({ deployId: deployment?.deployId ?? null, running: this.options.active.revision, state: 'failed', error: error.message }, true);
    if (!rolling) {
      this.lastFailure = { target: target === null ? '' : `${target.app}@${target.rev}`, atMs: this.now() };
      return;
    }
    this.failedDeployId = deployment!.deployId;
    await this.rollBack(deployment!.deployId, `${this.options.nodeId}: ${error.message}`);
  }

  /** Marks this node `loading` for `deployId`, unless another live node is loading it now. */
  private async takeTurn(deployId: string): Promise<boolean> {
    let mine = false;
    await this.updateStatus((nodes) => {
      mine = false;
      const other = Object.entries(nodes).find(([node, entry]) => node !== this.options.nodeId && entry.state === 'loading' && entry.deployId === deployId && this.isLive(node) && this.now() - (this.seen.get(node)?.changedMs ?? 0) < LOADING_STALE_MS);
      if (other !== undefined) return false;
      mine = true;
      nodes[this.options.nodeId] = this.entry({ deployId, running: this.options.active.revision, state: 'loading' });
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

  private async rollBack(deployId: string, reason: string): Promise<void> {
    for (let attempt = 0; attempt < CAS_ATTEMPTS_MAX; attempt++) {
      const { deployment, version } = await readDeployment(this.options.storage, this.options.group);
      if (deployment === null || deployment.deployId !== deployId || deployment.state !== 'deploying') return;
      if (await this.options.storage.casRecord(ionKeys.deployment(this.options.group), version, json({ ...deployment, state: 'rolled-back', reason } satisfies Deployment))) return;
    }
  }

  private entry(fields: Pick<IonNodeStatus, 'deployId' | 'running' | 'state' | 'error'>): Entry {
    return { node: this.options.nodeId, deployId: fields.deployId, running: fields.running, state: fields.state, ...(fields.error === undefined ? {} : { error: fields.error }), at: new Date(this.now()).toISOString(), beat: ++this.beat };
  }

  /** Writes this node's entry when it changed, or when a heartbeat is due (`force`: now). */
  private async report(fields: Pick<IonNodeStatus, 'deployId' | 'running' | 'state' | 'error'>, force: boolean): Promise<void> {
    const text = JSON.stringify(fields);
    if (!force && text === this.lastWritten && this.now() - this.lastWrittenMs < HEARTBEAT_MS) return;
    await this.updateStatus((nodes) => {
      nodes[this.options.nodeId] = this.entry(fields);
    });
    this.lastWritten = text;
    this.lastWrittenMs = this.now();
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
    }
  }
}
