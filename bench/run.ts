// Runs a benchmark from an esbuild bundle, the way production code runs: `tsx` (handy for
// development) keeps function names by wrapping every named function in a helper call, which
// costs a property definition per closure and skews hot loops. Both sides of every comparison
// run in the bundle, so the peer pays nothing extra either.
//
//   npm run bench -- bench/query.bench.ts          (any bench/*.bench.ts; env vars pass through)
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const entry = process.argv[2];
if (entry === undefined || !entry.endsWith('.bench.ts')) {
  console.error('usage: npm run bench -- bench/NAME.bench.ts');
  process.exit(2);
}
// Inside node_modules, so the bundle resolves its external packages as the project does.
const directory = path.join(process.cwd(), 'node_modules', '.factum-bench');
mkdirSync(directory, { recursive: true });
const outfile = path.join(directory, path.basename(entry).replace(/\.ts$/, '.mjs'));
const options = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', keepNames: false, logLevel: 'warning' } as const;
await build({ ...options, entryPoints: [entry], outfile });
// The worker threads' entries, beside the bundle, where a bundled Indexer, query pool and ion host start them from.
await build({ ...options, entryPoints: ['nodes/indexer/index-worker.ts'], outfile: path.join(directory, 'index-worker.mjs') });
await build({ ...options, entryPoints: ['nodes/server/query-worker.ts'], outfile: path.join(directory, 'query-worker.mjs') });
await build({ ...options, entryPoints: ['nodes/ions/ion-worker.ts'], outfile: path.join(directory, 'ion-worker.mjs') });
const result = spawnSync(process.execPath, [...process.execArgv.filter((a) => a.startsWith('--expose-gc')), outfile, ...process.argv.slice(3)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
