import { describe, expect, it } from 'vitest';
import { FactumError } from '../nodes/util/errors.ts';
import { parseQueryGroup, readConfig, type Context } from './config.ts';

const base = { system: 'demo', topology: 'solo', bastionCidr: '203.0.113.7/32' };

function errorOf(context: Context, environment: Record<string, string> = {}): FactumError {
  try {
    readConfig(context, environment);
  } catch (error) {
    if (error instanceof FactumError) return error;
    throw error;
  }
  throw new Error(`no error for ${JSON.stringify(context)}`);
}

describe('system configuration', () => {
  it('reads a solo system with defaults', () => {
    expect(readConfig(base, {})).toEqual({
      system: 'demo',
      topology: 'solo',
      bastionCidr: '203.0.113.7/32',
      region: 'us-east-1',
      availabilityZones: null,
      instanceType: 't3.small',
      nodeCount: 1,
      queryGroups: [],
      alarmEmail: null,
    });
  });

  it('reads a production system with every option', () => {
    const config = readConfig(
      {
        ...base,
        topology: 'production',
        bastionCidr: 'none',
        region: 'eu-west-1',
        availabilityZones: 'eu-west-1a,eu-west-1b,eu-west-1c',
        instanceType: 'i3.xlarge',
        nodeCount: '3',
        queryGroups: 'analytics, reports:r5.large:2:6:requests',
        alarmEmail: 'ops@example.com',
      },
      {},
    );
    expect(config).toMatchObject({ bastionCidr: null, region: 'eu-west-1', instanceType: 'i3.xlarge', nodeCount: 3, alarmEmail: 'ops@example.com' });
    expect(config.availabilityZones).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']);
    expect(config.queryGroups).toEqual([
      { name: 'analytics', instanceType: 'i3.large', minNodes: 1, maxNodes: 2, scalingMetric: 'cpu' },
      { name: 'reports', instanceType: 'r5.large', minNodes: 2, maxNodes: 6, scalingMetric: 'requests' },
    ]);
  });

  it('takes the region from CDK_DEFAULT_REGION when none is given', () => {
    expect(readConfig(base, { CDK_DEFAULT_REGION: 'ap-southeast-2' }).region).toBe('ap-southeast-2');
  });

  it('defaults a production primary group to two i3.large nodes', () => {
    expect(readConfig({ ...base, topology: 'production' }, {})).toMatchObject({ instanceType: 'i3.large', nodeCount: 2 });
  });

  it.each<[string, Context, string, RegExp]>([
    ['missing system', { ...base, system: undefined }, 'infra/missing-context', /pass -c system=NAME/],
    ['upper-case system', { ...base, system: 'Demo' }, 'infra/invalid-system-name', /"Demo".*-c system=demo/],
    ['system with a dot', { ...base, system: 'my.db' }, 'infra/invalid-system-name', /"my\.db"/],
    ['system ending in -', { ...base, system: 'demo-' }, 'infra/invalid-system-name', /"demo-"/],
    ['system too long', { ...base, system: 'a'.repeat(21) }, 'infra/invalid-system-name', /1-20 characters/],
    ['missing topology', { ...base, topology: undefined }, 'infra/missing-context', /-c topology=solo or -c topology=production/],
    ['unknown topology', { ...base, topology: 'cluster' }, 'infra/unknown-topology', /Unknown topology "cluster": pass -c topology=solo or -c topology=production/],
    ['missing bastion CIDR', { ...base, bastionCidr: undefined }, 'infra/missing-context', /pass -c bastionCidr=ADDRESS\/BITS.*or -c bastionCidr=none/],
    ['empty bastion CIDR', { ...base, bastionCidr: ' ' }, 'infra/missing-context', /bastionCidr/],
    ['open bastion CIDR', { ...base, bastionCidr: '0.0.0.0/0' }, 'infra/invalid-cidr', /\/0 network/],
    ['malformed bastion CIDR', { ...base, bastionCidr: '10.0.0.300/32' }, 'infra/invalid-cidr', /"10\.0\.0\.300\/32"/],
    ['bastion CIDR without bits', { ...base, bastionCidr: '203.0.113.7' }, 'infra/invalid-cidr', /IPv4 CIDR/],
    ['query group on solo', { ...base, queryGroups: 'analytics' }, 'infra/query-group-on-solo', /pass -c topology=production, or drop -c queryGroups/],
    ['bad query group name', { ...base, topology: 'production', queryGroups: 'Analytics' }, 'infra/invalid-query-group', /"Analytics"/],
    ['query group named primary', { ...base, topology: 'production', queryGroups: 'primary' }, 'infra/invalid-query-group', /not "primary"/],
    ['duplicate query group', { ...base, topology: 'production', queryGroups: 'a,a' }, 'infra/invalid-query-group', /named twice/],
    ['query group max below min', { ...base, topology: 'production', queryGroups: 'a:i3.large:4:2' }, 'infra/invalid-query-group', /max 2 below min 4/],
    ['query group size zero', { ...base, topology: 'production', queryGroups: 'a:i3.large:0' }, 'infra/invalid-query-group', /from 1 to 20/],
    ['query group metric', { ...base, topology: 'production', queryGroups: 'a:i3.large:1:2:memory' }, 'infra/invalid-query-group', /cpu or requests/],
    ['query group fields', { ...base, topology: 'production', queryGroups: 'a:i3.large:1:2:cpu:x' }, 'infra/invalid-query-group', /too many fields/],
    ['query group instance type', { ...base, topology: 'production', queryGroups: 'a:large' }, 'infra/invalid-option', /"large" in query group a/],
    ['region', { ...base, region: 'mars' }, 'infra/invalid-option', /region "mars"/],
    ['zones of another region', { ...base, availabilityZones: 'eu-west-1a,eu-west-1b' }, 'infra/invalid-option', /zones of us-east-1/],
    ['one zone', { ...base, availabilityZones: 'us-east-1a' }, 'infra/invalid-option', /2 or 3 distinct zones/],
    ['instance type', { ...base, instanceType: 'huge' }, 'infra/invalid-option', /instance type "huge"/],
    ['node count on solo', { ...base, nodeCount: '2' }, 'infra/invalid-option', /exactly one node/],
    ['node count of one on production', { ...base, topology: 'production', nodeCount: '1' }, 'infra/invalid-option', /2 to 10 nodes/],
    ['alarm email', { ...base, alarmEmail: 'ops' }, 'infra/invalid-option', /alarmEmail "ops"/],
    ['context that is not a string', { ...base, system: { name: 'demo' } }, 'infra/invalid-option', /must be a string/],
  ])('rejects %s', (_name, context, code, message) => {
    const error = errorOf(context);
    expect(error.code).toBe(code);
    expect(error.category).toBe('incorrect');
    expect(error.message).toMatch(message);
  });

  it('parses a query group spec field by field', () => {
    expect(parseQueryGroup('ions::3')).toEqual({ name: 'ions', instanceType: 'i3.large', minNodes: 3, maxNodes: 3, scalingMetric: 'cpu' });
  });
});
