//! `factum ions push`: turns an ion project into a revision and uploads it.
//!
//!   ion-config.json ─validate─▶ name (git commit | --uname) ─▶ esbuild bundle ─▶ exports checked
//!        ─▶ archive (deterministic bytes) + metadata (app, rev, config, SHA-256, lock hash) ─▶ ionPush
//!
//! Everything that can be wrong with the project is found before the upload: a bad config, a dirty
//! tree without --uname, a bundling error, a name that is not an exported function. A revision is
//! immutable: pushing the same sources again under the same name is accepted as already there;
//! other bytes under a pushed name are refused by the node ('ion/revision-exists').
import { createHash } from 'node:crypto';
import path from 'node:path';
import { exportTypeProblems, namedExports } from './config.ts';
import { bundleProject } from './bundle.ts';
import type { IonAdmin, PushAnswer } from './ion-admin.ts';
import { loadExports } from './load-exports.ts';
import { readIonConfig } from './read-ion-config.ts';
import { checkSourcesCommitted, lockHash, revisionName } from './revision-name.ts';
import { packRevision, unpackRevision } from '../nodes/ions/archive.ts';
import type { IonConfig, RevisionMetadata } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';

export interface PrepareOptions {
  /** The ion project's folder (holding ion-config.json). */
  readonly projectDirectory: string;
  /** The revision's name when the tree is dirty or not in git. */
  readonly uname?: string;
  /** Progress lines, for people watching. @default - none */
  readonly onProgress?: (line: string) => void;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

export interface PreparedRevision {
  readonly metadata: RevisionMetadata;
  readonly archive: Uint8Array;
  /** Notes for the user that do not stop the push (e.g. exports whose type could not be checked). */
  readonly notes: readonly string[];
}

/** Everything up to the upload: the checked, bundled and archived revision and its metadata. */
export async function prepareRevision(options: PrepareOptions): Promise<PreparedRevision> {
  const progress = options.onProgress ?? (() => {});
  const projectDirectory = path.resolve(options.projectDirectory);
  const config = await readIonConfig(projectDirectory);
  const { rev, source } = revisionName({ projectDirectory, ...(options.uname === undefined ? {} : { uname: options.uname }) });
  progress(`bundling ${config.appName} (revision ${rev}) from ${projectDirectory}`);
  const started = performance.now();
  const { bundle, exports, sources } = await bundleProject(projectDirectory, config);
  if (source === 'git') checkSourcesCommitted(projectDirectory, sources);
  progress(`bundled: ${Buffer.byteLength(bundle)} bytes in ${Math.round(performance.now() - started)} ms`);
  const notes = await checkBundleExports(config, bundle, exports);
  const archive = packRevision({ bundle, config });
  const metadata: RevisionMetadata = {
    app: config.appName,
    rev,
    // As the archive holds it (keys sorted): the node checks that the two agree.
    config: unpackRevision(archive).config,
    archiveSha256: createHash('sha256').update(archive).digest('hex'),
    archiveBytes: archive.length,
    lockHash: lockHash(projectDirectory),
    pushedAt: (options.now?.() ?? new Date()).toISOString(),
  };
  return { metadata, archive, notes };
}

/**
 * Checks every allowed, HTTP and Lambda name against the bundle: names from esbuild's view of the
 * entry's exports, types from loading it. A bundle that does not load here still gets the names
 * checked (the nodes check the types when they load it); why it did not load is returned as a note.
 */
async function checkBundleExports(config: IonConfig, bundle: string, exportNames: readonly string[]): Promise<string[]> {
  const loaded = namedExports(config).length === 0 ? null : await loadExports(bundle);
  // Without a load, only the names are known: a name that is exported at all passes here.
  const types = loaded?.loaded === true ? loaded.types : Object.fromEntries(exportNames.map((name) => [name, null]));
  const problems = exportTypeProblems(config, types);
  if (problems.length > 0) {
    throw new FactumError('ion/invalid-config', `the ions of ${config.appName} name what the entry module does not export as functions:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, { app: config.appName, problems });
  }
  if (loaded?.loaded === false) return [`could not load the bundle here to check that its exports are functions (${loaded.reason.split('\n')[0]}); the nodes check when they load the revision`];
  return [];
}

export interface PushOptions extends PrepareOptions {
  readonly admin: IonAdmin;
}

export interface PushResult extends PushAnswer {
  readonly metadata: RevisionMetadata;
  readonly notes: readonly string[];
}

/**
 * Prepares the project's revision and uploads it to the node `admin` speaks to.
 * @example
 * const { app, rev } = await pushRevision({ projectDirectory: 'ions/examples', admin, onProgress: console.log });
 */
export async function pushRevision(options: PushOptions): Promise<PushResult> {
  const progress = options.onProgress ?? (() => {});
  const { metadata, archive, notes } = await prepareRevision(options);
  for (const note of notes) progress(`note: ${note}`);
  progress(`uploading ${metadata.app}/${metadata.rev}: ${archive.length} bytes (sha256 ${metadata.archiveSha256.slice(0, 12)}…)`);
  const answer = await options.admin.push(metadata, archive);
  progress(answer.created ? `pushed ${answer.app} revision ${answer.rev}` : `${answer.app} revision ${answer.rev} was pushed already (same bytes)`);
  return { ...answer, metadata, notes };
}
