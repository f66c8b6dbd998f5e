//! The ion operations of a node (client/wire/protocol.ts), called through the remote client's
//! signed transport: what `factum ions push|deploy|status` and programs driving deploys use.
//! Pushing, deploying and reading the status need the system's admin key; invoking a Lambda ion
//! needs any key of the system.
//!
//! Which calls are retried after a lost connection: push is (a revision is immutable, and the same
//! bytes pushed again are accepted as already there), status and revisions are reads; deploy is
//! not (a second deployment could start behind the first), nor is invoke (the ion may not be
//! idempotent).
import type { RemoteClientConfig } from '../client/types.ts';
import { resolveAccessKey } from '../client/remote/resolve-key.ts';
import { Transport } from '../client/remote/transport.ts';
import type { IonGroupStatus, RevisionMetadata } from '../nodes/ions/revision.ts';

export interface PushAnswer {
  readonly app: string;
  readonly rev: string;
  /** False when the same revision (same bytes) was there already. */
  readonly created: boolean;
}

/**
 * A connection to a node for the ion operations.
 * @example
 * const admin = openIonAdmin({ endpoint: 'http://127.0.0.1:8182', system: 'local', keyFile: './data/access/admin/….json' });
 * const { deployId } = await admin.deploy({ group: 'primary', app: 'shop', rev: 'a1b2c3…' });
 * console.log(await admin.status('primary'));
 * admin.close();
 */
export interface IonAdmin {
  /** Uploads a revision (its archive and metadata) into the system's storage. */
  push(metadata: RevisionMetadata, archive: Uint8Array): Promise<PushAnswer>;
  /** The revisions pushed, of one application or of all. */
  revisions(app?: string): Promise<RevisionMetadata[]>;
  /** Records a deployment of the revision onto the group; its nodes switch to it one at a time. */
  deploy(target: { readonly group: string; readonly app: string; readonly rev: string }): Promise<{ readonly deployId: string }>;
  /** The group's deployment and what each of its nodes runs. */
  status(group: string): Promise<IonGroupStatus>;
  /** Calls a Lambda ion of the group's running revision (its name in ion-config.json `lambdas`) with its input, as its Lambda proxy does. */
  invoke(lambda: string, input: string): Promise<string>;
  close(): void;
}

/** A client of the ion operations on the node at `config.endpoint`, signing with the key config names. */
export function openIonAdmin(config: RemoteClientConfig): IonAdmin {
  const transport = new Transport({
    endpoint: config.endpoint,
    system: config.system,
    key: resolveAccessKey(config),
    // An upload of a large bundle or a slow deploy record may take longer than a query's default.
    timeoutMs: config.timeoutMs ?? 120_000,
    ...(config.retry === undefined ? {} : { retry: config.retry }),
  });
  return {
    push: async (metadata, archive) => (await transport.call('ionPush', { metadata, archive }, { idempotent: true })).value as PushAnswer,
    revisions: async (app) => (await transport.call('ionRevisions', app === undefined ? {} : { app }, { idempotent: true })).value as RevisionMetadata[],
    deploy: async ({ group, app, rev }) => (await transport.call('ionDeploy', { group, app, rev }, { idempotent: false })).value as { deployId: string },
    status: async (group) => (await transport.call('ionStatus', { group }, { idempotent: true })).value as IonGroupStatus,
    invoke: async (lambda, input) => ((await transport.call('ionInvoke', { name: lambda, input }, { idempotent: false })).value as { output: string }).output,
    close: () => transport.close(),
  };
}
