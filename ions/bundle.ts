//! Bundles an ion project's entry module into one self-contained ES module (esbuild, platform node,
//! target node20): the project's dependencies (the AWS SDK included) are inside it, Node's
//! built-ins stay imports, and `factum/ion` is this factum's ions/runtime.ts.
//!
//! Reproducible: the same sources give the same bytes wherever the project is. esbuild names every
//! module in the output by its path relative to its working directory, so the build runs in the
//! project's folder (its modules and dependencies appear as src/index.ts, node_modules/…), and
//! factum's own files, which may live anywhere (installed in node_modules, or this repository
//! around the example), are loaded in a namespace of their own, named relative to factum's folder:
//!
//!   import … from 'factum/ion'   →   factum:ions/runtime.ts   (and what it imports, relatively)
//!
//! No source map, no timestamp, no absolute path reaches the output.
import { readFile } from 'node:fs/promises';
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import type { IonConfig } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { DEFAULT_ENTRY } from './config.ts';

/** This factum package's folder (the one holding ions/ and node_modules/). */
// This factum's folder: above this file, or (this file bundled elsewhere, as bench/run.ts does) the
// project's root the process runs from.
const factumDirectory = ((beside: string) => (existsSync(path.join(beside, 'ions', 'runtime.ts')) ? beside : process.cwd()))(fileURLToPath(new URL('..', import.meta.url)));

/**
 * CommonJS dependencies (much of the AWS SDK's tree) call require() for Node's built-ins, which an
 * ES module does not have: esbuild's shim calls a global `require` when there is one. The banner
 * installs one on the thread's global object, not as a module-level name, because ion code often
 * declares its own `require`, `__filename` or `__dirname` at the top of a module (the usual ESM
 * idiom), which a module-level declaration here would collide with. Only built-ins are required,
 * so where it resolves from hardly matters; a bundle loaded from memory resolves from the working
 * directory.
 */
const commonJsBanner = [
  "import { createRequire as __factumCreateRequire } from 'node:module';",
  "globalThis.require ??= __factumCreateRequire(import.meta.url.startsWith('file:') ? import.meta.url : process.cwd() + '/');",
].join(' ');

export interface ProjectBundle {
  /** The ES module's text. */
  readonly bundle: string;
  /** The entry module's export names, as esbuild saw them (sorted). */
  readonly exports: readonly string[];
  /** Absolute paths of the files bundled (factum's own left out), sorted. */
  readonly sources: readonly string[];
}

const FACTUM_NAMESPACE = 'factum';

/**
 * `factum/ion` in ion code is factum's ions/runtime.ts, loaded in the `factum` namespace under its
 * path relative to factum's folder; the relative imports of such files stay in the namespace. (A
 * package such a file imports would resolve normally; the runtime imports none.)
 */
function factumIonPlugin(): Plugin {
  const root = realpathSync(factumDirectory);
  return {
    name: 'factum-ion',
    setup(builder) {
      builder.onResolve({ filter: /^factum\/ion$/ }, () => ({ path: 'ions/runtime.ts', namespace: FACTUM_NAMESPACE }));
      builder.onResolve({ filter: /^\.\.?\//, namespace: FACTUM_NAMESPACE }, (args) => ({
        path: path.posix.join(path.posix.dirname(args.importer), args.path),
        namespace: FACTUM_NAMESPACE,
      }));
      builder.onLoad({ filter: /.*/, namespace: FACTUM_NAMESPACE }, async (args) => {
        const file = path.join(root, ...args.path.split('/'));
        return { contents: await readFile(file, 'utf8'), loader: 'ts', resolveDir: path.dirname(file) };
      });
    },
  };
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
  const entry = config.entry ?? DEFAULT_ENTRY;
  const result = await build({
    absWorkingDir: project,
    entryPoints: [entry],
    // Never written (write: false); it names the output in the metafile.
    outfile: path.join('.factum', 'ions.mjs'),
    write: false,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: false,
    metafile: true,
    plugins: [factumIonPlugin()],
    banner: { js: commonJsBanner },
    logLevel: 'silent',
  }).catch((error: unknown) => {
    const errors = (error as { errors?: Message[] }).errors;
    const problems = errors === undefined ? [(error as Error).message] : formatMessages(errors);
    throw new FactumError('ion/bundle-failed', `bundling ${path.join(project, entry)} failed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\nFix these and push again.`, { project, problems });
  });
  const output = Object.values(result.metafile.outputs)[0]!;
  const sources = Object.keys(result.metafile.inputs).filter((input) => !input.startsWith(`${FACTUM_NAMESPACE}:`));
  return { bundle: result.outputFiles[0]!.text, exports: [...output.exports].sort(), sources: sources.map((input) => path.resolve(project, input)).sort() };
}
