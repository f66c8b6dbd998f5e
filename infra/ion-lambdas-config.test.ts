import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FactumError } from '../nodes/util/errors.ts';
import type { Context, QueryGroupConfig, Topology } from './config.ts';
import { ionFunctionName, readIonLambdasConfig } from './ion-lambdas-config.ts';

const directory = mkdtempSync(join(tmpdir(), 'factum-ion-lambdas-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function configFile(name: string, value: unknown): string {
  const file = join(directory, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return name;
}

const shop = configFile('shop.json', { appName: 'shop', allow: [], lambdas: { hello: { handler: 'hello', timeoutSeconds: 10 } } });
const analytics: QueryGroupConfig = { name: 'analytics', instanceType: 'i3.large', minNodes: 1, maxNodes: 2, scalingMetric: 'cpu' };
const production = { system: 'demo', topology: 'production' as Topology, queryGroups: [analytics] };
const solo = { system: 'demo', topology: 'solo' as Topology, queryGroups: [] };

function read(context: Context, system = production): ReturnType<typeof readIonLambdasConfig> {
  return readIonLambdasConfig(context, system, directory);
}

function errorOf(context: Context, system = production): FactumError {
  try {
    read(context, system);
  } catch (error) {
    if (error instanceof FactumError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(context)}`);
}

describe('Lambda ions configuration', () => {
  it('is null without ionConfig, and for an application without Lambdas', () => {
    expect(read({})).toBeNull();
    expect(read({ ionConfig: configFile('none.json', { appName: 'shop', allow: ['transfer'] }) })).toBeNull();
  });

  it('reads the Lambdas, the group (primary by default) and the key', () => {
    expect(read({ ionConfig: shop, ionAccess: 'read-only:shop' }, solo)).toEqual({
      configFile: shop,
      appName: 'shop',
      group: 'primary',
      lambdas: { hello: { handler: 'hello', timeoutSeconds: 10 } },
      access: { permission: 'read-only', database: 'shop' },
    });
    expect(read({ ionConfig: shop, ionGroup: 'analytics', ionAccess: 'admin' })).toMatchObject({ group: 'analytics', access: { permission: 'admin' } });
  });

  it.each<[string, Context, string, RegExp]>([
    ['ionGroup without ionConfig', { ionGroup: 'analytics' }, 'infra/missing-context', /ionGroup given without -c ionConfig=PATH/],
    ['no ionAccess', { ionConfig: shop }, 'infra/missing-context', /pass -c ionAccess=read-only:DATABASE/],
    ['a malformed ionAccess', { ionConfig: shop, ionAccess: 'read-only' }, 'infra/invalid-option', /Invalid ionAccess "read-only"/],
    ['an unknown group', { ionConfig: shop, ionGroup: 'reports', ionAccess: 'admin' }, 'infra/invalid-option', /Unknown ionGroup "reports": expected .* one of primary, analytics/],
    ['a missing file', { ionConfig: 'nope.json', ionAccess: 'admin' }, 'infra/invalid-option', /Cannot read -c ionConfig=nope\.json \(ENOENT\)/],
    ['a file that is not JSON', { ionConfig: configFile('bad.json', '{ appName'), ionAccess: 'admin' }, 'ion/invalid-config', /bad\.json is not JSON/],
    [
      'an invalid ion-config',
      { ionConfig: configFile('invalid.json', { appName: 'shop', allow: [], lambdas: { hello: { handler: 'hello', timeoutSeconds: 901 } } }), ionAccess: 'admin' },
      'ion/invalid-config',
      /lambdas\.hello\.timeoutSeconds is 901/,
    ],
    [
      'a function name longer than AWS allows',
      { ionConfig: configFile('long.json', { appName: 'shop', allow: [], lambdas: { ['x'.repeat(60)]: { handler: 'hello' } } }), ionAccess: 'admin' },
      'infra/invalid-option',
      /would be the function demo-shop-x+ \(70 characters\); AWS allows 64/,
    ],
  ])('refuses %s, saying what to pass', (_name, context, code, message) => {
    const error = errorOf(context);
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("reads the example application's ion-config (ions/examples) as `cdk synth -c ionConfig=ions/examples/ion-config.json` does", () => {
    const repository = fileURLToPath(new URL('..', import.meta.url));
    expect(readIonLambdasConfig({ ionConfig: 'ions/examples/ion-config.json', ionAccess: 'read-only:bank' }, solo, repository)).toMatchObject({
      appName: 'bank',
      group: 'primary',
      lambdas: { balance: { handler: 'balanceLambda', timeoutSeconds: 10 } },
    });
  });

  it('names a function <system>-<app>-<lambda>, with dashes for the dots of an app name', () => {
    expect(ionFunctionName('prod', 'acme.shop', 'nightly_report')).toBe('prod-acme-shop-nightly_report');
  });
});
