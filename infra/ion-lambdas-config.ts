//! The Lambda ions of a system: which ion application's Lambdas the CDK app creates, on which
//! compute group, and with which access key. Read from CDK context, checked before any construct
//! is created (each bad value fails synth with one message saying what to pass):
//!
//!   context key  meaning
//!   -----------  --------------------------------------------------------------------------------
//!   ionConfig    path of the application's ion-config.json (relative to the working directory);
//!                its `lambdas` become functions. Without it, no Lambda ion is created.
//!   ionGroup     the compute group that runs the application: `primary` (default) or a query group
//!   ionAccess    the access key the functions fetch to invoke their ion: `read-only:<database>`,
//!                `read-write:<database>` or `admin`. Required with Lambdas. Any key of the system
//!                may invoke an ion, so the least one, a database's read-only key, is enough.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { validateConfig } from '../ions/config.ts';
import type { IonLambdaConfig } from '../nodes/ions/revision.ts';
import { fail } from '../nodes/util/errors.ts';
import type { Context, QueryGroupConfig, Topology } from './config.ts';
import type { AccessGrant } from './constructs/client-access-policy.ts';

export interface IonLambdasConfig {
  /** The ion-config.json read. */
  readonly configFile: string;
  readonly appName: string;
  /** `primary` or a query group's name. */
  readonly group: string;
  /** Lambda name → its entry (at least one). */
  readonly lambdas: Readonly<Record<string, IonLambdaConfig>>;
  readonly access: AccessGrant;
}

/** The context keys read here (config.ts lists them with the others). */
export const ionContextKeys = ['ionConfig', 'ionGroup', 'ionAccess'] as const;

/** AWS Lambda's longest function name. */
const functionNameLengthMax = 64;
const databasePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `<system>-<appName>-<lambda>`; an app name's dots become dashes (Lambda names have no dots). */
export function ionFunctionName(system: string, appName: string, lambda: string): string {
  return `${system}-${appName.replaceAll('.', '-')}-${lambda}`;
}

function text(context: Context, key: string): string | undefined {
  const value = context[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail('infra/invalid-option', `Context value ${key} must be a string, got ${JSON.stringify(value)}.`, { key, value });
  return value.trim() === '' ? undefined : value.trim();
}

/**
 * The Lambda ions to create, or null: no `ionConfig`, or an application without Lambdas.
 * Throws a FactumError naming the first bad value (`ion/invalid-config` listing every problem of the file).
 */
export function readIonLambdasConfig(
  context: Context,
  system: { readonly system: string; readonly topology: Topology; readonly queryGroups: readonly QueryGroupConfig[] },
  workingDirectory: string = process.cwd(),
): IonLambdasConfig | null {
  const configFile = text(context, 'ionConfig');
  if (configFile === undefined) {
    const stray = ionContextKeys.filter((key) => key !== 'ionConfig' && text(context, key) !== undefined);
    if (stray.length > 0) fail('infra/missing-context', `${stray.join(' and ')} given without -c ionConfig=PATH: pass the ion-config.json of the application whose Lambdas to create.`, { keys: stray });
    return null;
  }
  const config = validateConfig(readJson(path.resolve(workingDirectory, configFile), configFile), configFile);
  const lambdas = config.lambdas ?? {};
  if (Object.keys(lambdas).length === 0) return null;
  const group = readGroup(context, system);
  for (const lambda of Object.keys(lambdas)) {
    const name = ionFunctionName(system.system, config.appName, lambda);
    if (name.length > functionNameLengthMax) {
      fail(
        'infra/invalid-option',
        `The Lambda ion ${lambda} of ${config.appName} would be the function ${name} (${name.length} characters); AWS allows ${functionNameLengthMax}: shorten the Lambda's name in ${configFile} or the app name.`,
        { functionName: name },
      );
    }
  }
  return { configFile, appName: config.appName, group, lambdas, access: readAccess(context) };
}

/** `file` is the resolved path, `shown` the one given. */
function readJson(file: string, shown: string): unknown {
  let contents: string;
  try {
    contents = readFileSync(file, 'utf8');
  } catch (error) {
    fail('infra/invalid-option', `Cannot read -c ionConfig=${shown} (${(error as { code?: string }).code ?? String(error)}): expected the path of an ion application's ion-config.json, relative to the working directory (looked at ${file}).`, {
      ionConfig: shown,
    });
  }
  try {
    return JSON.parse(contents);
  } catch (error) {
    return fail('ion/invalid-config', `${shown} is not JSON (${(error as Error).message}); expected an ion-config.json such as { "appName": "shop", "allow": [], "lambdas": { "hello": { "handler": "hello" } } }.`, {
      source: shown,
    });
  }
}

function readGroup(context: Context, system: { readonly topology: Topology; readonly queryGroups: readonly QueryGroupConfig[] }): string {
  const group = text(context, 'ionGroup') ?? 'primary';
  const known = ['primary', ...system.queryGroups.map((queryGroup) => queryGroup.name)];
  if (!known.includes(group)) {
    fail(
      'infra/invalid-option',
      `Unknown ionGroup ${JSON.stringify(group)}: expected the compute group that runs the ions, one of ${known.join(', ')}${system.topology === 'solo' ? ' (a solo system has only primary)' : ' (query groups come from -c queryGroups)'}.`,
      { ionGroup: group, groups: known },
    );
  }
  return group;
}

function readAccess(context: Context): AccessGrant {
  const access = text(context, 'ionAccess');
  const expected = 'pass -c ionAccess=read-only:DATABASE (the least key that may invoke an ion), read-write:DATABASE or admin';
  if (access === undefined) fail('infra/missing-context', `No access key for the Lambda ions: ${expected}.`, { key: 'ionAccess' });
  if (access === 'admin') return { permission: 'admin' };
  const match = /^(read-only|read-write):(.+)$/.exec(access);
  if (match === null || !databasePattern.test(match[2]!)) fail('infra/invalid-option', `Invalid ionAccess ${JSON.stringify(access)}: ${expected}.`, { ionAccess: access });
  return { permission: match[1] as 'read-only' | 'read-write', database: match[2]! };
}
