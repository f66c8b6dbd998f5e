import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { prepareRevision } from './push.ts';
import { loadExports } from './load-exports.ts';
import { unpackRevision } from '../nodes/ions/archive.ts';
import { isFactumError, type FactumError } from '../nodes/util/errors.ts';

const example = fileURLToPath(new URL('./examples', import.meta.url));
const root = mkdtempSync(path.join(os.tmpdir(), 'factum-push-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A copy of the example project at `relative` under the test's folder. */
function copyOfExample(relative: string): string {
  const target = path.join(root, relative);
  cpSync(example, target, { recursive: true });
  return target;
}

/** A project from files (path → text). */
function project(name: string, files: Record<string, string>): string {
  const directory = path.join(root, name);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(directory, file)), { recursive: true });
    writeFileSync(path.join(directory, file), text);
  }
  return directory;
}

async function failure(promise: Promise<unknown>, code: FactumError['code']): Promise<FactumError> {
  const error = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  expect(isFactumError(error, code), String(error)).toBe(true);
  return error as FactumError;
}

describe('prepareRevision', () => {
  it('gives identical archive bytes for the same sources in two different folders', async () => {
    const first = await prepareRevision({ projectDirectory: copyOfExample('a/examples'), uname: 'r1' });
    const second = await prepareRevision({ projectDirectory: copyOfExample('b/deeper/still/bank'), uname: 'r1' });
    expect(Buffer.from(first.archive).equals(Buffer.from(second.archive))).toBe(true);
    expect(first.metadata.archiveSha256).toBe(second.metadata.archiveSha256);
    expect(first.notes).toEqual([]);
    const { bundle, config } = unpackRevision(first.archive);
    expect(config).toEqual(first.metadata.config);
    expect(first.metadata).toMatchObject({ app: 'bank', rev: 'r1', archiveBytes: first.archive.length, lockHash: null });
    // Self-contained, and nothing of where it was built.
    expect(bundle).not.toMatch(/^import .* from ["']factum\/ion["']/m);
    expect(bundle).not.toContain(root);
    expect(bundle).not.toContain(os.tmpdir());
    expect(bundle).not.toContain(fileURLToPath(new URL('..', import.meta.url)));
  });

  it('gives other bytes after a one-byte change of a source', async () => {
    const directory = copyOfExample('c/examples');
    const before = await prepareRevision({ projectDirectory: directory, uname: 'r1' });
    const file = path.join(directory, 'src', 'score.ts');
    writeFileSync(file, (await import('node:fs')).readFileSync(file, 'utf8').replace('1_000', '1_001'));
    const after = await prepareRevision({ projectDirectory: directory, uname: 'r1' });
    expect(Buffer.from(before.archive).equals(Buffer.from(after.archive))).toBe(false);
  });

  it('bundles dependencies (CommonJS ones too) and keeps Node built-ins as imports; the bundle loads', async () => {
    const directory = project('deps', {
      'ion-config.json': '{"appName":"deps","allow":["joined","hash"]}',
      'node_modules/joiner/package.json': '{"name":"joiner","version":"1.0.0","main":"index.js"}',
      'node_modules/joiner/index.js': "const path = require('node:path');\nmodule.exports = (...parts) => path.posix.join(...parts);\n",
      'package-lock.json': '{"lockfileVersion":3}',
      'src/index.ts': "import joiner from 'joiner';\nimport { createHash } from 'node:crypto';\nexport const joined = (a: string, b: string): string => joiner(a, b);\nexport function hash(text: string): string { return createHash('sha256').update(text).digest('hex'); }\n",
    });
    const { archive, metadata } = await prepareRevision({ projectDirectory: directory, uname: 'v1' });
    expect(metadata.lockHash).toMatch(/^[0-9a-f]{64}$/);
    const { bundle } = unpackRevision(archive);
    expect(bundle).toContain('path.posix.join');
    expect(bundle).toMatch(/from "node:crypto"/);
    expect(await loadExports(bundle)).toEqual({ loaded: true, types: { hash: 'function', joined: 'function' } });
  });

  it('loads a module that declares its own require, __filename and __dirname (regression: the banner declared them too)', async () => {
    const directory = project('esm-idiom', {
      'ion-config.json': '{"appName":"idiom","allow":["where"]}',
      'node_modules/sizer/package.json': '{"name":"sizer","version":"1.0.0","main":"index.js"}',
      'node_modules/sizer/index.js': "const os = require('node:os');\nmodule.exports = () => typeof os.cpus;\n",
      'src/index.ts': [
        "import { createRequire } from 'node:module';",
        "import { fileURLToPath } from 'node:url';",
        "import path from 'node:path';",
        "import sizer from 'sizer';",
        'const __filename = fileURLToPath(import.meta.url);',
        'const __dirname = path.dirname(__filename);',
        'const require = createRequire(import.meta.url);',
        'export function where() { return [__dirname, typeof require, sizer()]; }',
        '',
      ].join('\n'),
    });
    const { archive, notes } = await prepareRevision({ projectDirectory: directory, uname: 'v1' });
    expect(notes).toEqual([]);
    expect(await loadExports(unpackRevision(archive).bundle)).toEqual({ loaded: true, types: { where: 'function' } });
  });

  it('bundles a dependency linked the way pnpm links it (its own dependency a sibling in the store)', async () => {
    const store = 'node_modules/.pnpm/greeter@1.0.0/node_modules';
    const directory = project('pnpm', {
      'ion-config.json': '{"appName":"deps","allow":["greet"]}',
      [`${store}/greeter/package.json`]: '{"name":"greeter","version":"1.0.0","type":"module","main":"index.js"}',
      [`${store}/greeter/index.js`]: "import shout from 'shouter';\nexport const greet = (name) => shout(`hello ${name}`);\n",
      [`${store}/shouter/package.json`]: '{"name":"shouter","version":"1.0.0","type":"module","main":"index.js"}',
      [`${store}/shouter/index.js`]: 'export default (text) => text.toUpperCase();\n',
      'src/index.ts': "export { greet } from 'greeter';\n",
    });
    symlinkSync(path.join(directory, store, 'greeter'), path.join(directory, 'node_modules', 'greeter'), 'junction');
    const { archive } = await prepareRevision({ projectDirectory: directory, uname: 'v1' });
    const { bundle } = unpackRevision(archive);
    expect(bundle).toContain('// node_modules/.pnpm/greeter@1.0.0/node_modules/shouter/index.js');
    expect(await loadExports(bundle)).toEqual({ loaded: true, types: { greet: 'function' } });
  });

  it('refuses names that are not exported functions, before anything is uploaded', async () => {
    const directory = project('exports', {
      'ion-config.json': '{"appName":"shop","allow":["transfer","rate","missing"],"lambdas":{"nightly":{"handler":"report"}}}',
      'src/index.ts': 'export async function transfer() { return []; }\nexport const rate = 0.5;\nexport function report() { return "ok"; }\n',
    });
    const error = await failure(prepareRevision({ projectDirectory: directory, uname: 'v1' }), 'ion/invalid-config');
    expect(error.data.problems).toEqual([
      'allow[1]: "rate" is not a function (it is number); expected an exported function',
      'allow[2]: "missing" is an unknown export; the entry module exports "rate", "report", "transfer"',
    ]);
  });

  it('still checks names when the module cannot load outside a node, and says why types were not checked', async () => {
    const directory = project('top-level', {
      'ion-config.json': '{"appName":"shop","allow":["stage","gone"]}',
      'src/index.ts': "import { getEnv } from 'factum/ion';\nconst env = getEnv();\nexport function stage() { return env.stage; }\n",
    });
    const error = await failure(prepareRevision({ projectDirectory: directory, uname: 'v1' }), 'ion/invalid-config');
    expect(error.data.problems).toEqual(['allow[1]: "gone" is an unknown export; the entry module exports "stage"']);
    writeFileSync(path.join(directory, 'ion-config.json'), '{"appName":"shop","allow":["stage"]}');
    const { notes } = await prepareRevision({ projectDirectory: directory, uname: 'v1' });
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/could not load the bundle here .*factum\/ion was called outside an ion thread.*the nodes check when they load the revision/);
  });

  it('reports bundling errors with their file and line', async () => {
    const directory = project('broken', {
      'ion-config.json': '{"appName":"shop","allow":[]}',
      'src/index.ts': "import { nothing } from './absent.ts';\nexport const x = nothing;\nexport function (\n",
    });
    const error = await failure(prepareRevision({ projectDirectory: directory, uname: 'v1' }), 'ion/bundle-failed');
    expect(error.message).toMatch(/bundling .*src\/index.ts failed:\n/);
    expect((error.data.problems as string[]).join('\n')).toMatch(/^src\/index.ts:3:\d+: /m);
  });

  it('checks the config and the revision name before bundling', async () => {
    const directory = project('config-first', { 'ion-config.json': '{"appName":"Shop","allow":[]}' });
    await failure(prepareRevision({ projectDirectory: directory, uname: 'v1' }), 'ion/invalid-config');
    const named = project('name-first', { 'ion-config.json': '{"appName":"shop","allow":[]}' });
    await failure(prepareRevision({ projectDirectory: named }), 'ion/invalid-revision-name');
  });
});
