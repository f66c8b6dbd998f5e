import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkExports, exportProblems, validateConfig } from './config.ts';
import { readIonConfig } from './read-ion-config.ts';
import { isFactumError, type FactumError } from '../nodes/util/errors.ts';

function problemsOf(value: unknown): string[] {
  try {
    validateConfig(value);
  } catch (error) {
    expect(isFactumError(error, 'ion/invalid-config')).toBe(true);
    return (error as FactumError).data.problems as string[];
  }
  return [];
}

const base = { appName: 'shop', allow: ['transfer'] };

describe('validateConfig', () => {
  it('accepts a full config and returns it', () => {
    const config = {
      appName: 'shop.v2-eu',
      entry: 'lib/main.ts',
      allow: ['transfer', 'score', '$x', '_y'],
      http: { handler: 'web', public: true },
      lambdas: { 'nightly-report': { handler: 'report', description: 'the report', timeoutSeconds: 900, concurrency: 2 }, min_1: { handler: 'report', timeoutSeconds: 1 } },
    };
    expect(validateConfig(config)).toEqual(config);
    expect(validateConfig({ appName: 'a', allow: [] })).toEqual({ appName: 'a', allow: [] });
  });

  // Each bad config → the problem it reports (a fragment of its line).
  const table: [string, unknown, string][] = [
    ['not an object', [], 'the configuration is []; expected an object'],
    ['null', null, 'the configuration is null'],
    ['missing appName', { allow: [] }, 'appName is undefined; expected a lowercase name'],
    ['uppercase appName', { ...base, appName: 'Shop' }, 'appName is "Shop"'],
    ['appName with a slash', { ...base, appName: 'my/shop' }, 'appName is "my/shop"'],
    ['appName db (it would take :db/add over)', { ...base, appName: 'db' }, 'appName is "db", a namespace of factum\'s own operations'],
    ['appName db.fn', { ...base, appName: 'db.fn' }, 'appName is "db.fn", a namespace of factum\'s own operations'],
    ['appName too long', { ...base, appName: 'a'.repeat(64) }, `appName is "${'a'.repeat(64)}"`],
    ['unknown key', { ...base, allowed: [] }, '"allowed" is not a known key; expected one of appName, entry, allow, http, lambdas'],
    ['allow missing', { appName: 'shop' }, 'allow is undefined; expected an array of exported function names'],
    ['allow a string', { appName: 'shop', allow: 'transfer' }, 'allow is "transfer"; expected an array'],
    ['allow entry not an identifier', { appName: 'shop', allow: ['shop/transfer'] }, 'allow[0] is "shop/transfer"; expected the name of an exported function'],
    ['allow entry a number', { appName: 'shop', allow: [1] }, 'allow[0] is 1; expected the name'],
    ['allow entry twice', { appName: 'shop', allow: ['a', 'a'] }, 'allow[1] is "a" again; expected each name once'],
    ['absolute entry', { ...base, entry: '/src/index.ts' }, 'entry is "/src/index.ts"; expected a .ts or .js module inside the project'],
    ['entry outside the project', { ...base, entry: '../other/index.ts' }, 'entry is "../other/index.ts"'],
    ['entry not a module', { ...base, entry: 'src/index.json' }, 'entry is "src/index.json"'],
    ['http a string', { ...base, http: 'web' }, 'http is "web"; expected { "handler": "<exported function>" }'],
    ['http handler missing', { ...base, http: {} }, 'http.handler is undefined; expected the name of an exported function'],
    ['http public not boolean', { ...base, http: { handler: 'web', public: 'yes' } }, 'http.public is "yes"; expected true or false'],
    ['http unknown key', { ...base, http: { handler: 'web', path: '/x' } }, 'http: "path" is not a known key; expected one of handler, public'],
    ['lambdas an array', { ...base, lambdas: [] }, 'lambdas is []; expected an object of Lambda name'],
    ['lambda name with a dot', { ...base, lambdas: { 'a.b': { handler: 'f' } } }, 'lambdas: the name "a.b" is not a Lambda name; expected 1–64 letters, digits, "-" or "_"'],
    ['lambda name too long', { ...base, lambdas: { ['x'.repeat(65)]: { handler: 'f' } } }, 'is not a Lambda name'],
    ['lambda not an object', { ...base, lambdas: { a: 'f' } }, 'lambdas.a is "f"; expected { "handler": "<exported function>" }'],
    ['lambda handler bad', { ...base, lambdas: { a: { handler: 'f-g' } } }, 'lambdas.a.handler is "f-g"'],
    ['lambda timeout 0', { ...base, lambdas: { a: { handler: 'f', timeoutSeconds: 0 } } }, 'lambdas.a.timeoutSeconds is 0; expected a whole number of seconds from 1 to 900'],
    ['lambda timeout 901', { ...base, lambdas: { a: { handler: 'f', timeoutSeconds: 901 } } }, 'lambdas.a.timeoutSeconds is 901'],
    ['lambda timeout fraction', { ...base, lambdas: { a: { handler: 'f', timeoutSeconds: 1.5 } } }, 'lambdas.a.timeoutSeconds is 1.5'],
    ['lambda concurrency 0', { ...base, lambdas: { a: { handler: 'f', concurrency: 0 } } }, 'lambdas.a.concurrency is 0; expected a positive whole number'],
    ['lambda concurrency string', { ...base, lambdas: { a: { handler: 'f', concurrency: '2' } } }, 'lambdas.a.concurrency is "2"'],
    ['lambda description too long', { ...base, lambdas: { a: { handler: 'f', description: 'd'.repeat(257) } } }, 'lambdas.a.description is'],
    ['lambda unknown key', { ...base, lambdas: { a: { handler: 'f', memory: 128 } } }, 'lambdas.a: "memory" is not a known key'],
  ];
  it.each(table)('%s', (_name, value, expected) => {
    const problems = problemsOf(value);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(expected);
  });

  it('reports every problem at once, in the message too', () => {
    const value = { appName: 'Shop', allow: ['ok', 'not ok'], http: { handler: 1 }, lambdas: { a: { handler: 'f', timeoutSeconds: 0, concurrency: -1 } }, extra: true };
    const problems = problemsOf(value);
    expect(problems).toHaveLength(6);
    try {
      validateConfig(value, 'x/ion-config.json');
    } catch (error) {
      expect((error as Error).message).toMatch(/^x\/ion-config.json has 6 problems:\n {2}- /);
      for (const problem of problems) expect((error as Error).message).toContain(problem);
    }
  });
});

describe('checkExports', () => {
  const config = validateConfig({ appName: 'shop', allow: ['transfer', 'score'], http: { handler: 'web' }, lambdas: { report: { handler: 'report' } } });

  it('passes when every name is an exported function', () => {
    const fn = () => null;
    expect(exportProblems(config, { transfer: fn, score: fn, web: fn, report: fn, other: 1 })).toEqual([]);
    expect(() => checkExports(config, { transfer: fn, score: fn, web: fn, report: fn })).not.toThrow();
  });

  it('names each unknown export and each export that is not a function', () => {
    const fn = () => null;
    const problems = exportProblems(config, { transfer: fn, score: 42, report: fn });
    expect(problems).toEqual([
      'allow[1]: "score" is not a function (it is number); expected an exported function',
      'http.handler: "web" is an unknown export; the entry module exports "report", "score", "transfer"',
    ]);
    let error: unknown;
    try {
      checkExports(config, { transfer: fn, score: 42, report: fn }, 'ion/load-failed');
    } catch (caught) {
      error = caught;
    }
    expect(isFactumError(error, 'ion/load-failed')).toBe(true);
    expect((error as FactumError).data.problems).toEqual(problems);
  });
});

describe('readIonConfig', () => {
  const directories: string[] = [];
  afterEach(() => {
    for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
  });
  const project = (files: Record<string, string>): string => {
    const directory = mkdtempSync(path.join(os.tmpdir(), 'factum-ion-config-'));
    directories.push(directory);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(directory, name), text);
    return directory;
  };

  it('reads ion-config.json, else the default export of ion-config.ts', async () => {
    expect(await readIonConfig(project({ 'ion-config.json': '{"appName":"shop","allow":["a"]}' }))).toEqual({ appName: 'shop', allow: ['a'] });
    const ts = "const allow: string[] = ['b'];\nexport default { appName: 'shop', allow };\n";
    expect(await readIonConfig(project({ 'ion-config.ts': ts }))).toEqual({ appName: 'shop', allow: ['b'] });
  });

  it('says what is wrong with a missing, unparsable or invalid file', async () => {
    await expect(readIonConfig(project({}))).rejects.toThrow(/has no ion-config.json .*--project DIR/);
    await expect(readIonConfig(project({ 'ion-config.json': '{"appName":' }))).rejects.toThrow(/ion-config.json is not JSON/);
    await expect(readIonConfig(project({ 'ion-config.json': '{"appName":"shop"}' }))).rejects.toThrow(/allow is undefined/);
    await expect(readIonConfig(project({ 'ion-config.ts': 'export const x = 1;' }))).rejects.toThrow(/no default export/);
  });
});
