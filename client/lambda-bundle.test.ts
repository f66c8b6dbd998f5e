// The Lambda-light entry point (client/remote.ts) and the example handler, bundled as a Lambda
// function is: the bundle must hold none of the engine, must not load the AWS SDK until a key is
// fetched from S3, and must load in a fresh node process with nothing beside it.
//
// The bundle is split (`splitting: true`): without it esbuild inlines the lazily imported KMS
// envelope (nodes/storage/aws/envelope.ts) and hoists its static `import … from
// '@aws-sdk/client-kms'` to the top of the one file, so every cold start would load the KMS client
// (as long as loading DynamoDB's; bench/lambda-bundle.bench.ts shows both), even with a key file.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The bundle options of the deployment notes in client/examples/lambda-handler.ts (and of bench/lambda-bundle.bench.ts). */
const options: BuildOptions = { bundle: true, minify: true, splitting: true, platform: 'node', format: 'esm', target: 'node20', external: ['@aws-sdk/*'], outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]', metafile: true, logLevel: 'silent' };

/**
 * The only files under nodes/ a remote client may hold: plain values and their codes, shared with
 * the node's wire format, and the KMS envelope with the retry policy it wraps KMS calls in
 * (retry.ts, imported by envelope.ts), both in a chunk loaded only when a key is fetched from S3.
 */
const nodesAllowed = ['nodes/values/values.ts', 'nodes/util/errors.ts', 'nodes/datom/datom.ts', 'nodes/storage/aws/envelope.ts', 'nodes/storage/aws/retry.ts'];
/** Packages: msgpackr (the wire codec) and the loader of its optional native extension, which fails softly in a bundle. */
const packagesAllowed = ['msgpackr', 'msgpackr-extract', 'node-gyp-build-optional-packages', 'detect-libc'];

const entries = { remote: 'client/remote.ts', handler: 'client/examples/lambda-handler.ts' } as const;
type Name = keyof typeof entries;

let dir = '';
const bundles = {} as Record<Name, { dir: string; entry: string; metafile: Metafile }>;

async function bundle(name: Name, outdir: string): Promise<{ dir: string; entry: string; metafile: Metafile }> {
  const result = await build({ ...options, entryPoints: [{ in: entries[name], out: 'index' }], outdir });
  return { dir: outdir, entry: path.join(outdir, 'index.mjs'), metafile: result.metafile! };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'factum-lambda-bundle-'));
  for (const name of Object.keys(entries) as Name[]) bundles[name] = await bundle(name, path.join(dir, name));
});

afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

function inputsOf(metafile: Metafile): { nodes: string[]; packages: string[]; client: string[] } {
  const inputs = Object.keys(metafile.inputs);
  return {
    nodes: inputs.filter((input) => input.startsWith('nodes/')).sort(),
    packages: [...new Set(inputs.filter((input) => input.startsWith('node_modules/')).map((input) => input.split('/')[1]!))].sort(),
    client: inputs.filter((input) => input.startsWith('client/')).sort(),
  };
}

/** What a cold start loads: the entry's output and those it imports statically, with their inputs and external static imports. */
function loadedAtStart(metafile: Metafile, entry: string): { outputs: string[]; inputs: string[]; externals: string[] } {
  const outputs = metafile.outputs;
  const start = Object.keys(outputs).find((output) => outputs[output]!.entryPoint === entry)!;
  const seen = new Set<string>();
  const externals = new Set<string>();
  const visit = (output: string): void => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const imported of outputs[output]!.imports) {
      if (imported.kind !== 'import-statement' && imported.kind !== 'require-call') continue;
      if (imported.external === true) externals.add(imported.path);
      else visit(imported.path);
    }
  };
  visit(start);
  return { outputs: [...seen], inputs: [...seen].flatMap((output) => Object.keys(outputs[output]!.inputs)).sort(), externals: [...externals].sort() };
}

/** Runs an ES module's text in a fresh node process in `cwd`, with no environment but PATH and `env`; its stdout, parsed. */
function runFresh(cwd: string, code: string, env: Record<string, string> = {}): unknown {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout);
}

describe('the Lambda bundle of the remote client', () => {
  it.each(Object.keys(entries) as Name[])('%s: holds no engine module, only the allowed files and packages', (name) => {
    const { nodes, packages, client } = inputsOf(bundles[name].metafile);
    expect(nodes).toContain('nodes/values/values.ts'); // the check sees the bundle's real inputs
    expect(nodes.filter((input) => !nodesAllowed.includes(input))).toEqual([]);
    expect(packages.filter((input) => !packagesAllowed.includes(input))).toEqual([]);
    // Of the client, only its remote half: no embedded client, no in-process query fallback.
    const own = name === 'handler' ? ['client/examples/lambda-handler.ts'] : [];
    expect(client.filter((input) => !/^client\/(remote|wire)\//.test(input))).toEqual([...own, 'client/query-functions.ts', 'client/remote.ts']);
  });

  it.each(Object.keys(entries) as Name[])('%s: loads neither the AWS SDK nor the envelope at start, only when a key is fetched', (name) => {
    const atStart = loadedAtStart(bundles[name].metafile, entries[name]);
    expect(atStart.externals.filter((external) => !isBuiltin(external))).toEqual([]);
    expect(atStart.inputs.filter((input) => input.startsWith('nodes/storage/'))).toEqual([]);
    const dynamic = Object.values(bundles[name].metafile.outputs).flatMap((output) => output.imports.filter((imported) => imported.kind === 'dynamic-import').map((imported) => imported.external === true ? imported.path : 'chunk'));
    expect([...new Set(dynamic)].sort()).toEqual(['@aws-sdk/client-kms', '@aws-sdk/client-s3', 'chunk']);
  });

  it('exports exactly the names of client/index.ts', async () => {
    const exported = runFresh(bundles.remote.dir, `const m = await import('./index.mjs'); console.log(JSON.stringify(Object.keys(m).sort()));`);
    expect(exported).toEqual(Object.keys(await import('./index.ts')).sort());
  });

  it('refuses an embedded configuration, and a query without a db value, with their codes', () => {
    const codes = runFresh(bundles.remote.dir, `
      const { createClient, q, qseq, runQuery, FactumError } = await import('./index.mjs');
      const codeOf = async (f) => { try { await f(); return 'no error'; } catch (e) { return (e instanceof FactumError ? '' : 'not a FactumError: ') + e.code; } };
      console.log(JSON.stringify([
        await codeOf(() => createClient({ storage: 'memory' })),
        await codeOf(() => q('[:find ?x :in [?x ...]]', [1, 2])),
        await codeOf(() => runQuery({ query: '[:find ?x :in [?x ...]]', args: [[1]] })),
        await codeOf(async () => { for await (const row of qseq('[:find ?x :in [?x ...]]', [1])) void row; }),
      ]));`);
    expect(codes).toEqual(['client/invalid-config', 'query/invalid-input', 'query/invalid-input', 'query/invalid-input']);
  });

  it('loads the bundled handler in a fresh node process with nothing beside it', () => {
    const loaded = runFresh(bundles.handler.dir, `const m = await import('./index.mjs'); console.log(JSON.stringify({ handler: typeof m.handler }));`, {
      // Read at load; nothing is sent, and the key file is not read, until the first invocation.
      FACTUM_ENDPOINT: 'http://127.0.0.1:9',
      FACTUM_SYSTEM: 'local',
      FACTUM_DATABASE: 'shop',
      FACTUM_KEY_FILE: path.join(dir, 'no-such-key.json'),
    });
    expect(loaded).toEqual({ handler: 'function' });
  });

  it("loads the envelope chunk where the runtime provides the AWS SDK (a Lambda's node_modules/@aws-sdk)", async () => {
    const runtime = await bundle('handler', path.join(dir, 'runtime'));
    await mkdir(path.join(runtime.dir, 'node_modules'));
    await symlink(path.resolve('node_modules/@aws-sdk'), path.join(runtime.dir, 'node_modules', '@aws-sdk'), 'dir');
    const envelope = Object.keys(runtime.metafile.outputs).find((output) => runtime.metafile.outputs[output]!.entryPoint === 'nodes/storage/aws/envelope.ts')!;
    const chunk = './' + path.relative(runtime.dir, path.resolve(envelope));
    const loaded = runFresh(runtime.dir, `const m = await import(${JSON.stringify(chunk)}); console.log(JSON.stringify(Object.values(m).map((v) => typeof v)));`);
    expect(loaded).toContain('function');
  });
});
