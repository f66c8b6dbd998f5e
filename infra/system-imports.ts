//! The storage stack's exports, imported by name into a compute or query-group stack and wrapped
//! as the CDK interfaces constructs expect (IVpc, ISecurityGroup, IHostedZone, ITopic).

import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { SystemConfig } from './config.ts';
import { importValue, zoneName, type ExportKey } from './system-exports.ts';

export class SystemImports extends Construct {
  readonly system: string;
  readonly vpc: ec2.IVpc;
  readonly tableName: string;
  readonly tableArn: string;
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly accessLogsBucket: s3.IBucket;
  readonly keyArn: string;
  readonly logGroupName: string;
  readonly logGroupArn: string;
  readonly fileSystemId: string;
  readonly fileSystemArn: string;
  readonly accessPointId: string;
  readonly accessPointArn: string;
  readonly nodeSecurityGroup: ec2.ISecurityGroup;
  readonly clientSecurityGroup: ec2.ISecurityGroup;
  readonly hostedZone: route53.IHostedZone;
  readonly alarmTopic: sns.ITopic;
  readonly clientPolicyArn: string;
  readonly adminPolicyArn: string;

  constructor(scope: Construct, id: string, config: SystemConfig) {
    super(scope, id);
    const system = config.system;
    this.system = system;
    const value = (key: ExportKey): string => importValue(system, key);
    const zoneCount = config.availabilityZones?.length ?? 2;
    const indexes = Array.from({ length: zoneCount }, (_, index) => index);
    this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: value('VpcId'),
      vpcCidrBlock: value('VpcCidr'),
      availabilityZones: indexes.map((index) => value(`AvailabilityZone${index}`)),
      isolatedSubnetIds: indexes.map((index) => value(`PrivateSubnet${index}`)),
      publicSubnetIds: indexes.map((index) => value(`PublicSubnet${index}`)),
      isolatedSubnetRouteTableIds: indexes.map((index) => value(`PrivateRouteTable${index}`)),
      publicSubnetRouteTableIds: indexes.map((index) => value(`PublicRouteTable${index}`)),
    });
    this.tableName = value('TableName');
    this.tableArn = value('TableArn');
    this.bucketName = value('BucketName');
    this.bucketArn = value('BucketArn');
    this.accessLogsBucket = s3.Bucket.fromBucketName(this, 'AccessLogsBucket', value('AccessLogsBucketName'));
    this.keyArn = value('KeyArn');
    this.logGroupName = value('LogGroupName');
    this.logGroupArn = value('LogGroupArn');
    this.fileSystemId = value('FileSystemId');
    this.fileSystemArn = value('FileSystemArn');
    this.accessPointId = value('AccessPointId');
    this.accessPointArn = value('AccessPointArn');
    // Rules on these groups are added by the stack that needs them, never to the storage stack.
    this.nodeSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'NodeSecurityGroup', value('NodeSecurityGroupId'), { mutable: true });
    this.clientSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'ClientSecurityGroup', value('ClientSecurityGroupId'), { mutable: true });
    this.hostedZone = route53.PrivateHostedZone.fromHostedZoneAttributes(this, 'HostedZone', {
      hostedZoneId: value('HostedZoneId'),
      zoneName: zoneName(system),
    });
    this.alarmTopic = sns.Topic.fromTopicArn(this, 'AlarmTopic', value('AlarmTopicArn'));
    this.clientPolicyArn = value('ClientPolicyArn');
    this.adminPolicyArn = value('AdminPolicyArn');
  }
}
