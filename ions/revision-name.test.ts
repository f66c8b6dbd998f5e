import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSourcesCommitted, lockHash, revisionName } from './revision-name.ts';
import { prepareRevision } from './push.ts';
import { isFactumError } from '../nodes/util/errors.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'factum-rev-name-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function git(directory: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], { cwd: directory, encoding: 'utf8' }).trim();
}

/** A git repository holding an ion project in `app/` and another folder beside it. */
function repository(name: string): { readonly repo: string; readonly project: string } {
  const repo = path.join(root, name);
  const project = path.join(repo, 'app');
  mkdirSync(path.join(project, 'src'), { recursive: true });
  mkdirSync(path.join(repo, 'other'));
  writeFileSync(path.join(project, 'ion-config.json'), '{"appName":"shop","allow":[]}');
  writeFileSync(path.join(project, 'src', 'index.ts'), 'export {};\n');
  writeFileSync(path.join(repo, 'other', 'notes.txt'), 'one\n');
  git(repo, 'init', '-q');
  git(repo, 'add', '.');
  git(repo, 'commit', '-q', '-m', 'first');
  return { repo, project };
}

function nameError(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    expect(isFactumError(error, 'ion/invalid-revision-name')).toBe(true);
    return error as Error;
  }
  throw new Error('expected ion/invalid-revision-name');
}

describe('revisionName', () => {
  it('names a clean tree after its commit', () => {
    const { repo, project } = repository('clean');
    expect(revisionName({ projectDirectory: project })).toEqual({ rev: git(repo, 'rev-parse', 'HEAD'), source: 'git' });
  });

  it('requires --uname for a modified, staged or untracked file in the project, naming it', () => {
    const { repo, project } = repository('dirty');
    writeFileSync(path.join(project, 'src', 'index.ts'), 'export const x = 1;\n');
    expect(nameError(() => revisionName({ projectDirectory: project })).message).toMatch(/has uncommitted changes, so the revision cannot be named after a commit; pass --uname NAME[\s\S]*Changes \(git status\):\n {2}.M app\/src\/index.ts/);
    git(repo, 'add', '.');
    expect(nameError(() => revisionName({ projectDirectory: project })).message).toMatch(/src\/index.ts/);
    git(repo, 'commit', '-q', '-m', 'second');
    expect(revisionName({ projectDirectory: project }).rev).toBe(git(repo, 'rev-parse', 'HEAD'));
    writeFileSync(path.join(project, 'new.ts'), '');
    expect(nameError(() => revisionName({ projectDirectory: project })).message).toMatch(/new.ts/);
    expect(revisionName({ projectDirectory: project, uname: 'alice-try.1' })).toEqual({ rev: 'alice-try.1', source: 'uname' });
  });

  it('ignores changes outside the project folder and ignored files', () => {
    const { repo, project } = repository('outside');
    writeFileSync(path.join(repo, 'other', 'notes.txt'), 'two\n');
    writeFileSync(path.join(repo, '.gitignore'), 'app/build/\n');
    git(repo, 'add', '.gitignore');
    git(repo, 'commit', '-q', '-m', 'ignore');
    mkdirSync(path.join(project, 'build'));
    writeFileSync(path.join(project, 'build', 'out.js'), '');
    expect(revisionName({ projectDirectory: project })).toEqual({ rev: git(repo, 'rev-parse', 'HEAD'), source: 'git' });
  });

  it('requires --uname outside git and before the first commit', () => {
    const plain = path.join(root, 'plain');
    mkdirSync(plain);
    expect(nameError(() => revisionName({ projectDirectory: plain })).message).toMatch(/is not in a git work tree, so the revision cannot be named after a commit; pass --uname NAME/);
    expect(revisionName({ projectDirectory: plain, uname: 'v1' }).rev).toBe('v1');
    const empty = path.join(root, 'empty');
    mkdirSync(empty);
    git(empty, 'init', '-q');
    expect(nameError(() => revisionName({ projectDirectory: empty })).message).toMatch(/has no commit yet/);
  });

  it('refuses a --uname that is not a revision name', () => {
    for (const uname of ['', '-x', 'a/b', 'a b', 'x'.repeat(101), '../up']) {
      expect(nameError(() => revisionName({ projectDirectory: root, uname })).message).toContain(`--uname is ${JSON.stringify(uname)}`);
    }
  });
});

describe('checkSourcesCommitted', () => {
  it('requires the sources imported from outside the project folder to be committed too (node_modules aside)', async () => {
    const { repo, project } = repository('monorepo');
    mkdirSync(path.join(repo, 'shared'));
    mkdirSync(path.join(repo, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(path.join(repo, 'shared', 'money.ts'), 'export const cents = (n: number) => n * 100;\n');
    writeFileSync(path.join(project, 'src', 'index.ts'), "import { cents } from '../../shared/money.ts';\nexport const price = () => cents(3);\n");
    writeFileSync(path.join(project, 'ion-config.json'), '{"appName":"shop","allow":["price"]}');
    git(repo, 'add', 'shared', 'app');
    git(repo, 'commit', '-q', '-m', 'shared');
    const shared = path.join(repo, 'shared', 'money.ts');
    const dependency = path.join(repo, 'node_modules', 'dep', 'index.js');
    writeFileSync(dependency, '');
    expect(() => checkSourcesCommitted(project, [path.join(project, 'src', 'index.ts'), shared, dependency, '/elsewhere/x.ts'])).not.toThrow();
    expect((await prepareRevision({ projectDirectory: project })).metadata.rev).toBe(git(repo, 'rev-parse', 'HEAD'));

    writeFileSync(shared, 'export const cents = (n: number) => n * 1000;\n');
    expect(nameError(() => checkSourcesCommitted(project, [shared])).message).toMatch(/sources the project imports from outside its folder have uncommitted changes, so the revision cannot be named after a commit; pass --uname NAME[\s\S]*M shared\/money.ts/);
    const error = await prepareRevision({ projectDirectory: project }).catch((caught: unknown) => caught);
    expect(isFactumError(error, 'ion/invalid-revision-name')).toBe(true);
    expect((await prepareRevision({ projectDirectory: project, uname: 'wip' })).metadata.rev).toBe('wip');
  });
});

describe('lockHash', () => {
  it('is the SHA-256 of package-lock.json, or null without one', () => {
    const directory = path.join(root, 'lock');
    mkdirSync(directory);
    expect(lockHash(directory)).toBeNull();
    writeFileSync(path.join(directory, 'package-lock.json'), 'abc');
    expect(lockHash(directory)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
