//! The bundle of the Lambda ion proxy (ions/lambda-proxy.ts): one ES module `index.mjs` and its
//! chunks, built by the locally installed esbuild at synth, the code of every Lambda ion function
//! (ion-lambdas.ts). The AWS SDK is left out (the Lambda runtime provides it) and the bundle is
//! split, as client/lambda-bundle.test.ts explains, so that the SDK and the KMS envelope load only
//! when the key is fetched from S3, never at a cold start with nothing to fetch.
//!
//!   index.mjs                  handler `index.handler`
//!   chunks/<name>-<hash>.mjs   loaded on demand
//!
//! No source map and no absolute path in the output: the asset hash changes exactly when the code does.

import { buildSync, type Metafile } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repositoryDirectory = fileURLToPath(new URL('../..', import.meta.url));

/** The proxy's source, relative to the repository. */
export const lambdaProxySource = 'ions/lambda-proxy.ts';

/** The bundle's entry file; the functions' handler is `index.handler`. */
export const lambdaProxyEntryFile = 'index.mjs';
export const lambdaProxyHandler = 'index.handler';

/** Bundles the proxy into `outputDirectory`; returns esbuild's metafile (inputs and outputs). */
export function bundleLambdaProxy(outputDirectory: string): Metafile {
  const result = buildSync({
    entryPoints: [{ in: join(repositoryDirectory, lambdaProxySource), out: 'index' }],
    outdir: outputDirectory,
    absWorkingDir: repositoryDirectory,
    bundle: true,
    minify: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['@aws-sdk/*'],
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: false,
    metafile: true,
    logLevel: 'error',
  });
  return result.metafile;
}
