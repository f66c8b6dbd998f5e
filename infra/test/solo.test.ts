import { Match } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bastionCidr, ingressCidrs, renderValue, resourcesOfType, statementsOf, synthesizeSystem, userDataOf, type SynthesizedSystem } from './synth.ts';
import { tableKeySchema } from '../../nodes/storage/aws/table-layout.ts';

let system: SynthesizedSystem;
const storageName = 'factum-demo-storage';
const computeName = 'factum-demo-compute';

beforeAll(() => {
  system = synthesizeSystem({ system: 'demo', topology: 'solo' });
});
afterAll(() => rmSync(system.directory, { recursive: true, force: true }));

describe('solo system', () => {
  it('synthesizes with zero cdk-nag and template-validator findings', () => {
    expect(Object.keys(system.json).sort()).toEqual([computeName, storageName]);
    expect(system.violations).toEqual([]);
  });

  it('has one storage of each kind: table, bucket, key, file system, log group, zone', () => {
    const storage = system.template(storageName);
    storage.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    // The key schema is the one the AWS storage backend reads and writes.
    storage.hasResourceProperties('AWS::DynamoDB::GlobalTable', { KeySchema: tableKeySchema.keySchema, AttributeDefinitions: Match.arrayWith([...tableKeySchema.attributeDefinitions]) });
    storage.resourceCountIs('AWS::S3::Bucket', 2);
    storage.resourceCountIs('AWS::KMS::Key', 1);
    storage.resourceCountIs('AWS::EFS::FileSystem', 1);
    storage.resourceCountIs('AWS::EFS::MountTarget', 2);
    storage.resourceCountIs('AWS::EFS::AccessPoint', 1);
    storage.resourceCountIs('AWS::Logs::LogGroup', 1);
    storage.resourceCountIs('AWS::Route53::HostedZone', 1);
    storage.resourceCountIs('AWS::EC2::NatGateway', 0);
    storage.resourceCountIs('AWS::EC2::VPCEndpoint', 4);
    const endpoints = resourcesOfType(system.json[storageName]!, 'AWS::EC2::VPCEndpoint').map((endpoint) => `${endpoint.Properties.VpcEndpointType ?? 'Gateway'} ${renderValue(endpoint.Properties.ServiceName)}`);
    expect(endpoints.sort()).toEqual([
      'Gateway com.amazonaws.<ref:AWS::Region>.dynamodb',
      'Gateway com.amazonaws.<ref:AWS::Region>.s3',
      'Interface com.amazonaws.us-east-1.kms',
      'Interface com.amazonaws.us-east-1.logs',
    ]);
    for (const endpoint of resourcesOfType(system.json[storageName]!, 'AWS::EC2::VPCEndpoint').filter((candidate) => candidate.Properties.VpcEndpointType === 'Interface')) {
      expect(endpoint.Properties.SubnetIds).toHaveLength(1);
    }
    storage.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('runs one small node in a group of one with no load balancer, plus the bastion', () => {
    const compute = system.template(computeName);
    compute.resourceCountIs('AWS::AutoScaling::AutoScalingGroup', 2);
    compute.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'factum-demo-primary', MinSize: '1', MaxSize: '1', HealthCheckType: 'EC2' });
    compute.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'factum-demo-bastion', MinSize: '1', MaxSize: '1' });
    compute.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 0);
    compute.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 't3.small' }) });
  });

  it('keeps the endpoint name on the node through a launch-event function', () => {
    const compute = system.template(computeName);
    compute.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { AutoScalingGroupName: ['factum-demo-primary'] } },
    });
    compute.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ RECORD_NAME: 'primary.demo.factum.internal' }) } });
    const route53 = statementsOf(system.json[computeName]!).find((statement) => statement.Action === 'route53:ChangeResourceRecordSets');
    expect(route53?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['primary.demo.factum.internal'], 'route53:ChangeResourceRecordSetsRecordTypes': ['A'] },
    });
    const primary = resourcesOfType(system.json[computeName]!, 'AWS::AutoScaling::AutoScalingGroup').find((group) => group.Properties.AutoScalingGroupName === 'factum-demo-primary');
    const rule = resourcesOfType(system.json[computeName]!, 'AWS::Events::Rule')[0]!;
    expect(system.json[computeName]!.Resources[primary!.id]!.DependsOn).toEqual(expect.arrayContaining([rule.id]));
  });

  it('encrypts everything at rest with the system key', () => {
    const storage = system.template(storageName);
    const key = { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] };
    storage.hasResourceProperties('AWS::DynamoDB::GlobalTable', { SSESpecification: { SSEEnabled: true, SSEType: 'KMS' }, Replicas: [Match.objectLike({ SSESpecification: { KMSMasterKeyId: key } })] });
    storage.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: key } }] },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    storage.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true, KmsKeyId: key });
    storage.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: key });
    storage.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: key });
    for (const bucket of resourcesOfType(system.json[storageName]!, 'AWS::S3::Bucket')) {
      expect(bucket.Properties.BucketEncryption).toBeDefined();
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    }
    for (const policy of resourcesOfType(system.json[storageName]!, 'AWS::S3::BucketPolicy')) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    }
    for (const launchTemplate of resourcesOfType(system.json[computeName]!, 'AWS::EC2::LaunchTemplate')) {
      const data = launchTemplate.Properties.LaunchTemplateData;
      expect(data.MetadataOptions.HttpTokens).toBe('required');
      expect(data.BlockDeviceMappings.map((mapping: any) => mapping.Ebs.Encrypted)).toEqual([true]);
    }
  });

  it('retains every stateful resource and protects the storage stack', () => {
    const stateful = ['AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket', 'AWS::KMS::Key', 'AWS::EFS::FileSystem', 'AWS::Logs::LogGroup'];
    for (const type of stateful) {
      const resources = resourcesOfType(system.json[storageName]!, type);
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) expect([type, resource.DeletionPolicy]).toEqual([type, 'Retain']);
    }
    system.template(storageName).hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })],
    });
    expect(system.storage.terminationProtection).toBe(true);
  });

  it('admits the outside world only to the bastion, over SSH, from the given CIDR', () => {
    const all = Object.values(system.json).flatMap((template) => ingressCidrs(template));
    expect(all).toEqual([{ cidr: bastionCidr, fromPort: 22, toPort: 22 }]);
    const bastion = resourcesOfType(system.json[computeName]!, 'AWS::EC2::SecurityGroup').find((group) => (group.Properties.GroupDescription as string).includes('bastion'));
    expect(bastion?.Properties.SecurityGroupIngress).toEqual([expect.objectContaining({ CidrIp: bastionCidr, FromPort: 22 })]);
  });

  it('scopes the node role to this system: imported table, bucket prefixes, key, log group, file system', () => {
    const policies = statementsOf(system.json[computeName]!).filter((statement) => statement.policy.startsWith('PrimaryIam'));
    expect(policies.length).toBeGreaterThan(5);
    for (const statement of policies) {
      const resources = [statement.Resource].flat().map(renderValue);
      for (const resource of resources) {
        expect(resource).toMatch(/^(<import:factum-demo-[A-Za-z]+>(\/(segments|log-spill|revisions|access)\/\*)?|arn:aws:s3:::cdk-[a-z0-9]+-assets-\$\{AWS::AccountId\}-us-east-1\/[0-9a-f]{64}\.zip)$/);
      }
    }
    const table = policies.find((statement) => statement.Action.includes('dynamodb:GetItem'));
    expect(table?.Action).toContain('dynamodb:PutItem');
    expect(renderValue(table?.Resource)).toBe('<import:factum-demo-TableArn>');
  });

  it('lets primary nodes create and open access keys, KMS only under their encryption context', () => {
    const statements = statementsOf(system.json[computeName]!).filter((statement) => statement.policy.startsWith('PrimaryIam'));
    const access = statements.find((statement) => renderValue(statement.Resource) === '<import:factum-demo-BucketArn>/access/*');
    expect([access?.Action].flat().sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:PutObject']);
    const list = statements.find((statement) => statement.Action === 's3:ListBucket');
    expect((list?.Condition as any).StringLike['s3:prefix']).toContain('access/*');
    const kms = statements.filter((statement) => [statement.Action].flat().some((action) => action.startsWith('kms:')));
    expect(kms.map((statement) => statement.Condition)).toEqual([
      { StringEquals: { 'kms:ViaService': ['s3.us-east-1.amazonaws.com', 'dynamodb.us-east-1.amazonaws.com'] } },
      { StringEquals: { 'kms:EncryptionContext:system': 'demo', 'kms:EncryptionContext:purpose': 'access-key' } },
    ]);
    for (const statement of kms) {
      expect(statement.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
      expect(renderValue(statement.Resource)).toBe('<import:factum-demo-KeyArn>');
    }
  });

  it('gives clients policies that fetch only the keys they grant: every database, or admin', () => {
    const storage = system.json[storageName]!;
    const bucket = resourcesOfType(storage, 'AWS::S3::Bucket').find((candidate) => candidate.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm === 'aws:kms')!;
    const of = (prefix: string) => statementsOf(storage).filter((statement) => statement.policy.startsWith(prefix));
    const client = of('ClientPolicy');
    const reads = [client.find((statement) => statement.Action === 's3:GetObject')?.Resource].flat().map(renderValue);
    expect(reads.sort()).toEqual([`<${bucket.id}.Arn>/access/dbs/*/read-only/*`, `<${bucket.id}.Arn>/access/dbs/*/read-write/*`]);
    const listed = (client.find((statement) => statement.Action === 's3:ListBucket')?.Condition as any).StringLike['s3:prefix'] as string[];
    expect([...listed].sort()).toEqual(['access/dbs/*/read-only/*', 'access/dbs/*/read-write/*']);
    const opens = client.filter((statement) => statement.Action === 'kms:Decrypt').map((statement) => statement.Condition);
    expect(opens).toEqual([
      { StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
      { StringEquals: { 'kms:EncryptionContext:system': 'demo', 'kms:EncryptionContext:purpose': 'access-key', 'kms:EncryptionContext:permission': 'read-write' } },
      { StringEquals: { 'kms:EncryptionContext:system': 'demo', 'kms:EncryptionContext:purpose': 'access-key', 'kms:EncryptionContext:permission': 'read-only' } },
    ]);
    expect(client.flatMap((statement) => [statement.Action].flat()).sort()).toEqual(['kms:Decrypt', 'kms:Decrypt', 'kms:Decrypt', 's3:GetObject', 's3:ListBucket']);
    const admin = of('AdminPolicy');
    expect(renderValue(admin.find((statement) => statement.Action === 's3:GetObject')?.Resource)).toBe(`<${bucket.id}.Arn>/access/admin/*`);
    const exports = Object.values(storage.Outputs ?? {}).map((output) => output.Export?.Name);
    expect(exports).toEqual(expect.arrayContaining(['factum-demo-ClientPolicyArn', 'factum-demo-AdminPolicyArn']));
  });

  it('gives the node user data its essentials', () => {
    const [primary, bastion] = userDataOf(system.json[computeName]!).sort((a, b) => b.length - a.length);
    for (const essential of [
      'dnf install -y nodejs20 amazon-efs-utils amazon-cloudwatch-agent',
      "aws s3 cp 's3://cdk-",
      'accesspoint=<import:factum-demo-AccessPointId>',
      '<import:factum-demo-FileSystemId>:/ /mnt/factum-efs efs _netdev,noresvport,tls,iam',
      'FACTUM_SYSTEM=demo',
      'FACTUM_ROLE=primary',
      'FACTUM_GROUP=primary',
      'FACTUM_TABLE=<import:factum-demo-TableName>',
      'FACTUM_BUCKET=<import:factum-demo-BucketName>',
      // What the real node needs to start on AWS storage (nodes/server/settings.ts, nodes/storage/aws/config.ts).
      'FACTUM_STORAGE=aws',
      'FACTUM_KMS_KEY=<import:factum-demo-KeyArn>',
      'AWS_REGION=us-east-1',
      'FACTUM_ACCESS_PREFIX=access/',
      'FACTUM_SSD_CACHE_DIR=/var/cache/factum',
      'FACTUM_EFS_CACHE_DIR=/mnt/factum-efs',
      'FACTUM_LOG_LEVEL=info',
      '"log_group_name": "<import:factum-demo-LogGroupName>"',
      'EnvironmentFile=/etc/factum/node.env',
      'ExecStart=${NODE_BIN} /opt/factum/current/main.mjs',
      'systemctl enable --now factum-node',
    ]) {
      expect(primary).toContain(essential);
    }
    expect(bastion).toContain('factum bastion');
  });

  it('outputs what a client needs', () => {
    const compute = system.template(computeName);
    compute.hasOutput('EndpointUrl', { Value: 'http://primary.demo.factum.internal:8182' });
    for (const output of ['TableName', 'BucketName', 'KeyArn', 'ClientSecurityGroupId', 'ClientPolicyArn', 'AdminPolicyArn', 'PrivateSubnetIds']) compute.hasOutput(output, {});
    const exports = Object.values(system.json[storageName]!.Outputs ?? {}).map((output) => output.Export?.Name);
    expect(exports).toEqual(expect.arrayContaining(['factum-demo-TableName', 'factum-demo-BucketName', 'factum-demo-KeyArn', 'factum-demo-ClientSecurityGroupId']));
  });
});

