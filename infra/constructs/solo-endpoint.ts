//! The solo topology's endpoint name without a load balancer: when the Auto Scaling group of one
//! launches a node (first deploy, replacement, upgrade), EventBridge invokes a small function that
//! points `primary.<system>.factum.internal` at the new node's private address (TTL 30 s).
//!
//!   ASG "EC2 Instance Launch Successful" ──▶ EventBridge rule ──▶ Lambda ──▶ Route53 UPSERT A
//!
//! The function runs outside the VPC (the VPC has no route to the EC2 and Route53 APIs) and may
//! change only that one record name.

import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import type { SystemImports } from '../system-imports.ts';
import type { NodeGroup } from './node-group.ts';

export interface SoloEndpointProps {
  readonly imports: SystemImports;
  readonly nodes: NodeGroup;
  /** The full record name, e.g. `primary.demo.factum.internal`. */
  readonly recordName: string;
}

/** The function's source: plain JavaScript on the Lambda Node.js runtime, AWS SDK v3 built in. */
export const updateRecordSource = `
const { EC2Client, DescribeInstancesCommand } = require('@aws-sdk/client-ec2');
const { Route53Client, ChangeResourceRecordSetsCommand } = require('@aws-sdk/client-route-53');
exports.handler = async (event) => {
  const instanceId = event.detail.EC2InstanceId;
  const described = await new EC2Client({}).send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const address = described.Reservations[0].Instances[0].PrivateIpAddress;
  await new Route53Client({}).send(new ChangeResourceRecordSetsCommand({
    HostedZoneId: process.env.HOSTED_ZONE_ID,
    ChangeBatch: { Comment: 'factum solo node ' + instanceId, Changes: [{ Action: 'UPSERT',
      ResourceRecordSet: { Name: process.env.RECORD_NAME, Type: 'A', TTL: 30, ResourceRecords: [{ Value: address }] } }] },
  }));
  console.log(JSON.stringify({ event: 'endpoint/updated', instanceId, address, name: process.env.RECORD_NAME }));
  return { instanceId, address };
};
`;

export class SoloEndpoint extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: SoloEndpointProps) {
    super(scope, id);
    const { imports } = props;
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `factum ${imports.system}: points ${props.recordName} at the solo node`,
    });
    this.function = new lambda.Function(this, 'UpdateRecord', {
      runtime: lambda.Runtime.NODEJS_LATEST,
      handler: 'index.handler',
      code: lambda.Code.fromInline(updateRecordSource),
      role,
      logGroup,
      timeout: Duration.seconds(30),
      environment: { HOSTED_ZONE_ID: imports.hostedZone.hostedZoneId, RECORD_NAME: props.recordName },
      description: `factum ${imports.system}: solo endpoint record`,
    });
    this.grant(role, logGroup, imports, props.recordName);
    const rule = new events.Rule(this, 'NodeLaunched', {
      description: `factum ${imports.system}: a solo node launched`,
      eventPattern: {
        source: ['aws.autoscaling'],
        detailType: ['EC2 Instance Launch Successful'],
        detail: { AutoScalingGroupName: [props.nodes.autoScalingGroupName] },
      },
      targets: [new eventTargets.LambdaFunction(this.function, { retryAttempts: 8 })],
    });
    // The rule must exist before the first node launches, or its launch event is lost.
    props.nodes.autoScalingGroup.node.addDependency(rule);
  }

  private grant(role: iam.Role, logGroup: logs.LogGroup, imports: SystemImports, recordName: string): void {
    const partition = Stack.of(this).partition;
    const policy = new iam.Policy(this, 'Policy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
        new iam.PolicyStatement({ actions: ['ec2:DescribeInstances'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['route53:ChangeResourceRecordSets'],
          resources: [`arn:${partition}:route53:::hostedzone/${imports.hostedZone.hostedZoneId}`],
          conditions: {
            'ForAllValues:StringEquals': {
              'route53:ChangeResourceRecordSetsNormalizedRecordNames': [recordName],
              'route53:ChangeResourceRecordSetsRecordTypes': ['A'],
            },
          },
        }),
      ],
    });
    acknowledge(policy, 'AwsSolutions-IAM5[Resource::*]', 'ec2:DescribeInstances supports no resource-level restriction; the function reads only the address of the instance named in the launch event.');
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(logGroup.node.defaultChild as logs.CfnLogGroup)}.Arn>]`,
      "The log group ARN attribute ends in :* to cover the function's log streams; it names only this function's log group.",
    );
  }
}
