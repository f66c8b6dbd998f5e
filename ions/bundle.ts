//! Bundles an ion project's entry module into one self-contained ES module (esbuild, platform node,
//! target node20): the project's dependencies (the AWS SDK included) are inside it, Node's
//! built-ins stay imports, and `factum/ion` is this factum's ions/runtime.ts.
//!
//! Reproducible: the same sources give the same bytes wherever the project and factum are. esbuild
//! names every module in the output by its path relative to its working directory, so the build
//! runs in a fresh directory holding two links, and sees every file through them:
//!
//!   <tmp>/project -> the ion project        (modules appear as project/src/index.ts)
//!   <tmp>/factum  -> this factum package    (factum/ions/runtime.ts)
//!
//! No source map, no timestamp, no absolute path reaches the output.
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import type { IonConfig } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { DEFAULT_ENTRY } from './config.ts';

/** This factum package's folder (the one holding ions/ and node_modules/). */
const factumDirectory = fileURLToPath(new URL('..', import.meta.url));

/**
 * CommonJS dependencies (much of the AWS SDK's tree) call require() for Node's built-ins and may read
 * __filename/__dirname; an ES module has none of these. The host may load the bundle from a file or
 * from memory, so a non-file URL falls back to the working directory (only built-ins are required).
 */
const commonJsBanner = [
  "import { createRequire as __factumCreateRequire } from 'node:module';",
  "import { fileURLToPath as __factumFileUrlToPath } from 'node:url';",
  "import { dirname as __factumDirname } from 'node:path';",
  "const __filename = import.meta.url.startsWith('file:') ? __factumFileUrlToPath(import.meta.url) : process.cwd() + '/ion-bundle.mjs';",
  'const __dirname = __factumDirname(__filename);',
  'const require = __factumCreateRequire(__filename);',
].join(' ');

export interface ProjectBundle {
  /** The ES module's text. */
  readonly bundle: string;
  /** The entry module's export names, as esbuild saw them (sorted). */
  readonly exports: readonly string[];
}

/** `factum/ion` in ion code is the runtime module beside this file. */
function factumIonPlugin(stagingDirectory: string): Plugin {
  return {
    name: 'factum-ion',
    setup(builder) {
      builder.onResolve({ filter: /^factum\/ion$/ }, () => ({ path: path.join(stagingDirectory, 'factum', 'ions', 'runtime.ts') }));
    },
  };
}

/** Every node_modules folder above `directory` (dependencies hoisted above the project or factum). */
function ancestorModules(directory: string): string[] {
  const folders: string[] = [];
  for (let current = directory; ; current = path.dirname(current)) {
    folders.push(path.join(current, 'node_modules'));
    if (path.dirname(current) === current) return folders;
  }
}

function formatMessages(messages: readonly Message[]): string[] {
  return messages.map((message) => {
    const where = message.location === null ? '' : `${message.location.file}:${message.location.line}:${message.location.column}: `;
    return `${where}${message.text}`;
  });
}

/**
 * Bundles the project's entry module (the config's `entry`, default src/index.ts).
 * @example const { bundle, exports } = await bundleProject('ions/examples', config);
 */
export async function bundleProject(projectDirectory: string, config: IonConfig): Promise<ProjectBundle> {
  const project = realpathSync(projectDirectory);
  const staging = mkdtempSync(path.join(os.tmpdir(), 'factum-ion-build-'));
  try {
    symlinkSync(project, path.join(staging, 'project'), 'dir');
    symlinkSync(realpathSync(factumDirectory), path.join(staging, 'factum'), 'dir');
    const outfile = path.join('out', 'ions.mjs');
    const result = await build({
      absWorkingDir: staging,
      entryPoints: [path.join('project', config.entry ?? DEFAULT_ENTRY)],
      outfile,
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: false,
      metafile: true,
      // Paths stay those under <tmp>/project and <tmp>/factum instead of becoming the real ones.
      preserveSymlinks: true,
      nodePaths: [...ancestorModules(path.dirname(project)), ...ancestorModules(path.dirname(realpathSync(factumDirectory)))],
      plugins: [factumIonPlugin(staging)],
      banner: { js: commonJsBanner },
      logLevel: 'silent',
    }).catch((error: unknown) => {
      const errors = (error as { errors?: Message[] }).errors;
      const problems = errors === undefined ? [(error as Error).message] : formatMessages(errors);
      throw new FactumError('ion/bundle-failed', `bundling ${path.join(project, config.entry ?? DEFAULT_ENTRY)} failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\nFix these and push again.`, { project, problems });
    });
    const output = Object.values(result.metafile.outputs)[0]!;
    return { bundle: result.outputFiles[0]!.text, exports: [...output.exports].sort() };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
