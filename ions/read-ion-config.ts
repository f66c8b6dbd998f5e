//! Reads an ion project's configuration: `ion-config.json`, or else `ion-config.ts` whose default
//! export is the configuration (bundled by esbuild and imported). Validation is config.ts's.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { IonConfig } from '../nodes/ions/revision.ts';
import { FactumError } from '../nodes/util/errors.ts';
import { validateConfig } from './config.ts';

/**
 * Reads and validates the project's `ion-config.json`, or else its `ion-config.ts` (its default
 * export, bundled by esbuild and imported).
 * @example const config = await readIonConfig('ions/examples');
 */
export async function readIonConfig(projectDirectory: string): Promise<IonConfig> {
  const jsonFile = path.join(projectDirectory, 'ion-config.json');
  const tsFile = path.join(projectDirectory, 'ion-config.ts');
  if (existsSync(jsonFile)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(jsonFile, 'utf8'));
    } catch (error) {
      throw new FactumError('ion/invalid-config', `${jsonFile} is not JSON: ${(error as Error).message}. Expected an object such as { "appName": "shop", "allow": ["transfer"] }.`, { source: jsonFile, problems: [(error as Error).message] });
    }
    return validateConfig(parsed, jsonFile);
  }
  if (existsSync(tsFile)) return validateConfig(await importDefault(tsFile), tsFile);
  throw new FactumError('ion/invalid-config', `${path.resolve(projectDirectory)} has no ion-config.json (nor ion-config.ts); an ion project needs one, e.g. { "appName": "shop", "allow": ["transfer"] }. Pass the project folder with --project DIR.`, { source: jsonFile, problems: ['no ion-config.json'] });
}

async function importDefault(file: string): Promise<unknown> {
  const result = await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent' }).catch((error: Error) => {
    throw new FactumError('ion/invalid-config', `${file} does not compile: ${error.message}`, { source: file, problems: [error.message] });
  });
  const code = result.outputFiles[0]!.text;
  const module = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as { default?: unknown };
  if (module.default === undefined) {
    throw new FactumError('ion/invalid-config', `${file} has no default export; expected \`export default { appName: 'shop', allow: ['transfer'] }\`.`, { source: file, problems: ['no default export'] });
  }
  return module.default;
}
