//! The storage stack: everything a system's data lives in, and the network its nodes run in.
//! It is deployed once and outlives every compute deployment: each stateful resource is retained
//! when removed from the template, DynamoDB deletion protection and stack termination protection
//! are on, and no compute or query-group stack refers to its constructs (see system-exports.ts).
//!
//! Network: nodes run in private isolated subnets with no route to the internet. DynamoDB and S3
//! (including the Amazon Linux package repositories and the CDK asset bucket) are reached through
//! free gateway endpoints; CloudWatch Logs (logs, and metrics as embedded metric format) and KMS
//! through interface endpoints. Two interface endpoints cost less than one NAT gateway per month
//! and open no path to the internet (docs/deploy.md has the figures). The only public subnet holds
//! the bastion.

import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as efs from 'aws-cdk-lib/aws-efs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { SystemConfig } from './config.ts';
import { acknowledge } from './nag.ts';
import { efsCachePath, exportValue, loadBalancerLogPrefix, nodePort, nodeUserId, zoneName } from './system-exports.ts';
import { attributes as tableAttributes } from '../nodes/storage/aws/table-layout.ts';
import { accessKeyStatements, acknowledgeAccessKeyWildcards, type AccessGrant } from './constructs/client-access-policy.ts';

export interface StorageStackProps extends StackProps {
  readonly config: SystemConfig;
}

export class StorageStack extends Stack {
  readonly key: kms.Key;
  readonly vpc: ec2.Vpc;
  readonly table: dynamodb.TableV2;
  readonly bucket: s3.Bucket;
  readonly accessLogsBucket: s3.Bucket;
  readonly fileSystem: efs.FileSystem;
  readonly accessPoint: efs.AccessPoint;
  readonly logGroup: logs.LogGroup;
  readonly nodeSecurityGroup: ec2.SecurityGroup;
  readonly clientSecurityGroup: ec2.SecurityGroup;
  readonly hostedZone: route53.PrivateHostedZone;
  readonly alarmTopic: sns.Topic;
  readonly clientPolicy: iam.ManagedPolicy;
  readonly adminPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: StorageStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    const { config } = props;
    this.key = this.createKey(config);
    this.accessLogsBucket = this.createAccessLogsBucket();
    this.vpc = this.createVpc(config);
    this.table = this.createTable();
    this.bucket = this.createBucket();
    this.logGroup = this.createLogGroup(config);
    this.nodeSecurityGroup = this.createNodeSecurityGroup();
    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'ClientSecurityGroup', {
      vpc: this.vpc,
      description: `factum ${config.system}: clients of the system (bastion, Lambda functions); load balancers admit it`,
    });
    this.createInterfaceEndpoints(config.topology === 'solo');
    this.admitLoadBalancerLogs();
    [this.fileSystem, this.accessPoint] = this.createFileSystem();
    this.hostedZone = new route53.PrivateHostedZone(this, 'HostedZone', { zoneName: zoneName(config.system), vpc: this.vpc });
    this.alarmTopic = this.createAlarmTopic(config);
    [this.clientPolicy, this.adminPolicy] = this.createClientPolicies(config);
    this.exportContract(config);
  }

  private createKey(config: SystemConfig): kms.Key {
    const key = new kms.Key(this, 'Key', {
      description: `factum ${config.system}: encrypts the table, bucket, file system, logs and alarm topic`,
      enableKeyRotation: true,
      alias: `alias/factum/${config.system}`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch Logs encrypts the system's log group with this key, bound to that log group.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:/factum/${config.system}*` },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted alarm topic.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    return key;
  }

  /** Server access logs of the data bucket, load balancer access logs, VPC flow logs. */
  private createAccessLogsBucket(): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogsBucket', {
      // S3 server access logs and load balancer logs can only be delivered to SSE-S3 buckets.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(365) }],
    });
    acknowledge(bucket, 'AwsSolutions-S1', 'This bucket is the access-log destination of the system; logging its own accesses into itself would loop.');
    return bucket;
  }

  private createVpc(config: SystemConfig): ec2.Vpc {
    const privateSubnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    return new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.40.0.0/16'),
      ...(config.availabilityZones === null ? { maxAzs: 2 } : { availabilityZones: [...config.availabilityZones] }),
      natGateways: 0,
      subnetConfiguration: [
        { name: 'bastion', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: 'nodes', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 20 },
      ],
      gatewayEndpoints: {
        DynamoDb: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB, subnets: [privateSubnets] },
        S3: { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [privateSubnets] },
      },
      flowLogs: {
        FlowLog: {
          destination: ec2.FlowLogDestination.toS3(this.accessLogsBucket, 'vpc-flow-logs/'),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
  }

  /** CloudWatch Logs and KMS inside the VPC, admitting only nodes and clients. */
  private createInterfaceEndpoints(solo: boolean): void {
    const securityGroup = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', {
      vpc: this.vpc,
      description: 'factum interface endpoints (CloudWatch Logs, KMS): HTTPS from nodes and clients',
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(this.nodeSecurityGroup, ec2.Port.tcp(443), 'from nodes');
    securityGroup.addIngressRule(this.clientSecurityGroup, ec2.Port.tcp(443), 'from clients');
    // Solo: one zone's endpoints serve the single node wherever it runs (half the hourly cost);
    // production: one per zone, so losing a zone loses no endpoint.
    const subnets = solo ? { subnets: [this.vpc.isolatedSubnets[0]!] } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const endpoint = { subnets, securityGroups: [securityGroup], open: false, privateDnsEnabled: true };
    this.vpc.addInterfaceEndpoint('LogsEndpoint', { service: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS, ...endpoint });
    this.vpc.addInterfaceEndpoint('KmsEndpoint', { service: ec2.InterfaceVpcEndpointAwsService.KMS, ...endpoint });
  }

  /** Load balancers in compute and query-group stacks deliver access logs here. */
  private admitLoadBalancerLogs(): void {
    const elbAccount = RegionInfo.get(this.region).elbv2Account;
    const principal = elbAccount === undefined
      ? new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')
      : new iam.AccountPrincipal(elbAccount);
    this.accessLogsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [principal],
        actions: ['s3:PutObject'],
        resources: [this.accessLogsBucket.arnForObjects(`${loadBalancerLogPrefix}/*/AWSLogs/${this.account}/*`)],
      }),
    );
  }

  /**
   * One table for the log, roots, catalog and leases, with the key schema the AWS storage backend
   * writes (nodes/storage/aws/table-layout.ts): `id` (string, `log:<name>` or `record:<key>`) and
   * `position` (number, the log position; 0 for records).
   */
  private createTable(): dynamodb.TableV2 {
    return new dynamodb.TableV2(this, 'Table', {
      partitionKey: { name: tableAttributes.id, type: dynamodb.AttributeType.STRING },
      sortKey: { name: tableAttributes.position, type: dynamodb.AttributeType.NUMBER },
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Segments, ion revisions and access keys (see `bucketPrefixes`). */
  private createBucket(): s3.Bucket {
    return new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioning keeps a deleted or overwritten object recoverable for 30 days.
      versioned: true,
      lifecycleRules: [
        { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(30), expiredObjectDeleteMarker: true },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
      ],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'bucket/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private createLogGroup(config: SystemConfig): logs.LogGroup {
    return new logs.LogGroup(this, 'LogGroup', {
      logGroupName: `/factum/${config.system}`,
      encryptionKey: this.key,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** Every node of every compute group; nodes talk to each other (novelty, forwarded transactions). */
  private createNodeSecurityGroup(): ec2.SecurityGroup {
    const group = new ec2.SecurityGroup(this, 'NodeSecurityGroup', {
      vpc: this.vpc,
      description: 'factum nodes of every compute group; admits other nodes on the node port',
    });
    group.addIngressRule(group, ec2.Port.tcp(nodePort), 'from other nodes of the system');
    return group;
  }

  private createFileSystem(): [efs.FileSystem, efs.AccessPoint] {
    const fileSystem = new efs.FileSystem(this, 'SegmentCache', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      encrypted: true,
      kmsKey: this.key,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      throughputMode: efs.ThroughputMode.ELASTIC,
      lifecyclePolicy: efs.LifecyclePolicy.AFTER_30_DAYS,
      // A cache of immutable segments: everything in it can be read again from S3.
      enableAutomaticBackups: false,
      // Only IAM-authorized mounts (the nodes mount with `iam`); no anonymous NFS clients.
      allowAnonymousAccess: false,
      removalPolicy: RemovalPolicy.RETAIN,
      fileSystemPolicy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            effect: iam.Effect.DENY,
            principals: [new iam.AnyPrincipal()],
            actions: ['*'],
            conditions: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
          new iam.PolicyStatement({
            principals: [new iam.AccountRootPrincipal()],
            actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
            conditions: { Bool: { 'elasticfilesystem:AccessedViaMountTarget': 'true' } },
          }),
        ],
      }),
    });
    fileSystem.connections.allowDefaultPortFrom(this.nodeSecurityGroup, 'NFS from factum nodes');
    const accessPoint = fileSystem.addAccessPoint('CacheAccessPoint', {
      path: efsCachePath,
      createAcl: { ownerUid: String(nodeUserId), ownerGid: String(nodeUserId), permissions: '750' },
      posixUser: { uid: String(nodeUserId), gid: String(nodeUserId) },
    });
    return [fileSystem, accessPoint];
  }

  private createAlarmTopic(config: SystemConfig): sns.Topic {
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `factum ${config.system} alarms`,
      masterKey: this.key,
      enforceSSL: true,
    });
    if (config.alarmEmail !== null) topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    return topic;
  }

  /**
   * What a client (a Lambda function, a developer's role) needs to connect: list, read and open
   * access keys (constructs/client-access-policy.ts). Network access is the client security group.
   * ClientPolicy fetches the read-write and read-only keys of every database; AdminPolicy the
   * admin keys (create and delete databases). For one database or one permission, see
   * ClientAccessPolicy.fromSystemExports and docs/deploy.md.
   */
  private createClientPolicies(config: SystemConfig): [iam.ManagedPolicy, iam.ManagedPolicy] {
    const policy = (id: string, grants: AccessGrant[], description: string): iam.ManagedPolicy => {
      const props = { system: config.system, bucketArn: this.bucket.bucketArn, keyArn: this.key.keyArn, grants };
      const managed = new iam.ManagedPolicy(this, id, { description, statements: accessKeyStatements(this.region, props) });
      acknowledgeAccessKeyWildcards(managed, props);
      return managed;
    };
    return [
      policy('ClientPolicy', [{ permission: 'read-write' }, { permission: 'read-only' }], `factum ${config.system}: lets a client fetch the read-write and read-only access keys of every database`),
      policy('AdminPolicy', [{ permission: 'admin' }], `factum ${config.system}: lets a client fetch the admin access keys (create and delete databases)`),
    ];
  }

  private exportContract(config: SystemConfig): void {
    const system = config.system;
    const put = (key: Parameters<typeof exportValue>[2], value: string, description: string): void =>
      exportValue(this, system, key, value, description);
    put('VpcId', this.vpc.vpcId, 'VPC of the system');
    put('VpcCidr', this.vpc.vpcCidrBlock, 'address range of the VPC');
    this.vpc.availabilityZones.forEach((zone, index) => put(`AvailabilityZone${index}`, zone, `availability zone ${index}`));
    this.vpc.isolatedSubnets.forEach((subnet, index) => put(`PrivateSubnet${index}`, subnet.subnetId, `private subnet ${index}: nodes and Lambda functions`));
    this.vpc.publicSubnets.forEach((subnet, index) => put(`PublicSubnet${index}`, subnet.subnetId, `public subnet ${index}: the bastion`));
    this.vpc.isolatedSubnets.forEach((subnet, index) => put(`PrivateRouteTable${index}`, subnet.routeTable.routeTableId, `route table of private subnet ${index}`));
    this.vpc.publicSubnets.forEach((subnet, index) => put(`PublicRouteTable${index}`, subnet.routeTable.routeTableId, `route table of public subnet ${index}`));
    put('TableName', this.table.tableName, 'DynamoDB table: log, roots, catalog, leases');
    put('TableArn', this.table.tableArn, 'ARN of the table');
    put('BucketName', this.bucket.bucketName, 'S3 bucket: segments, ion revisions, access keys');
    put('BucketArn', this.bucket.bucketArn, 'ARN of the bucket');
    put('AccessLogsBucketName', this.accessLogsBucket.bucketName, 'S3 bucket of access logs and flow logs');
    put('KeyArn', this.key.keyArn, 'KMS key of the system');
    put('LogGroupName', this.logGroup.logGroupName, 'CloudWatch log group of the nodes');
    put('LogGroupArn', this.logGroup.logGroupArn, 'ARN of the log group');
    put('FileSystemId', this.fileSystem.fileSystemId, 'EFS file system: the shared segment cache');
    put('FileSystemArn', this.fileSystem.fileSystemArn, 'ARN of the file system');
    put('AccessPointId', this.accessPoint.accessPointId, 'EFS access point of the segment cache');
    put('AccessPointArn', this.accessPoint.accessPointArn, 'ARN of the access point');
    put('NodeSecurityGroupId', this.nodeSecurityGroup.securityGroupId, 'security group of every node');
    put('ClientSecurityGroupId', this.clientSecurityGroup.securityGroupId, 'security group for clients: attach it to Lambda functions');
    put('HostedZoneId', this.hostedZone.hostedZoneId, `private hosted zone ${zoneName(system)}`);
    put('AlarmTopicArn', this.alarmTopic.topicArn, 'SNS topic the alarms notify');
    put('ClientPolicyArn', this.clientPolicy.managedPolicyArn, 'managed policy to attach to client roles: every database\'s read-write and read-only keys');
    put('AdminPolicyArn', this.adminPolicy.managedPolicyArn, 'managed policy to attach to administrators\' roles: the admin keys');
  }
}
