//! The ion operations on a node (client/wire/protocol.ts): revisions pushed into the system's
//! storage, deployments recorded for a compute group (the group's nodes act on them: deployer.ts),
//! the state of a group's nodes, and Lambda entry points invoked on this node's running revision.
import { createHash } from 'node:crypto';
import type { Storage } from '../storage/protocol.ts';
import type { Args, IonOperations } from '../server/operations.ts';
import { fail } from '../util/errors.ts';
import { unpackRevision } from './archive.ts';
import type { ActiveIons } from './active-ions.ts';
import type { Deployer } from './deployer.ts';
import { GONE_MS, readDeployment, readStatus, targetOf } from './deployer.ts';
import { APP_NAME, GROUP_NAME, REV_NAME, ionKeys, isReservedAppName, type Deployment, type IonGroupStatus, type RevisionMetadata } from './revision.ts';

/** A deployment no node has finished for this long (by this node's clock against its start) no longer holds up the next one. */
const DEPLOY_STALE_MS = 600_000;
const SHA256 = /^[0-9a-f]{64}$/;

export interface IonServiceOptions {
  readonly storage: Storage;
  /** This node's group, whose revision it runs. */
  readonly group: string;
  readonly active: ActiveIons;
  /** This node's deployer (liveness of its group's nodes); null when it deploys nothing (tests). */
  readonly deployer: Deployer | null;
  /** Called once a deployment is recorded: this node's group looks at it at once. */
  readonly onDeployed?: (group: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

function wrongArgument(name: string, value: unknown, expected: string): never {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value) : value === null || value === undefined ? String(value) : typeof value;
  return fail('request/wrong-type', `Argument ${name} is ${shown}; expected ${expected}.`, { argument: name, value: shown, expected });
}

function name(args: Args, key: string, pattern: RegExp, expected: string): string {
  const value = args[key];
  return typeof value === 'string' && pattern.test(value) ? value : wrongArgument(key, value, expected);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function parseJson<T>(bytes: Uint8Array): T {
  return JSON.parse(Buffer.from(bytes).toString('utf8')) as T;
}

/** The metadata a push sends, checked against its archive; the config recorded is the archive's own. */
function checkMetadata(value: unknown, archive: Uint8Array): RevisionMetadata {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return wrongArgument('metadata', value, 'the revision metadata ({ app, rev, config, archiveSha256, archiveBytes, lockHash, pushedAt })');
  const metadata = value as Record<string, unknown>;
  const invalid = (problem: string): never => fail('ion/invalid-revision', `The revision's metadata is not valid: ${problem}. Push again with factum ions push.`, { problem });
  if (typeof metadata.app !== 'string' || !APP_NAME.test(metadata.app)) invalid(`app is ${JSON.stringify(metadata.app)}; expected lowercase letters, digits, '.' and '-', starting with a letter`);
  if (isReservedAppName(metadata.app as string)) invalid(`app is ${JSON.stringify(metadata.app)}, a namespace of factum's own operations and functions (db, db.*, clojure.core, datomic.*, factum.*); choose another appName`);
  if (typeof metadata.rev !== 'string' || !REV_NAME.test(metadata.rev)) invalid(`rev is ${JSON.stringify(metadata.rev)}; expected a git commit or a --uname of letters, digits, '.', '_' and '-'`);
  if (typeof metadata.archiveSha256 !== 'string' || metadata.archiveSha256 !== sha256(archive)) invalid('archiveSha256 is not the SHA-256 of the archive sent (it was damaged on the way, or the metadata is of another archive)');
  if (metadata.archiveBytes !== archive.length) invalid(`archiveBytes is ${String(metadata.archiveBytes)}, the archive has ${archive.length}`);
  if (metadata.lockHash !== null && (typeof metadata.lockHash !== 'string' || !SHA256.test(metadata.lockHash))) invalid('lockHash is neither null nor a SHA-256 in hex');
  if (typeof metadata.pushedAt !== 'string' || Number.isNaN(Date.parse(metadata.pushedAt))) invalid('pushedAt is not an ISO time');
  const unpacked = unpackRevision(archive);
  if (unpacked.config.appName !== metadata.app) invalid(`app is ${metadata.app} but the archive's ion-config names ${unpacked.config.appName}`);
  return { app: metadata.app as string, rev: metadata.rev as string, config: unpacked.config, archiveSha256: metadata.archiveSha256 as string, archiveBytes: archive.length, lockHash: metadata.lockHash as string | null, pushedAt: metadata.pushedAt as string };
}

export class IonService implements IonOperations {
  private readonly now: () => number;

  constructor(private readonly options: IonServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  running(): boolean {
    return this.options.active.running();
  }

  async push(args: Args): Promise<unknown> {
    const archive = args.archive;
    if (!(archive instanceof Uint8Array)) return wrongArgument('archive', archive, "the revision's archive (bytes)");
    const metadata = checkMetadata(args.metadata, archive);
    const { storage } = this.options;
    const key = ionKeys.metadata(metadata.app, metadata.rev);
    const answer = async (): Promise<unknown> => {
      const existing = await storage.getRecord(key);
      const stored = existing === null ? null : parseJson<RevisionMetadata>(existing.bytes);
      if (stored?.archiveSha256 === metadata.archiveSha256) return { app: metadata.app, rev: metadata.rev, created: false };
      return existing === null ? null : this.exists(metadata, stored);
    };
    // Pushed before: answered from the record, nothing written (a refused push leaves nothing behind).
    const before = await answer();
    if (before !== null) return before;
    // Content-addressed: a racing push of other bytes writes another segment, never this one.
    await storage.putSegment(ionKeys.archive(metadata.app, metadata.rev, metadata.archiveSha256), archive);
    if (await storage.casRecord(key, null, Buffer.from(JSON.stringify(metadata), 'utf8'))) return { app: metadata.app, rev: metadata.rev, created: true };
    return (await answer()) ?? fail('ion/revision-exists', `Revision ${metadata.rev} of ${metadata.app} was being pushed at the same moment; push again.`, { app: metadata.app, rev: metadata.rev });
  }

  private exists(metadata: RevisionMetadata, stored: RevisionMetadata | null): never {
    return fail('ion/revision-exists', `Revision ${metadata.rev} of ${metadata.app} was pushed before with other contents (pushed ${stored?.pushedAt ?? 'just now'}), and a revision never changes. Commit your change (the revision is named after the commit) or push with another --uname.`, { app: metadata.app, rev: metadata.rev });
  }

  async revisions(args: Args): Promise<unknown> {
    const app = args.app === undefined || args.app === null ? null : name(args, 'app', APP_NAME, 'an application name');
    const seen = new Set<string>();
    for await (const key of this.options.storage.listSegments(app === null ? ionKeys.archives : `${ionKeys.archives}${app}/`)) {
      const [, , keyApp, rev] = key.split('/');
      if (keyApp !== undefined && rev !== undefined) seen.add(`${keyApp}/${rev}`);
    }
    const found: RevisionMetadata[] = [];
    for (const pair of seen) {
      const [keyApp, rev] = pair.split('/') as [string, string];
      const record = await this.options.storage.getRecord(ionKeys.metadata(keyApp, rev));
      if (record !== null) found.push(parseJson<RevisionMetadata>(record.bytes));
    }
    return found.sort((a, b) => (a.pushedAt < b.pushedAt ? -1 : a.pushedAt > b.pushedAt ? 1 : 0));
  }

  async deploy(args: Args): Promise<unknown> {
    const group = name(args, 'group', GROUP_NAME, "a compute group's name (primary, or a query group's)");
    const app = name(args, 'app', APP_NAME, 'an application name');
    const rev = name(args, 'rev', REV_NAME, 'a revision name (as factum ions push printed it)');
    const { storage } = this.options;
    if ((await storage.getRecord(ionKeys.metadata(app, rev))) === null) {
      return fail('ion/revision-not-found', `No revision ${rev} of ${app} was pushed to this system. Push it first (factum ions push), then deploy the revision it prints.`, { app, rev });
    }
    // A group's nodes write its status record from their start: none means no node of that name runs.
    if ((await storage.getRecord(ionKeys.status(group))) === null) {
      return fail('ion/unknown-group', `No node of compute group ${JSON.stringify(group)} has ever reported to this system, so nothing would load the revision. Check the group's name (primary, or a query group's: factum ions status --group <name>).`, { group });
    }
    const { deployment: current, version } = await readDeployment(storage, group);
    if (current !== null && current.state === 'deploying' && this.now() - Date.parse(current.startedAt) < DEPLOY_STALE_MS) {
      if (current.app === app && current.rev === rev) return { deployId: current.deployId };
      return fail('ion/deploy-in-progress', `Group ${group} is still deploying ${current.app} revision ${current.rev} (started ${current.startedAt}). Wait for it to finish (factum ions status --group ${group}), then deploy again.`, { group, deployId: current.deployId });
    }
    const deployment: Deployment = {
      deployId: `${new Date(this.now()).toISOString().replace(/[-:.]/g, '')}-${Math.random().toString(36).slice(2, 8)}`,
      group,
      app,
      rev,
      previous: current === null ? null : current.state === 'deploying' ? current.previous : targetOf(current),
      state: 'deploying',
      startedAt: new Date(this.now()).toISOString(),
    };
    if (!(await storage.casRecord(ionKeys.deployment(group), version, Buffer.from(JSON.stringify(deployment), 'utf8')))) {
      return fail('ion/deploy-in-progress', `Another deployment of group ${group} was recorded at the same moment. Look at it (factum ions status --group ${group}) and deploy again if you still mean to.`, { group });
    }
    this.options.onDeployed?.(group);
    return { deployId: deployment.deployId };
  }

  async status(args: Args): Promise<unknown> {
    const group = name(args, 'group', GROUP_NAME, "a compute group's name (primary, or a query group's)");
    const { deployment } = await readDeployment(this.options.storage, group);
    const { status } = await readStatus(this.options.storage, group);
    const own = group === this.options.group && this.options.deployer !== null;
    const nodes = Object.values(status.nodes).map(({ beat: _beat, ...entry }) => ({
      ...entry,
      // Another group's nodes: judged by their own clocks' `at`, with room for clocks apart.
      live: own ? this.options.deployer!.isLive(entry.node) : this.now() - Date.parse(entry.at) < 2 * GONE_MS,
    }));
    return { group, deployment, nodes: nodes.sort((a, b) => (a.node < b.node ? -1 : 1)) } satisfies IonGroupStatus;
  }

  async invoke(args: Args): Promise<unknown> {
    const lambda = args.name;
    if (typeof lambda !== 'string' || lambda.length === 0) return wrongArgument('name', lambda, "a Lambda ion's name (from ion-config.json lambdas)");
    const input = args.input;
    if (typeof input !== 'string') return wrongArgument('input', input, 'the event as a string (JSON)');
    return { output: await this.options.active.lambda(lambda, input) };
  }
}
