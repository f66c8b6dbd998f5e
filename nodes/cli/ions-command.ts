//! `factum ions …`: push an ion project as a revision, deploy a revision onto a compute group,
//! show a group's status, list the revisions pushed (docs/ions.md).
//!
//!   factum ions push [--project DIR] [--uname NAME] [--group G]   bundle, check, upload; print the deploy command
//!   factum ions deploy --group G --rev R [--app A]                deploy and watch (exit 1 if rolled back)
//!   factum ions status --group G                                  the deployment and each node
//!   factum ions revisions [--app A]                               the revisions pushed
//!
//! The node: --endpoint URL (or FACTUM_ENDPOINT), --system NAME (default: local), and the admin key
//! from --key-file FILE, else the local system's in --dir (as `factum repl --endpoint` finds it).
import path from 'node:path';
import { openIonAdmin, type IonAdmin } from '../../ions/ion-admin.ts';
import { pushRevision } from '../../ions/push.ts';
import { deployRevision, describeStatus } from '../../ions/deploy.ts';
import { readIonConfig } from '../../ions/read-ion-config.ts';
import { FactumError } from '../util/errors.ts';

export const ionsUsage = `  ions push [--project DIR] [--uname NAME]   push the ion project in DIR (default .) as a revision
  ions deploy --group G --rev R [--app A]    deploy a pushed revision onto compute group G and watch it
  ions status --group G                      what group G's nodes run
  ions revisions [--app A]                   the revisions pushed
    (ions: --endpoint URL or FACTUM_ENDPOINT; --system S; --key-file F, default the admin key in --dir)`;

export interface IonsCommandOptions {
  readonly dir: string;
  readonly endpoint?: string;
  readonly system: string;
  readonly keyFile?: string;
  readonly project?: string;
  readonly uname?: string;
  readonly group?: string;
  readonly rev?: string;
  readonly app?: string;
  /** The admin key file of the local system in `dir` (main.ts). */
  readonly adminKeyFile: (dir: string) => string;
  /** @default console.log */
  readonly print?: (line: string) => void;
}

/** A command line that does not say what to do (printed with the usage, exit status 1). */
export class IonsUsageError extends Error {
  override name = 'IonsUsageError';
}

function usage(message: string): IonsUsageError {
  return new IonsUsageError(message);
}

function openAdmin(options: IonsCommandOptions): IonAdmin {
  const endpoint = options.endpoint ?? process.env.FACTUM_ENDPOINT;
  if (endpoint === undefined) throw usage('factum ions needs the node: pass --endpoint URL (the endpoint `factum serve` printed, or the group\'s) or set FACTUM_ENDPOINT.');
  return openIonAdmin({ endpoint, system: options.system, keyFile: options.keyFile ?? options.adminKeyFile(options.dir) });
}

/** The options that reach the same node again, for the commands printed after a push. */
function nodeOptions(options: IonsCommandOptions): string {
  const parts: string[] = [];
  if (options.endpoint !== undefined) parts.push(`--endpoint ${options.endpoint}`);
  if (options.system !== 'local') parts.push(`--system ${options.system}`);
  if (options.keyFile !== undefined) parts.push(`--key-file ${options.keyFile}`);
  else if (path.resolve(options.dir) !== path.resolve('./data')) parts.push(`--dir ${options.dir}`);
  return parts.map((part) => ` ${part}`).join('');
}

/** --app, else the appName of the project's ion-config, else the one app that has that revision. */
async function appOf(admin: IonAdmin, options: IonsCommandOptions, rev: string): Promise<string> {
  if (options.app !== undefined) return options.app;
  if (options.project !== undefined) return (await readIonConfig(options.project)).appName;
  const apps = [...new Set((await admin.revisions()).filter((revision) => revision.rev === rev).map((revision) => revision.app))];
  if (apps.length === 1) return apps[0]!;
  if (apps.length === 0) throw new FactumError('ion/revision-not-found', `no application has a revision ${rev} on this system; push it first (factum ions push), or check --rev.`, { rev });
  throw usage(`revision ${rev} belongs to several applications (${apps.join(', ')}); pass --app.`);
}

/** Runs `factum ions <subcommand>`; resolves with the exit status. */
export async function runIonsCommand(subcommand: string | undefined, options: IonsCommandOptions): Promise<number> {
  const print = options.print ?? ((line: string) => console.log(line));
  const need = (value: string | undefined, flag: string): string => {
    if (value === undefined || value === '') throw usage(`factum ions ${subcommand} needs ${flag}.`);
    return value;
  };
  if (subcommand !== 'push' && subcommand !== 'deploy' && subcommand !== 'status' && subcommand !== 'revisions') {
    throw usage(`unknown ions command ${JSON.stringify(subcommand ?? '')}; expected push, deploy, status or revisions.`);
  }
  // Checked before connecting: a missing flag should not wait on a node.
  if (subcommand === 'deploy') {
    need(options.group, '--group G');
    need(options.rev, '--rev R');
  }
  if (subcommand === 'status') need(options.group, '--group G');
  const admin = openAdmin(options);
  try {
    switch (subcommand) {
      case 'push': {
        const projectDirectory = options.project ?? '.';
        const result = await pushRevision({ admin, projectDirectory, ...(options.uname === undefined ? {} : { uname: options.uname }), onProgress: print });
        print('deploy it with:');
        print(`  factum ions deploy --group ${options.group ?? 'primary'} --app ${result.app} --rev ${result.rev}${nodeOptions(options)}`);
        return 0;
      }
      case 'deploy': {
        const rev = options.rev!;
        const outcome = await deployRevision(admin, { group: options.group!, app: await appOf(admin, options, rev), rev, onProgress: print });
        return outcome.deployment.state === 'deployed' ? 0 : 1;
      }
      case 'status':
        for (const line of describeStatus(await admin.status(options.group!))) print(line);
        return 0;
      case 'revisions': {
        const revisions = await admin.revisions(options.app);
        if (revisions.length === 0) print(options.app === undefined ? 'no revision pushed yet' : `no revision of ${options.app} pushed yet`);
        for (const revision of revisions) {
          print(`${revision.app}/${revision.rev}  pushed ${revision.pushedAt}  ${revision.archiveBytes} bytes  sha256 ${revision.archiveSha256.slice(0, 12)}…`);
        }
        return 0;
      }
    }
  } finally {
    admin.close();
  }
}
