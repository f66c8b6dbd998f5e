//! A pushed revision, fetched from the system's storage, checked, and started on its own thread.
import { createHash } from 'node:crypto';
import type { Storage } from '../storage/protocol.ts';
import { fail } from '../util/errors.ts';
import type { LoadedRevision } from './active-ions.ts';
import { unpackRevision } from './archive.ts';
import { IonHost, type IonHostOptions } from './host.ts';
import { ionKeys, type RevisionMetadata } from './revision.ts';

/** What every revision on this node starts with (IonHostOptions but the revision's own parts). */
export type HostSettings = Omit<IonHostOptions, 'bundle' | 'config'>;

export async function loadRevision(storage: Storage, app: string, rev: string, settings: HostSettings): Promise<LoadedRevision> {
  const record = await storage.getRecord(ionKeys.metadata(app, rev));
  if (record === null) return fail('ion/revision-not-found', `Revision ${rev} of ${app} is not in this system's storage; push it again (factum ions push).`, { app, rev });
  const metadata = JSON.parse(Buffer.from(record.bytes).toString('utf8')) as RevisionMetadata;
  const archive = await storage.getSegment(ionKeys.archive(app, rev, metadata.archiveSha256));
  if (archive === null) return fail('ion/revision-not-found', `The archive of revision ${rev} of ${app} is missing from storage although its metadata is there; push it again (factum ions push --uname <new name>).`, { app, rev });
  const digest = createHash('sha256').update(archive).digest('hex');
  if (digest !== metadata.archiveSha256) {
    return fail('ion/invalid-revision', `The archive of revision ${rev} of ${app} read from storage is damaged (SHA-256 ${digest}, expected ${metadata.archiveSha256}); push the revision again under another name.`, { app, rev });
  }
  const { bundle, config } = unpackRevision(archive);
  const host = await IonHost.start({ ...settings, bundle, config });
  return { app, rev, config, host };
}
