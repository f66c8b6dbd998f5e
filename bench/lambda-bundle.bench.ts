// What a Lambda function pays at cold start for factum's remote client, side by side with what one
// using DynamoDB directly pays for the AWS SDK's client alone (`@aws-sdk/client-dynamodb`, which
// the Lambda runtime provides, as it provides the SDK the bundle leaves external).
//
//   npm run bench -- bench/lambda-bundle.bench.ts        BENCH_ROUNDS=20 for more spawns (default 10)
//
// Bundles (the options of client/lambda-bundle.test.ts and of the deployment notes in
// client/examples/lambda-handler.ts: minified ESM for node20, @aws-sdk/* external):
//   remote          client/remote.ts, split: what loads at start, and every chunk
//   handler         client/examples/lambda-handler.ts, split, as deployed
//   handler, 1 file the same without splitting: the lazily imported KMS envelope is inlined and its
//                   static import of @aws-sdk/client-kms hoisted, so the KMS client loads at start
//   ion proxy       ions/lambda-proxy.ts, split: the function of every Lambda ion
//
// Cold import: a fresh `node` process per round measures `await import(bundle)` itself (so node's
// own start is left out), and the table shows the median. Rounds alternate between the bundles and
// the peer so that a busy machine slows all of them alike. Sizes: bytes and gzip -9 bytes.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const root = process.cwd();
// Inside node_modules, so the one-file bundle and the peer resolve @aws-sdk as a Lambda does.
const directory = path.join(root, 'node_modules', '.factum-bench', 'lambda');
rmSync(directory, { recursive: true, force: true });

const options: BuildOptions = { bundle: true, minify: true, platform: 'node', format: 'esm', target: 'node20', external: ['@aws-sdk/*'], outExtension: { '.js': '.mjs' }, chunkNames: 'chunks/[name]-[hash]', metafile: true, logLevel: 'warning' };

interface Subject {
  readonly name: string;
  /** The module a cold start imports: a file URL, or a package name. */
  readonly specifier: string;
  /** Files loaded at start, and all files of the bundle (null for the peer). */
  readonly atStart: readonly string[] | null;
  readonly all: readonly string[] | null;
}

/** The outputs a cold start loads: the entry's and those it imports statically. */
function loadedAtStart(metafile: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (output: string): void => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const imported of metafile.outputs[output]!.imports) if (imported.kind === 'import-statement' && imported.external !== true) visit(imported.path);
  };
  visit(entry);
  return [...seen].map((output) => path.resolve(root, output));
}

async function bundle(name: string, entry: string, splitting: boolean): Promise<Subject> {
  const outdir = path.join(directory, name.replace(/[^a-z0-9]+/g, '-'));
  mkdirSync(outdir, { recursive: true });
  const result = await build({ ...options, splitting, entryPoints: [{ in: path.join(root, entry), out: 'index' }], outdir });
  const metafile = result.metafile!;
  // Output paths in the metafile are relative to the working directory.
  const start = path.relative(root, path.join(outdir, 'index.mjs'));
  return { name, specifier: pathToFileURL(path.join(outdir, 'index.mjs')).href, atStart: loadedAtStart(metafile, start), all: Object.keys(metafile.outputs).map((output) => path.resolve(root, output)) };
}

const subjects: Subject[] = [
  await bundle('remote', 'client/remote.ts', true),
  await bundle('handler', 'client/examples/lambda-handler.ts', true),
  await bundle('handler, 1 file', 'client/examples/lambda-handler.ts', false),
  // The generic proxy of every Lambda ion (ions/lambda-proxy.ts; infra/constructs/lambda-proxy-bundle.ts builds it the same way).
  await bundle('ion proxy', 'ions/lambda-proxy.ts', true),
  { name: '@aws-sdk/client-dynamodb', specifier: '@aws-sdk/client-dynamodb', atStart: null, all: null },
];
const peer = subjects[subjects.length - 1]!;

/** The handler reads these at load; nothing is sent and no key is read until an invocation. */
const handlerEnvironment = { FACTUM_ENDPOINT: 'http://127.0.0.1:9', FACTUM_SYSTEM: 'local', FACTUM_DATABASE: 'shop', FACTUM_KEY_FILE: path.join(directory, 'no-such-key.json') };
const child = `const started = performance.now(); await import(process.env.BENCH_MODULE); process.stdout.write(String(performance.now() - started));`;

function coldImportMs(subject: Subject): number {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', child], { cwd: root, env: { PATH: process.env.PATH ?? '', ...handlerEnvironment, BENCH_MODULE: subject.specifier }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`importing ${subject.name} failed: ${result.stderr}`);
  return Number(result.stdout);
}

const samples = new Map<Subject, number[]>(subjects.map((subject) => [subject, []]));
for (let round = 0; round < ROUNDS; round++) for (const subject of subjects) samples.get(subject)!.push(coldImportMs(subject));
const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

function sizes(files: readonly string[] | null): string {
  if (files === null) return '—';
  const contents = files.map((file) => readFileSync(file));
  const bytes = contents.reduce((sum, content) => sum + content.length, 0);
  const gzip = contents.reduce((sum, content) => sum + gzipSync(content, { level: 9 }).length, 0);
  return `${bytes.toLocaleString('en')} / ${gzip.toLocaleString('en')}`;
}

const peerMs = median(samples.get(peer)!);
const rows = subjects.map((subject) => {
  const ms = median(samples.get(subject)!);
  return [subject.name, sizes(subject.atStart), sizes(subject.all), ms.toFixed(1), (ms / peerMs).toFixed(2)];
});
const header = ['', 'at start: bytes / gzip', 'all chunks: bytes / gzip', `cold import ms (median of ${ROUNDS})`, '× peer'];
const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
const line = (cells: readonly string[]): string => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
console.log(`node ${process.version}; the peer is what a Lambda using DynamoDB directly imports`);
console.log(line(header));
for (const row of rows) console.log(line(row));
