//! The system's configuration, read from CDK context (`-c key=value`) and checked before any
//! construct is created, so that a bad value fails synth with one message saying what to pass.
//!
//!   context key        required  meaning
//!   -----------------  --------  -------------------------------------------------------------
//!   system             yes       the system name: 1–20 of a-z 0-9 -, starting with a letter
//!   topology           yes       `solo` or `production`
//!   bastionCidr        yes       IPv4 CIDR allowed to reach the bastion over SSH, or `none`
//!                                (Session Manager only); never a /0
//!   region             no        AWS region; default CDK_DEFAULT_REGION, else us-east-1
//!   availabilityZones  no        2 or 3 zone names, comma-separated; default: 2 zones chosen
//!                                by CloudFormation
//!   queryGroups        no        production only: `name[:instanceType[:min[:max[:cpu|requests]]]]`,
//!                                comma-separated, e.g. `analytics:i3.large:2:6:cpu,reports`
//!   instanceType       no        the primary group's instance type (default t3.small / i3.large)
//!   nodeCount          no        production primary group size, 2–10 (default 2)
//!   alarmEmail         no        an address subscribed to the system's alarm topic
//!   ionConfig          no        an ion application's ion-config.json: its Lambdas become functions
//!   ionGroup           no        the compute group running that application (default primary)
//!   ionAccess          with      the key those functions invoke with: read-only:DB, read-write:DB
//!                      Lambdas   or admin (ion-lambdas-config.ts reads these three)

import { fail } from '../nodes/util/errors.ts';
import { ionContextKeys } from './ion-lambdas-config.ts';

export type Topology = 'solo' | 'production';
export type ScalingMetric = 'cpu' | 'requests';

export interface QueryGroupConfig {
  readonly name: string;
  readonly instanceType: string;
  readonly minNodes: number;
  readonly maxNodes: number;
  readonly scalingMetric: ScalingMetric;
}

export interface SystemConfig {
  readonly system: string;
  readonly topology: Topology;
  /** null: no SSH ingress at all, Session Manager only. */
  readonly bastionCidr: string | null;
  readonly region: string;
  /** null: two zones chosen by CloudFormation at deploy time. */
  readonly availabilityZones: readonly string[] | null;
  readonly instanceType: string;
  readonly nodeCount: number;
  readonly queryGroups: readonly QueryGroupConfig[];
  readonly alarmEmail: string | null;
}

/** Every context key the app reads. */
export const contextKeys = [
  'system',
  'topology',
  'bastionCidr',
  'region',
  'availabilityZones',
  'queryGroups',
  'instanceType',
  'nodeCount',
  'alarmEmail',
  ...ionContextKeys,
] as const;

/** Context values as the CDK hands them over: strings from `-c`, anything from cdk.json. */
export type Context = Readonly<Record<string, unknown>>;

const systemNamePattern = /^[a-z]([a-z0-9-]{0,18}[a-z0-9])?$/;
const groupNamePattern = /^[a-z]([a-z0-9-]{0,14}[a-z0-9])?$/;
const instanceTypePattern = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
const regionPattern = /^[a-z]{2}(-[a-z]+)+-\d$/;
const emailPattern = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

export const defaultInstanceTypes: Readonly<Record<Topology, string>> = {
  solo: 't3.small',
  production: 'i3.large',
};
export const defaultQueryGroupInstanceType = 'i3.large';

/** Reads and checks the whole configuration; throws a FactumError naming the first bad value. */
export function readConfig(context: Context, environment: Readonly<Record<string, string | undefined>> = {}): SystemConfig {
  const system = readSystemName(context);
  const topology = readTopology(context);
  const region = readRegion(context, environment);
  const config: SystemConfig = {
    system,
    topology,
    bastionCidr: readBastionCidr(context),
    region,
    availabilityZones: readAvailabilityZones(context, region),
    instanceType: readInstanceType(context, 'instanceType') ?? defaultInstanceTypes[topology],
    nodeCount: readNodeCount(context, topology),
    queryGroups: readQueryGroups(context, topology),
    alarmEmail: readAlarmEmail(context),
  };
  return config;
}

function text(context: Context, key: string): string | undefined {
  const value = context[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') {
    fail('infra/invalid-option', `Context value ${key} must be a string, got ${JSON.stringify(value)}.`, { key, value });
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function readSystemName(context: Context): string {
  const system = text(context, 'system');
  if (system === undefined) {
    fail('infra/missing-context', 'No system name given: pass -c system=NAME (1-20 characters a-z, 0-9, -, starting with a letter).', { key: 'system' });
  }
  if (!systemNamePattern.test(system)) {
    fail(
      'infra/invalid-system-name',
      `Invalid system name ${JSON.stringify(system)}: expected 1-20 characters a-z, 0-9 or -, starting with a letter and not ending with -, e.g. -c system=demo.`,
      { system },
    );
  }
  return system;
}

function readTopology(context: Context): Topology {
  const topology = text(context, 'topology');
  if (topology === undefined) {
    fail('infra/missing-context', 'No topology given: pass -c topology=solo or -c topology=production.', { key: 'topology' });
  }
  if (topology !== 'solo' && topology !== 'production') {
    fail('infra/unknown-topology', `Unknown topology ${JSON.stringify(topology)}: pass -c topology=solo or -c topology=production.`, { topology });
  }
  return topology;
}

function readBastionCidr(context: Context): string | null {
  const cidr = text(context, 'bastionCidr');
  if (cidr === undefined) {
    fail(
      'infra/missing-context',
      'No CIDR for the bastion: pass -c bastionCidr=ADDRESS/BITS (the network allowed to reach it over SSH, e.g. 203.0.113.7/32), or -c bastionCidr=none for Session Manager only.',
      { key: 'bastionCidr' },
    );
  }
  if (cidr === 'none') return null;
  checkCidr(cidr);
  return cidr;
}

function checkCidr(cidr: string): void {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octetsValid = match !== null && match.slice(1, 5).every((octet) => Number(octet) <= 255);
  const bits = match === null ? -1 : Number(match[5]);
  if (!octetsValid || bits > 32) {
    fail('infra/invalid-cidr', `Invalid bastionCidr ${JSON.stringify(cidr)}: expected an IPv4 CIDR such as 203.0.113.7/32, or none.`, { cidr });
  }
  if (bits < 8) {
    fail(
      'infra/invalid-cidr',
      `bastionCidr ${cidr} opens the bastion to a /${bits} network: give the network you connect from (/8 or narrower, e.g. 203.0.113.7/32), or none for Session Manager only.`,
      { cidr },
    );
  }
}

function readRegion(context: Context, environment: Readonly<Record<string, string | undefined>>): string {
  const region = text(context, 'region') ?? environment.CDK_DEFAULT_REGION ?? 'us-east-1';
  if (!regionPattern.test(region)) {
    fail('infra/invalid-option', `Invalid region ${JSON.stringify(region)}: expected a region name such as us-east-1.`, { region });
  }
  return region;
}

function readAvailabilityZones(context: Context, region: string): readonly string[] | null {
  const list = text(context, 'availabilityZones');
  if (list === undefined) return null;
  const zones = list.split(',').map((zone) => zone.trim());
  const valid = zones.every((zone) => zone.startsWith(region) && /^[a-z]$/.test(zone.slice(region.length)));
  if (!valid || zones.length < 2 || zones.length > 3 || new Set(zones).size !== zones.length) {
    fail(
      'infra/invalid-option',
      `Invalid availabilityZones ${JSON.stringify(list)}: expected 2 or 3 distinct zones of ${region}, e.g. ${region}a,${region}b.`,
      { availabilityZones: list, region },
    );
  }
  return zones;
}

function readInstanceType(context: Context, key: string): string | undefined {
  const instanceType = text(context, key);
  if (instanceType !== undefined) checkInstanceType(instanceType, key);
  return instanceType;
}

function checkInstanceType(instanceType: string, where: string): void {
  if (!instanceTypePattern.test(instanceType)) {
    fail('infra/invalid-option', `Invalid instance type ${JSON.stringify(instanceType)} in ${where}: expected a type such as t3.small or i3.large.`, {
      instanceType,
    });
  }
}

function readNodeCount(context: Context, topology: Topology): number {
  const count = text(context, 'nodeCount');
  if (topology === 'solo') {
    if (count !== undefined && count !== '1') {
      fail('infra/invalid-option', `nodeCount ${count} given for a solo system, which has exactly one node: use -c topology=production for more.`, { nodeCount: count });
    }
    return 1;
  }
  if (count === undefined) return 2;
  const value = Number(count);
  if (!Number.isInteger(value) || value < 2 || value > 10) {
    fail('infra/invalid-option', `Invalid nodeCount ${JSON.stringify(count)}: a production primary group has 2 to 10 nodes.`, { nodeCount: count });
  }
  return value;
}

function readAlarmEmail(context: Context): string | null {
  const email = text(context, 'alarmEmail');
  if (email === undefined) return null;
  if (!emailPattern.test(email)) {
    fail('infra/invalid-option', `Invalid alarmEmail ${JSON.stringify(email)}: expected an address such as ops@example.com.`, { alarmEmail: email });
  }
  return email;
}

function readQueryGroups(context: Context, topology: Topology): readonly QueryGroupConfig[] {
  const list = text(context, 'queryGroups');
  if (list === undefined) return [];
  if (topology === 'solo') {
    fail(
      'infra/query-group-on-solo',
      `Query groups (${list}) need a production system: pass -c topology=production, or drop -c queryGroups.`,
      { queryGroups: list },
    );
  }
  const groups = list.split(',').map((spec) => parseQueryGroup(spec.trim()));
  const names = groups.map((group) => group.name);
  const duplicate = names.find((name, index) => names.indexOf(name) !== index);
  if (duplicate !== undefined) {
    fail('infra/invalid-query-group', `Query group ${JSON.stringify(duplicate)} is named twice in queryGroups: each name must be unique.`, { name: duplicate });
  }
  return groups;
}

/** `name[:instanceType[:min[:max[:cpu|requests]]]]` */
export function parseQueryGroup(spec: string): QueryGroupConfig {
  const [name = '', instanceType, min, max, metric, ...rest] = spec.split(':');
  const expected = 'expected name[:instanceType[:min[:max[:cpu|requests]]]], e.g. analytics:i3.large:2:6:cpu';
  if (rest.length > 0) fail('infra/invalid-query-group', `Invalid query group ${JSON.stringify(spec)}: too many fields, ${expected}.`, { spec });
  if (!groupNamePattern.test(name) || name === 'primary') {
    fail(
      'infra/invalid-query-group',
      `Invalid query group name ${JSON.stringify(name)} in ${JSON.stringify(spec)}: expected 1-16 characters a-z, 0-9 or -, starting with a letter, not "primary"; ${expected}.`,
      { spec, name },
    );
  }
  if (instanceType !== undefined && instanceType !== '') checkInstanceType(instanceType, `query group ${name}`);
  const minNodes = readGroupSize(min, 1, spec, 'min');
  const maxNodes = readGroupSize(max, Math.max(2, minNodes), spec, 'max');
  if (maxNodes < minNodes) {
    fail('infra/invalid-query-group', `Query group ${JSON.stringify(spec)} has max ${maxNodes} below min ${minNodes}: expected min <= max.`, { spec });
  }
  if (metric !== undefined && metric !== '' && metric !== 'cpu' && metric !== 'requests') {
    fail('infra/invalid-query-group', `Unknown scaling metric ${JSON.stringify(metric)} in query group ${JSON.stringify(spec)}: expected cpu or requests.`, { spec, metric });
  }
  return {
    name,
    instanceType: instanceType === undefined || instanceType === '' ? defaultQueryGroupInstanceType : instanceType,
    minNodes,
    maxNodes,
    scalingMetric: metric === 'requests' ? 'requests' : 'cpu',
  };
}

function readGroupSize(field: string | undefined, fallback: number, spec: string, which: string): number {
  if (field === undefined || field === '') return fallback;
  const value = Number(field);
  if (!Number.isInteger(value) || value < 1 || value > 20) {
    fail('infra/invalid-query-group', `Invalid ${which} ${JSON.stringify(field)} in query group ${JSON.stringify(spec)}: expected a whole number from 1 to 20.`, { spec });
  }
  return value;
}
