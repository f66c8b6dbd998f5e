//! The node bundle: `nodes/main.ts` and everything it imports, bundled by the locally installed
//! esbuild into one ES module (`main.mjs`) at synth time, and published as a CDK file asset (a
//! zip in the bootstrap bucket). No Docker: local bundling always succeeds or throws.

import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Construct } from 'constructs';

const nodesDirectory = fileURLToPath(new URL('../../nodes', import.meta.url));

/** The file the bundle's zip holds; user data runs `node <release>/main.mjs`. */
export const bundleEntryFile = 'main.mjs';

/** Bundles the node entry point into `outputDirectory` (used by the asset, exported for tests). */
export function bundleNode(outputDirectory: string): void {
  buildSync({
    entryPoints: [join(nodesDirectory, 'main.ts')],
    outfile: join(outputDirectory, bundleEntryFile),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // No source map: its paths would depend on the staging directory and change the asset hash.
    sourcemap: false,
    logLevel: 'error',
    // CommonJS dependencies inside an ES module bundle still call require().
    banner: { js: "import { createRequire as factumCreateRequire } from 'node:module'; const require = factumCreateRequire(import.meta.url);" },
  });
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
