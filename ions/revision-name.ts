//! A revision's name, as Datomic Cloud's push names it: the git commit of the project when its
//! tree is clean (so a revision always says exactly which sources it holds), or the name the user
//! gives with `--uname` when it is not (uncommitted changes, or no git at all).
//!
//! "Clean" is `git status --porcelain` empty for the project folder: no modified, staged or
//! untracked file under it (ignored files do not count).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { REV_NAME } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';

/** How many changed files a dirty-tree error lists. */
const CHANGES_SHOWN_MAX = 10;

export interface RevisionNameOptions {
  readonly projectDirectory: string;
  /** `--uname`: the revision's name, required when the tree is dirty or not in git. */
  readonly uname?: string;
}

export interface RevisionName {
  readonly rev: string;
  /** Where the name came from. */
  readonly source: 'git' | 'uname';
}

function git(directory: string, args: readonly string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: directory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trimEnd();
  } catch {
    // Not a work tree, no commit yet, or no git installed: the caller asks for --uname.
    return null;
  }
}

function needUname(reason: string, data: Record<string, unknown>, details = ''): FactumError {
  return new FactumError('ion/invalid-revision-name', `${reason}, so the revision cannot be named after a commit; pass --uname NAME to name it (letters, digits, ".", "_", "-"), or commit first.${details}`, data);
}

/**
 * Names the revision of the project: `--uname` if given, else the commit of a clean tree.
 * @example revisionName({ projectDirectory: '.', uname: 'alice-try-1' })  // { rev: 'alice-try-1', source: 'uname' }
 */
export function revisionName({ projectDirectory, uname }: RevisionNameOptions): RevisionName {
  if (uname !== undefined) {
    if (!REV_NAME.test(uname)) {
      throw new FactumError('ion/invalid-revision-name', `--uname is ${JSON.stringify(uname)}; expected 1–100 letters, digits, ".", "_" or "-", starting with a letter or digit.`, { uname });
    }
    return { rev: uname, source: 'uname' };
  }
  const directory = path.resolve(projectDirectory);
  if (git(directory, ['rev-parse', '--is-inside-work-tree']) !== 'true') throw needUname(`${directory} is not in a git work tree`, { projectDirectory: directory });
  const head = git(directory, ['rev-parse', '--verify', 'HEAD']);
  if (head === null) throw needUname(`the git repository of ${directory} has no commit yet`, { projectDirectory: directory });
  throwIfUncommitted(directory, ['.'], `the project ${directory} has uncommitted changes`);
  return { rev: head, source: 'git' };
}

/** Throws the dirty-tree error when git status shows changes (modified, staged, untracked) of `paths`. */
function throwIfUncommitted(directory: string, paths: readonly string[], reason: string): void {
  const status = git(directory, ['status', '--porcelain', '--untracked-files=all', '--', ...paths]);
  if (status === null) throw needUname(`git status failed in ${directory}`, { projectDirectory: directory });
  if (status === '') return;
  const changes = status.split('\n');
  const shown = changes.slice(0, CHANGES_SHOWN_MAX).map((line) => `  ${line}`).join('\n');
  const more = changes.length > CHANGES_SHOWN_MAX ? `\n  … and ${changes.length - CHANGES_SHOWN_MAX} more` : '';
  throw needUname(reason, { projectDirectory: directory, changes: changes.length }, `\nChanges (git status):\n${shown}${more}`);
}

/**
 * After bundling: the sources the bundle holds from outside the project folder but inside its
 * repository (a monorepo's shared code) must be committed too, or the commit would not say what the
 * revision holds. Dependencies under node_modules are left out: the lock file's hash records them.
 * @example checkSourcesCommitted('packages/bank', ['/repo/packages/shared/money.ts'])
 */
export function checkSourcesCommitted(projectDirectory: string, sources: readonly string[]): void {
  const directory = realpathSync(projectDirectory);
  const top = git(directory, ['rev-parse', '--show-toplevel']);
  if (top === null) return;
  const inside = (file: string, folder: string) => {
    const relative = path.relative(folder, file);
    return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
  };
  const outside = sources.filter((file) => !inside(file, directory) && inside(file, top) && !file.split(path.sep).includes('node_modules'));
  if (outside.length === 0) return;
  throwIfUncommitted(directory, outside, `sources the project imports from outside its folder have uncommitted changes`);
}

/** SHA-256 (hex) of the project's package-lock.json, or null without one. */
export function lockHash(projectDirectory: string): string | null {
  const file = path.join(projectDirectory, 'package-lock.json');
  if (!existsSync(file)) return null;
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}
