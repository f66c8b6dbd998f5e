//! The nodes of one compute group: IAM role, launch template (Amazon Linux 2023, IMDSv2 only,
//! encrypted gp3 root volume, detailed monitoring, the node user data) and an Auto Scaling group
//! in the private subnets, named `factum-<system>-<group>` so dashboards can find it by name.

import { Duration } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import { bucketPrefixes, nodePort, nodeUserId } from '../system-exports.ts';
import type { SystemImports } from '../system-imports.ts';
import { nodeBundleAsset } from './node-bundle.ts';
import { NodeIamRole, type NodeRole } from './node-role.ts';
import { renderNodeUserData } from './node-user-data.ts';

export interface NodeGroupProps {
  readonly imports: SystemImports;
  readonly region: string;
  readonly role: NodeRole;
  /** `primary` or the query group's name. */
  readonly groupName: string;
  /** e.g. `t3.small`, `i3.large` */
  readonly instanceType: string;
  readonly minNodes: number;
  readonly maxNodes: number;
  /** Whether a load balancer health check decides node health (else EC2 status checks). */
  readonly loadBalanced: boolean;
  /** Size of the encrypted root volume. @default 30 */
  readonly rootVolumeGiB?: number;
}

/** Time a new node gets to boot (packages, bundle, mounts) before health checks count. */
export const nodeBootGraceTime = Duration.minutes(10);

export class NodeGroup extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly autoScalingGroupName: string;
  readonly role: NodeIamRole;
  private readonly nodeSecurityGroup: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string, props: NodeGroupProps) {
    super(scope, id);
    const { imports } = props;
    this.nodeSecurityGroup = imports.nodeSecurityGroup;
    const bundle = nodeBundleAsset(this, 'Bundle');
    this.role = new NodeIamRole(this, 'Iam', {
      imports,
      role: props.role,
      groupName: props.groupName,
      bundleBucketName: bundle.s3BucketName,
      bundleObjectKey: bundle.s3ObjectKey,
    });
    const userData = ec2.UserData.custom(
      renderNodeUserData({
        region: props.region,
        bundleBucketName: bundle.s3BucketName,
        bundleObjectKey: bundle.s3ObjectKey,
        environment: nodeEnvironment(props),
        fileSystemId: imports.fileSystemId,
        accessPointId: imports.accessPointId,
        logGroupName: imports.logGroupName,
        nodeUserId,
      }),
    );
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType(props.instanceType),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      role: this.role.role,
      userData,
      securityGroup: imports.nodeSecurityGroup,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      blockDevices: [
        { deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? 30, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) },
      ],
    });
    this.autoScalingGroupName = `factum-${imports.system}-${props.groupName}`;
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Nodes', {
      autoScalingGroupName: this.autoScalingGroupName,
      vpc: imports.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      launchTemplate,
      minCapacity: props.minNodes,
      maxCapacity: props.maxNodes,
      cooldown: Duration.minutes(5),
      healthChecks: props.loadBalanced
        ? autoscaling.HealthChecks.withAdditionalChecks({ additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB], gracePeriod: nodeBootGraceTime })
        : autoscaling.HealthChecks.ec2({ gracePeriod: nodeBootGraceTime }),
      groupMetrics: [new autoscaling.GroupMetrics(autoscaling.GroupMetric.IN_SERVICE_INSTANCES, autoscaling.GroupMetric.DESIRED_CAPACITY)],
      // A deploy that changes the launch template replaces nodes one at a time.
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({
        maxBatchSize: 1,
        minInstancesInService: Math.max(0, props.minNodes - (props.maxNodes > props.minNodes ? 0 : 1)),
        pauseTime: nodeBootGraceTime,
      }),
    });
    acknowledge(
      this.autoScalingGroup,
      'AwsSolutions-AS3',
      "Scaling events are in the group's activity history and node loss raises the node-health alarm on the system's alarm topic; ASG notifications to that KMS-encrypted topic would need a key grant to the account's Auto Scaling service-linked role, which may not exist before the first deploy.",
    );
  }

  /** Admits `source` to the nodes' port (a rule in this stack on the shared node security group). */
  allowFrom(source: ec2.ISecurityGroup, description: string): void {
    this.nodeSecurityGroup.addIngressRule(source, ec2.Port.tcp(nodePort), description);
  }
}

function nodeEnvironment(props: NodeGroupProps): Record<string, string> {
  const { imports } = props;
  return {
    FACTUM_SYSTEM: imports.system,
    FACTUM_ROLE: props.role,
    FACTUM_GROUP: props.groupName,
    FACTUM_PORT: String(nodePort),
    FACTUM_STORAGE: 'aws',
    AWS_REGION: props.region,
    FACTUM_TABLE: imports.tableName,
    FACTUM_BUCKET: imports.bucketName,
    FACTUM_SEGMENTS_PREFIX: bucketPrefixes.segments,
    FACTUM_REVISIONS_PREFIX: bucketPrefixes.revisions,
    FACTUM_ACCESS_PREFIX: bucketPrefixes.access,
    FACTUM_KMS_KEY: imports.keyArn,
    FACTUM_LOG_GROUP: imports.logGroupName,
  };
}
