import { Match } from 'aws-cdk-lib/assertions';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bastionCidr, ingressCidrs, renderValue, resourcesOfType, statementsOf, synthesizeSystem, userDataOf, type SynthesizedSystem } from './synth.ts';

// Two apps: production alone, and the same system with two query groups.
let production: SynthesizedSystem;
let withGroups: SynthesizedSystem;
const storageName = 'factum-demo-storage';
const computeName = 'factum-demo-compute';
const analyticsName = 'factum-demo-query-analytics';
const reportsName = 'factum-demo-query-reports';

beforeAll(() => {
  production = synthesizeSystem({ system: 'demo', topology: 'production' });
  withGroups = synthesizeSystem({ system: 'demo', topology: 'production', queryGroups: 'analytics,reports:r5.large:2:6:requests' });
});
afterAll(() => {
  for (const synthesized of [production, withGroups]) rmSync(synthesized.directory, { recursive: true, force: true });
});

describe('production system', () => {
  it('synthesizes with zero cdk-nag and template-validator findings', () => {
    expect(Object.keys(production.json).sort()).toEqual([computeName, storageName]);
    expect(production.violations).toEqual([]);
  });

  it('runs two i3.large nodes across zones behind an internal load balancer with health checks', () => {
    const compute = production.template(computeName);
    compute.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      AutoScalingGroupName: 'factum-demo-primary',
      MinSize: '2',
      MaxSize: '3',
      HealthCheckType: 'ELB',
      VPCZoneIdentifier: ['<import:factum-demo-PrivateSubnet0>', '<import:factum-demo-PrivateSubnet1>'].map(() => Match.anyValue()),
    });
    compute.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'i3.large' }) });
    compute.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    compute.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal', Type: 'application' });
    compute.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 8182, Protocol: 'HTTP' });
    compute.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: '/health', Port: 8182 });
    compute.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'primary.demo.factum.internal.', Type: 'A', AliasTarget: Match.anyValue() });
    compute.resourceCountIs('AWS::Lambda::Function', 0);
  });

  it('places the interface endpoints in every zone', () => {
    const interfaces = resourcesOfType(production.json[storageName]!, 'AWS::EC2::VPCEndpoint').filter((endpoint) => endpoint.Properties.VpcEndpointType === 'Interface');
    expect(interfaces.map((endpoint) => endpoint.Properties.SubnetIds.length)).toEqual([2, 2]);
  });

  it('replaces nodes one at a time on upgrade, keeping the group at strength', () => {
    const group = resourcesOfType(production.json[computeName]!, 'AWS::AutoScaling::AutoScalingGroup').find((candidate) => candidate.Properties.AutoScalingGroupName === 'factum-demo-primary')!;
    const resource = production.json[computeName]!.Resources[group.id] as any;
    expect(resource.UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 2 });
  });

  it('prepares the instance-store SSD and the EFS cache in the user data', () => {
    const primary = userDataOf(production.json[computeName]!).find((text) => text.includes('FACTUM_ROLE=primary'))!;
    expect(primary).toContain("lsblk -dpno NAME,MODEL | awk '/Instance Storage/");
    expect(primary).toContain('mkfs.xfs -f "$SSD_DEVICE"');
    expect(primary).toContain('FACTUM_SSD_CACHE_DIR=/var/cache/factum');
    expect(primary).toContain('FACTUM_EFS_CACHE_DIR=/mnt/factum-efs');
    expect(primary).not.toContain('FACTUM_PRIMARY_ENDPOINT');
  });

  it('has a dashboard and alarms on node health and indexing lag', () => {
    const compute = production.template(computeName);
    compute.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    compute.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IndexingLagBytes',
      Namespace: 'Factum',
      Dimensions: [{ Name: 'System', Value: 'demo' }],
      Threshold: 32 * 1024 * 1024,
      Period: 300,
      EvaluationPeriods: 3,
    });
    compute.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'GroupInServiceInstances', Threshold: 2, ComparisonOperator: 'LessThanThreshold' });
    compute.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount', AlarmActions: ['<import:factum-demo-AlarmTopicArn>'].map(() => Match.anyValue()) });
    const body = renderValue(resourcesOfType(production.json[computeName]!, 'AWS::CloudWatch::Dashboard')[0]!.Properties.DashboardBody);
    // The names the node's metrics module emits (nodes/server/metrics.ts), in its namespace.
    for (const metric of ['CPUUtilization', 'MemoryRssBytes', 'Requests', 'RequestLatency', 'Transactions', 'TransactionLatency', 'IndexingLagBytes', 'CacheHits', 'CacheMisses', 'Errors', 'BusyRefusals']) {
      expect(body).toContain(metric);
    }
    expect(body).toContain('{Factum,System,Group} MetricName=\\"Requests\\" System=\\"demo\\"');
  });

  it('admits the outside world only to the bastion', () => {
    const all = Object.values(production.json).flatMap((template) => ingressCidrs(template));
    expect(all).toEqual([{ cidr: bastionCidr, fromPort: 22, toPort: 22 }]);
  });
});

describe('production system with two query groups', () => {
  it('synthesizes one stack per query group with zero findings', () => {
    expect(Object.keys(withGroups.json).sort()).toEqual([computeName, analyticsName, reportsName, storageName]);
    expect(withGroups.violations).toEqual([]);
  });

  it('never changes the storage or compute stacks when query groups are added', () => {
    expect(withGroups.json[storageName]).toEqual(production.json[storageName]);
    expect(withGroups.json[computeName]).toEqual(production.json[computeName]);
  });

  it('gives each group its own Auto Scaling group, load balancer, name and scaling policy', () => {
    const analytics = withGroups.template(analyticsName);
    analytics.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'factum-demo-analytics', MinSize: '1', MaxSize: '2', HealthCheckType: 'ELB' });
    analytics.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'i3.large' }) });
    analytics.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    analytics.hasResourceProperties('AWS::Route53::RecordSet', { Name: 'analytics.demo.factum.internal.' });
    analytics.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' }, TargetValue: 60 }),
    });
    const reports = withGroups.template(reportsName);
    reports.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { AutoScalingGroupName: 'factum-demo-reports', MinSize: '2', MaxSize: '6' });
    reports.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ InstanceType: 'r5.large' }) });
    reports.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: Match.objectLike({ PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: 'ALBRequestCountPerTarget' }) }),
    });
  });

  it('refers to nothing but the storage exports, so each group deploys and deletes alone', () => {
    for (const name of [analyticsName, reportsName]) {
      const text = JSON.stringify(withGroups.json[name]);
      const imports = [...text.matchAll(/"Fn::ImportValue":"([^"]+)"/g)].map((match) => match[1]!);
      expect(imports.length).toBeGreaterThan(5);
      for (const imported of imports) expect(imported).toMatch(/^factum-demo-[A-Za-z0-9]+$/);
      expect(withGroups.json[name]!.Outputs?.Endpoint?.Export).toBeUndefined();
    }
  });

  it('lets query-group nodes read but not write the table, bucket and key', () => {
    const statements = statementsOf(withGroups.json[analyticsName]!);
    const actions = statements.flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 's3:GetObject', 'kms:Decrypt']));
    // The one write: the group's own ion status and deployment records (which revision each node runs), by partition key.
    const [ionStatus, ...others] = statements.filter((statement) => [statement.Action].flat().some((action) => action === 'dynamodb:PutItem' || action === 'dynamodb:UpdateItem'));
    expect(others).toEqual([]);
    expect(JSON.stringify(ionStatus)).toContain('"dynamodb:LeadingKeys":["record:ions/status/analytics","record:ions/deployment/analytics"]');
    // (and the table's key to encrypt it, through DynamoDB only)
    const isStatusKey = (statement: (typeof statements)[number]): boolean => [statement.Action].flat().includes('kms:Encrypt') && /kms:ViaService.*dynamodb\./.test(JSON.stringify(statement.Condition ?? null));
    expect(statements.filter(isStatusKey).flatMap((statement) => [statement.Action].flat()).sort()).toEqual(['kms:Encrypt', 'kms:GenerateDataKey']);
    const writes = statements.filter((statement) => statement !== ionStatus && !isStatusKey(statement)).flatMap((statement) => [statement.Action].flat());
    for (const write of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 's3:PutObject', 's3:DeleteObject', 'kms:Encrypt', 'kms:GenerateDataKey']) {
      expect(writes).not.toContain(write);
    }
  });

  it("starts query-group nodes with their role (they find each database's transactor by its lease, not by an endpoint)", () => {
    const [userData] = userDataOf(withGroups.json[reportsName]!);
    expect(userData).toContain('FACTUM_ROLE=query-group');
    expect(userData).toContain('FACTUM_GROUP=reports');
    expect(userData).not.toContain('FACTUM_PRIMARY_ENDPOINT');
  });

  it('admits the outside world only to the bastion', () => {
    const all = Object.values(withGroups.json).flatMap((template) => ingressCidrs(template));
    expect(all).toEqual([{ cidr: bastionCidr, fromPort: 22, toPort: 22 }]);
  });
});
