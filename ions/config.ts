//! An ion application's configuration (`ion-config.json`, or `ion-config.ts` exporting it as
//! default): read from the project folder and validated, every problem reported at once.
//!
//! Two checks, at two moments:
//! - `validateConfig`: the file's shape, before anything is bundled (names, types, ranges,
//!   unknown keys);
//! - `checkExports`: after bundling or loading, that every name the config gives (allow, the HTTP
//!   handler, each Lambda's handler) is an exported function of the entry module.
//!
//! Pure: the node's ion host uses `checkExports` too (reading the file is read-ion-config.ts).
//!
//! Both throw one FactumError whose `data.problems` lists one line per problem, each naming where
//! the problem is (`lambdas.nightly.timeoutSeconds`), the value given and what was expected.
import { APP_NAME, EXPORT_NAME, isReservedAppName, type IonConfig, type IonLambdaConfig } from '../nodes/ions/revision.ts';
import { FactumError, type Code } from '../nodes/util/errors.ts';

/** The entry module when the config names none. */
export const DEFAULT_ENTRY = 'src/index.ts';

/** AWS Lambda's function-name rule (the infrastructure prefixes it with the system and app). */
const LAMBDA_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** AWS Lambda's longest description. */
const DESCRIPTION_LENGTH_MAX = 256;
const TIMEOUT_SECONDS_MAX = 900;

const configKeys = ['appName', 'entry', 'allow', 'http', 'lambdas'];
const httpKeys = ['handler', 'public'];
const lambdaKeys = ['handler', 'description', 'timeoutSeconds', 'concurrency'];

const show = (value: unknown): string => (value === undefined ? 'undefined' : JSON.stringify(value) ?? String(value));

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], where: string, problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(`${where}${show(key)} is not a known key; expected one of ${allowed.join(', ')}`);
  }
}

function checkExportName(value: unknown, where: string, problems: string[]): void {
  if (typeof value !== 'string' || !EXPORT_NAME.test(value)) {
    problems.push(`${where} is ${show(value)}; expected the name of an exported function (a JavaScript identifier, e.g. "transfer")`);
  }
}

function checkAllow(allow: unknown, problems: string[]): void {
  if (!Array.isArray(allow)) {
    problems.push(`allow is ${show(allow)}; expected an array of exported function names, e.g. ["transfer"] ([] for none)`);
    return;
  }
  const seen = new Set<unknown>();
  allow.forEach((name, index) => {
    checkExportName(name, `allow[${index}]`, problems);
    if (seen.has(name)) problems.push(`allow[${index}] is ${show(name)} again; expected each name once`);
    seen.add(name);
  });
}

function checkHttp(http: unknown, problems: string[]): void {
  if (!isRecord(http)) {
    problems.push(`http is ${show(http)}; expected { "handler": "<exported function>" } (and optionally "public": true)`);
    return;
  }
  unknownKeys(http, httpKeys, 'http: ', problems);
  checkExportName(http.handler, 'http.handler', problems);
  if (http.public !== undefined && typeof http.public !== 'boolean') problems.push(`http.public is ${show(http.public)}; expected true or false`);
}

function checkLambda(name: string, lambda: unknown, problems: string[]): void {
  const where = `lambdas.${name}`;
  if (!LAMBDA_NAME.test(name)) problems.push(`lambdas: the name ${show(name)} is not a Lambda name; expected 1–64 letters, digits, "-" or "_"`);
  if (!isRecord(lambda)) {
    problems.push(`${where} is ${show(lambda)}; expected { "handler": "<exported function>" } (and optionally description, timeoutSeconds, concurrency)`);
    return;
  }
  unknownKeys(lambda, lambdaKeys, `${where}: `, problems);
  checkExportName(lambda.handler, `${where}.handler`, problems);
  const { description, timeoutSeconds, concurrency } = lambda;
  if (description !== undefined && (typeof description !== 'string' || description.length > DESCRIPTION_LENGTH_MAX)) {
    problems.push(`${where}.description is ${show(description)}; expected a string of at most ${DESCRIPTION_LENGTH_MAX} characters`);
  }
  if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && (timeoutSeconds as number) >= 1 && (timeoutSeconds as number) <= TIMEOUT_SECONDS_MAX)) {
    problems.push(`${where}.timeoutSeconds is ${show(timeoutSeconds)}; expected a whole number of seconds from 1 to ${TIMEOUT_SECONDS_MAX}`);
  }
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && (concurrency as number) >= 1)) {
    problems.push(`${where}.concurrency is ${show(concurrency)}; expected a positive whole number (leave it out for unreserved concurrency)`);
  }
}

function checkEntry(entry: unknown, problems: string[]): void {
  // Relative and inside the project: no leading '/', no drive letter, no '..' segment.
  const relative = typeof entry === 'string' && entry !== '' && !/^([/\\]|[A-Za-z]:)/.test(entry) && !entry.split(/[/\\]/).includes('..');
  if (!relative || !/\.(ts|mts|js|mjs)$/.test(entry)) {
    problems.push(`entry is ${show(entry)}; expected a .ts or .js module inside the project, relative to it (default "${DEFAULT_ENTRY}")`);
  }
}

function invalid(code: Code, source: string, problems: readonly string[], data: Record<string, unknown> = {}): FactumError {
  const count = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  return new FactumError(code, `${source} has ${count}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, { source, problems, ...data });
}

/**
 * Checks a parsed ion-config and returns it, typed; throws 'ion/invalid-config' listing every problem.
 * @example validateConfig({ appName: 'shop', allow: ['transfer'] }, 'ion-config.json')
 */
export function validateConfig(value: unknown, source = 'ion-config.json'): IonConfig {
  const problems: string[] = [];
  if (!isRecord(value)) {
    problems.push(`the configuration is ${show(value)}; expected an object such as { "appName": "shop", "allow": ["transfer"] }`);
    throw invalid('ion/invalid-config', source, problems);
  }
  unknownKeys(value, configKeys, '', problems);
  if (typeof value.appName !== 'string' || !APP_NAME.test(value.appName)) {
    problems.push(`appName is ${show(value.appName)}; expected a lowercase name of letters, digits, "." and "-" starting with a letter, at most 63 characters (e.g. "shop")`);
  } else if (isReservedAppName(value.appName)) {
    problems.push(`appName is ${show(value.appName)}, a namespace of factum's own operations and functions (db, db.*, clojure.core, datomic.*, factum.*): its ions would take :db/add and the like over; choose another name`);
  }
  if (value.entry !== undefined) checkEntry(value.entry, problems);
  checkAllow(value.allow, problems);
  if (value.http !== undefined) checkHttp(value.http, problems);
  if (value.lambdas !== undefined) {
    if (!isRecord(value.lambdas)) problems.push(`lambdas is ${show(value.lambdas)}; expected an object of Lambda name → { "handler": ... }`);
    else for (const [name, lambda] of Object.entries(value.lambdas)) checkLambda(name, lambda, problems);
  }
  if (problems.length > 0) throw invalid('ion/invalid-config', source, problems);
  return value as unknown as IonConfig;
}

/** Every name the config says must be an exported function, with where it is named. */
export function namedExports(config: IonConfig): readonly { readonly name: string; readonly where: string }[] {
  const names = config.allow.map((name, index) => ({ name, where: `allow[${index}]` }));
  if (config.http !== undefined) names.push({ name: config.http.handler, where: 'http.handler' });
  for (const [lambda, entry] of Object.entries<IonLambdaConfig>(config.lambdas ?? {})) names.push({ name: entry.handler, where: `lambdas.${lambda}.handler` });
  return names;
}

/** One line per name of the config that is not an exported function of `exports` (the entry module's namespace). */
export function exportProblems(config: IonConfig, exports: Readonly<Record<string, unknown>>): string[] {
  return exportTypeProblems(config, Object.fromEntries(Object.keys(exports).map((name) => [name, typeof exports[name]])));
}

/**
 * As `exportProblems`, from each export's `typeof` (what a worker thread can send back); a type of
 * null is an export whose type is not known (only its name was seen), which passes.
 */
export function exportTypeProblems(config: IonConfig, types: Readonly<Record<string, string | null>>): string[] {
  const problems: string[] = [];
  for (const { name, where } of namedExports(config)) {
    const type = Object.hasOwn(types, name) ? types[name] : undefined;
    if (type === undefined) problems.push(`${where}: ${show(name)} is an unknown export; the entry module exports ${describeExports(Object.keys(types))}`);
    else if (type !== null && type !== 'function') problems.push(`${where}: ${show(name)} is not a function (it is ${type}); expected an exported function`);
  }
  return problems;
}

function describeExports(names: readonly string[]): string {
  const shown = names.filter((name) => name !== 'default').sort();
  return shown.length === 0 ? 'nothing' : shown.map((name) => JSON.stringify(name)).join(', ');
}

/**
 * Checks that every allowed, HTTP and Lambda name is an exported function; throws `code`
 * ('ion/invalid-config' for push, 'ion/load-failed' for a node loading a revision) listing each problem.
 */
export function checkExports(config: IonConfig, exports: Readonly<Record<string, unknown>>, code: Extract<Code, 'ion/invalid-config' | 'ion/load-failed'> = 'ion/invalid-config'): void {
  const problems = exportProblems(config, exports);
  if (problems.length > 0) throw invalid(code, `the ions of ${config.appName}`, problems, { app: config.appName });
}
