//! The node bundle: `nodes/main.ts` and everything it imports, bundled by the locally installed
//! esbuild into one ES module (`main.mjs`) at synth time, beside its worker threads' entries
//! (`nodes/indexer/index-worker.ts` as `index-worker.mjs`, `nodes/server/query-worker.ts` as
//! `query-worker.mjs`: a bundled Indexer and query pool start their worker threads from the file
//! next to their own, nodes/indexer/worker-builder.ts and nodes/server/query-pool.ts), and
//! published as a CDK file asset (a zip in the bootstrap bucket). No Docker: local bundling always
//! succeeds or throws.
//!
//!   release/
//!     main.mjs            the node (systemd runs `node main.mjs`)
//!     index-worker.mjs    the index worker thread
//!     query-worker.mjs    the query threads
//!     ion-worker.mjs      the ion threads (nodes/ions/ion-thread.ts)
//!
//! The asset hash is the hash of these files, so it changes exactly when the code does: the build
//! writes no source map and names no absolute path (esbuild's comments are relative to the
//! repository root, whatever the working directory of the synth).

import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Construct } from 'constructs';

const repositoryDirectory = fileURLToPath(new URL('../..', import.meta.url));
const nodesDirectory = join(repositoryDirectory, 'nodes');

/** The file the bundle's zip holds; user data runs `node <release>/main.mjs`. */
export const bundleEntryFile = 'main.mjs';

/** The index worker's file, beside main.mjs, where the bundled Indexer looks for it. */
export const bundleWorkerFile = 'index-worker.mjs';

/** The query threads' file, beside main.mjs, where the bundled query pool looks for it. */
export const bundleQueryWorkerFile = 'query-worker.mjs';

/** The ion thread's file, beside main.mjs, where a bundled ion host (nodes/ions/ion-thread.ts) looks for it. */
export const bundleIonWorkerFile = 'ion-worker.mjs';

/**
 * CommonJS dependencies inside an ES module bundle (msgpackr, pino and the AWS SDK's helpers) still
 * call require() and read __filename and __dirname; the banner gives every file of the bundle all three.
 */
const commonJsBanner = [
  "import { createRequire as factumCreateRequire } from 'node:module';",
  "import { fileURLToPath as factumFileUrlToPath } from 'node:url';",
  "import { dirname as factumDirname } from 'node:path';",
  'const require = factumCreateRequire(import.meta.url);',
  'const __filename = factumFileUrlToPath(import.meta.url);',
  'const __dirname = factumDirname(__filename);',
].join(' ');

/** Bundles the node and its workers into `outputDirectory` (used by the asset, exported for tests). */
export function bundleNode(outputDirectory: string): void {
  const entries = [
    { source: join(nodesDirectory, 'main.ts'), output: bundleEntryFile },
    { source: join(nodesDirectory, 'indexer', 'index-worker.ts'), output: bundleWorkerFile },
    { source: join(nodesDirectory, 'server', 'query-worker.ts'), output: bundleQueryWorkerFile },
    { source: join(nodesDirectory, 'ions', 'ion-worker.ts'), output: bundleIonWorkerFile },
  ];
  for (const entry of entries) {
    buildSync({
      entryPoints: [entry.source],
      outfile: join(outputDirectory, entry.output),
      absWorkingDir: repositoryDirectory,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // No source map: its paths would depend on the staging directory and change the asset hash.
      sourcemap: false,
      logLevel: 'error',
      banner: { js: commonJsBanner },
    });
  }
}

export function nodeBundleAsset(scope: Construct, id: string): s3assets.Asset {
  return new s3assets.Asset(scope, id, {
    path: nodesDirectory,
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling below always handles the build.
      image: DockerImage.fromRegistry('factum-local-bundling-only'),
      local: {
        tryBundle(outputDirectory: string): boolean {
          bundleNode(outputDirectory);
          return true;
        },
      },
    },
  });
}
