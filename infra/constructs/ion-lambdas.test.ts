// Lambda ions synthesized as `cdk synth -c ionConfig=... -c ionGroup=... -c ionAccess=...` does
// (cdk-nag and the template validator as errors): a solo system whose primary group runs them, and
// a production system whose query group does. One function per Lambda of the ion-config, running
// the bundled proxy with the right environment, in the private subnets with the client security
// group, a role that can fetch only its one kind of access key, and no secret anywhere.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '../config.ts';
import { SystemImports } from '../system-imports.ts';
import { IonLambdas } from './ion-lambdas.ts';
import { renderValue, resourcesOfType, statementsOf, synthesizeSystem, type SynthesizedSystem, type TemplateJson } from '../test/synth.ts';

const ionConfig = 'infra/test/fixtures/ion-config.json';
let solo: SynthesizedSystem;
let production: SynthesizedSystem;

beforeAll(() => {
  solo = synthesizeSystem({ system: 'demo', topology: 'solo', ionConfig, ionAccess: 'read-only:shop' });
  production = synthesizeSystem({ system: 'demo', topology: 'production', queryGroups: 'analytics,reports', ionConfig, ionGroup: 'analytics', ionAccess: 'read-write:shop' });
}, 180_000); // two synths with bundling: slow on a loaded machine
afterAll(() => {
  for (const synthesized of [solo, production]) if (synthesized !== undefined) rmSync(synthesized.directory, { recursive: true, force: true });
});

/** The resources of the IonLambdas construct (a solo compute stack has a Lambda of its own). */
function ionResources(template: TemplateJson, type: string): ReturnType<typeof resourcesOfType> {
  return resourcesOfType(template, type).filter((resource) => resource.id.startsWith('IonLambdas'));
}

function functionsOf(template: TemplateJson): Record<string, any> {
  return Object.fromEntries(ionResources(template, 'AWS::Lambda::Function').map((fn) => [fn.Properties.FunctionName, fn.Properties]));
}

function environmentOf(fn: any): Record<string, string> {
  return Object.fromEntries(Object.entries(fn.Environment.Variables as Record<string, unknown>).map(([name, value]) => [name, renderValue(value)]));
}

describe('Lambda ions', () => {
  it('synthesize with zero cdk-nag and template-validator findings', () => {
    expect(solo.violations).toEqual([]);
    expect(production.violations).toEqual([]);
  });

  it('one function per Lambda of the ion-config, named <system>-<app>-<lambda>, with its description, timeout and concurrency', () => {
    const functions = functionsOf(solo.json['factum-demo-compute']!);
    expect(Object.keys(functions).sort()).toEqual(['demo-shop-hello', 'demo-shop-stock-report']);
    expect(functions['demo-shop-hello']).toMatchObject({ Description: 'Greets whoever the event names', Timeout: 20, ReservedConcurrentExecutions: 5, Handler: 'index.handler', Runtime: 'nodejs24.x' });
    expect(functions['demo-shop-stock-report']).toMatchObject({ Description: 'factum demo: Lambda ion shop/stock-report on compute group primary', Timeout: 30 });
    expect(functions['demo-shop-stock-report'].ReservedConcurrentExecutions).toBeUndefined();
  });

  it('live in the stack of the group that runs the application, and only there', () => {
    expect(Object.keys(functionsOf(production.json['factum-demo-query-analytics']!)).sort()).toEqual(['demo-shop-hello', 'demo-shop-stock-report']);
    expect(functionsOf(production.json['factum-demo-compute']!)).toEqual({});
    expect(functionsOf(production.json['factum-demo-query-reports']!)).toEqual({});
  });

  it("tell the proxy the group's endpoint, the ion and where its key is, and nothing secret", () => {
    expect(environmentOf(functionsOf(solo.json['factum-demo-compute']!)['demo-shop-hello'])).toEqual({
      FACTUM_ENDPOINT: 'http://primary.demo.factum.internal:8182',
      FACTUM_SYSTEM: 'demo',
      FACTUM_ION_APP: 'shop',
      FACTUM_ION_LAMBDA: 'hello',
      FACTUM_BUCKET: '<import:factum-demo-BucketName>',
      FACTUM_ACCESS_PREFIX: 'access/',
      FACTUM_PERMISSION: 'read-only',
      FACTUM_DATABASE: 'shop',
      FACTUM_TIMEOUT_MS: '20000',
    });
    const analytics = environmentOf(functionsOf(production.json['factum-demo-query-analytics']!)['demo-shop-stock-report']);
    expect(analytics).toMatchObject({ FACTUM_ENDPOINT: 'http://analytics.demo.factum.internal:8182', FACTUM_ION_LAMBDA: 'stock-report', FACTUM_PERMISSION: 'read-write', FACTUM_TIMEOUT_MS: '30000' });
    // No key, key file or credentials in any function: only the names of where to fetch one.
    for (const template of [solo.json['factum-demo-compute']!, production.json['factum-demo-query-analytics']!]) {
      const text = JSON.stringify(Object.fromEntries(Object.entries(template.Resources).filter(([id]) => id.startsWith('IonLambdas'))));
      expect(text).toContain('FACTUM_ENDPOINT'); // the check sees the functions
      expect(text).not.toMatch(/FACTUM_KEY_FILE|AWS_SECRET|AWS_ACCESS_KEY|AWS_SESSION_TOKEN|secret|"keyId"/i);
      expect(text).not.toMatch(/(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/); // a secret's shape (32 bytes, base64url)
    }
  });

  it('run in the private subnets with the client security group, which the load balancers admit', () => {
    const fn = functionsOf(production.json['factum-demo-query-analytics']!)['demo-shop-hello'];
    expect(renderValue(fn.VpcConfig.SubnetIds)).toBe('<import:factum-demo-PrivateSubnet0>,<import:factum-demo-PrivateSubnet1>');
    expect(renderValue(fn.VpcConfig.SecurityGroupIds)).toBe('<import:factum-demo-ClientSecurityGroupId>');
    const template = production.json['factum-demo-query-analytics']!;
    const ingress = [
      ...resourcesOfType(template, 'AWS::EC2::SecurityGroup').flatMap((group) => (group.Properties.SecurityGroupIngress ?? []).map((rule: any) => ({ ...rule, GroupId: group.id }))),
      ...resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress').map((rule) => ({ ...rule.Properties, GroupId: renderValue(rule.Properties.GroupId) })),
    ];
    const admitted = ingress.filter((rule: any) => renderValue(rule.SourceSecurityGroupId) === '<import:factum-demo-ClientSecurityGroupId>' && rule.FromPort === 8182);
    expect(admitted.map((rule: any) => String(rule.GroupId))).toEqual([expect.stringMatching(/^<?LoadBalancerSecurityGroup/)]);
  });

  it('share one role that may fetch only the read-only key of shop, write only its log groups, and manage network interfaces', () => {
    const statements = statementsOf(solo.json['factum-demo-compute']!).filter((statement) => statement.policy.startsWith('IonLambdas'));
    const rendered = statements.map((statement) => ({ actions: [statement.Action].flat().sort().join(' '), resource: renderValue(statement.Resource), condition: JSON.stringify(statement.Condition ?? null) }));
    expect(rendered.filter((statement) => statement.actions.startsWith('s3:'))).toEqual([
      { actions: 's3:ListBucket', resource: '<import:factum-demo-BucketArn>', condition: JSON.stringify({ StringLike: { 's3:prefix': ['access/dbs/shop/read-only/*'] } }) },
      { actions: 's3:GetObject', resource: '<import:factum-demo-BucketArn>/access/dbs/shop/read-only/*', condition: 'null' },
    ]);
    const decrypt = rendered.filter((statement) => statement.actions === 'kms:Decrypt');
    expect(decrypt.map((statement) => statement.resource)).toEqual(['<import:factum-demo-KeyArn>', '<import:factum-demo-KeyArn>']);
    expect(decrypt[1]!.condition).toBe(
      JSON.stringify({ StringEquals: { 'kms:EncryptionContext:system': 'demo', 'kms:EncryptionContext:purpose': 'access-key', 'kms:EncryptionContext:permission': 'read-only', 'kms:EncryptionContext:database': 'shop' } }),
    );
    expect(rendered.find((statement) => statement.actions.startsWith('logs:'))).toEqual({
      actions: 'logs:CreateLogStream logs:PutLogEvents',
      resource: expect.stringMatching(/^<IonLambdashelloLogs[0-9A-F]{8}\.Arn>,<IonLambdasstockreportLogs[0-9A-F]{8}\.Arn>$/),
      condition: 'null',
    });
    // The only wildcard resource: the network interfaces Lambda makes in the VPC.
    expect(rendered.filter((statement) => statement.resource === '*').map((statement) => statement.actions)).toEqual([
      'ec2:AssignPrivateIpAddresses ec2:CreateNetworkInterface ec2:DeleteNetworkInterface ec2:DescribeNetworkInterfaces ec2:DescribeSubnets ec2:UnassignPrivateIpAddresses',
    ]);
    // Every action of the role, in all: nothing else is allowed.
    expect([...new Set(rendered.flatMap((statement) => statement.actions.split(' ')))].filter((action) => !/^(s3:ListBucket|s3:GetObject|kms:Decrypt|logs:|ec2:)/.test(action))).toEqual([]);
  });

  it('log to their own groups under the system prefix, encrypted with the system key, with a retention', () => {
    const groups = ionResources(solo.json['factum-demo-compute']!, 'AWS::Logs::LogGroup').map((group) => group.Properties);
    expect(groups.map((group) => [group.LogGroupName, group.RetentionInDays, renderValue(group.KmsKeyId)])).toEqual([
      ['/factum/demo/ions/demo-shop-hello', 30, '<import:factum-demo-KeyArn>'],
      ['/factum/demo/ions/demo-shop-stock-report', 30, '<import:factum-demo-KeyArn>'],
    ]);
  });

  it('create each function only after its role may make network interfaces', () => {
    const template = solo.json['factum-demo-compute']!;
    const policy = resourcesOfType(template, 'AWS::IAM::Policy').find((candidate) => candidate.id.startsWith('IonLambdasNetworkInterfaces'))!;
    const functions = ionResources(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(2);
    for (const fn of functions) expect([template.Resources[fn.id]!.DependsOn].flat()).toContain(policy.id);
  });

  it('run the bundled proxy: the asset holds index.mjs and its chunks, and no source map', () => {
    const fn = functionsOf(solo.json['factum-demo-compute']!)['demo-shop-hello'];
    const assetHash = String(fn.Code.S3Key).replace(/\.zip$/, '');
    const assetDirectory = join(solo.directory, `asset.${assetHash}`);
    expect(existsSync(assetDirectory)).toBe(true);
    const files = readdirSync(assetDirectory, { recursive: true }).map(String).sort();
    expect(files).toContain('index.mjs');
    expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
    expect(readFileSync(join(assetDirectory, 'index.mjs'), 'utf8')).toContain('ionInvoke');
  });
});

describe('a Lambda ion function', () => {
  /** The logical ids of the functions an application with `lambdas` gets, by function name. */
  function logicalIds(lambdas: readonly string[]): Record<string, string> {
    const app = new App();
    const stack = new Stack(app, 'Group', { env: { region: 'us-east-1' } });
    const imports = new SystemImports(stack, 'Storage', readConfig({ system: 'demo', topology: 'solo', bastionCidr: 'none' }, {}));
    new IonLambdas(stack, 'IonLambdas', {
      imports,
      groupName: 'primary',
      appName: 'shop',
      lambdas: Object.fromEntries(lambdas.map((name) => [name, { handler: 'hello' }])),
      access: { permission: 'read-only', database: 'shop' },
    });
    const resources = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    return Object.fromEntries(Object.entries(resources).map(([id, resource]) => [(resource as any).Properties.FunctionName, id]));
  }

  it('keeps its logical id when other Lambdas are added, removed or reordered (a replaced function would clash with its own name)', () => {
    const before = logicalIds(['hello', 'report']);
    const after = logicalIds(['audit', 'report', 'hello']);
    expect(after['demo-shop-hello']).toBe(before['demo-shop-hello']);
    expect(after['demo-shop-report']).toBe(before['demo-shop-report']);
    expect(logicalIds(['report'])['demo-shop-report']).toBe(before['demo-shop-report']);
  });
});
