//! The bastion: the only host reachable from outside the VPC. A t4g.nano in an Auto Scaling group
//! of one (it replaces itself) in the public subnet. Session Manager is the key-less way in and
//! needs no ingress at all; SSH (EC2 Instance Connect keys) is admitted only from the CIDR the
//! user gave. It is a member of the client security group, so it reaches every load balancer.

import { Duration, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import type { SystemImports } from '../system-imports.ts';

export interface BastionProps {
  readonly imports: SystemImports;
  /** The network admitted over SSH; null admits nobody (Session Manager only). */
  readonly sshCidr: string | null;
}

export class Bastion extends Construct {
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  readonly autoScalingGroupName: string;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: BastionProps) {
    super(scope, id);
    const { imports } = props;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: imports.vpc,
      description: `factum ${imports.system} bastion: SSH from the configured CIDR only`,
    });
    if (props.sshCidr !== null) {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(props.sshCidr), ec2.Port.tcp(22), 'SSH from the network given as bastionCidr');
    }
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `factum ${imports.system} bastion: Session Manager only`,
    });
    this.addSessionManagerPolicy(role);
    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType: new ec2.InstanceType('t4g.nano'),
      machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
      role,
      requireImdsv2: true,
      httpPutResponseHopLimit: 1,
      detailedMonitoring: true,
      associatePublicIpAddress: true,
      securityGroup: this.securityGroup,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(8, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
      userData: ec2.UserData.custom('#!/bin/bash\n# factum bastion: the SSM agent and EC2 Instance Connect ship with Amazon Linux 2023.\ndnf upgrade -y --security\n'),
    });
    launchTemplate.addSecurityGroup(imports.clientSecurityGroup);
    this.autoScalingGroupName = `factum-${imports.system}-bastion`;
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Host', {
      autoScalingGroupName: this.autoScalingGroupName,
      vpc: imports.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: 1,
      maxCapacity: 1,
      cooldown: Duration.minutes(5),
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
      updatePolicy: autoscaling.UpdatePolicy.rollingUpdate({ maxBatchSize: 1, minInstancesInService: 0 }),
    });
    acknowledge(
      this.autoScalingGroup,
      'AwsSolutions-AS3',
      'The bastion holds no state and is replaced by its group of one; scaling notifications would only repeat its activity history.',
    );
  }

  /** What the SSM agent needs to register and carry sessions (the managed policy's essentials). */
  private addSessionManagerPolicy(role: iam.Role): void {
    const policy = new iam.Policy(this, 'SessionManager', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({
          actions: [
            'ssm:UpdateInstanceInformation',
            'ssmmessages:CreateControlChannel',
            'ssmmessages:CreateDataChannel',
            'ssmmessages:OpenControlChannel',
            'ssmmessages:OpenDataChannel',
            'ec2messages:AcknowledgeMessage',
            'ec2messages:DeleteMessage',
            'ec2messages:FailMessage',
            'ec2messages:GetEndpoint',
            'ec2messages:GetMessages',
            'ec2messages:SendReply',
          ],
          resources: ['*'],
        }),
      ],
    });
    acknowledge(
      policy,
      'AwsSolutions-IAM5[Resource::*]',
      `The SSM agent's registration and message-channel actions (ssm:UpdateInstanceInformation, ssmmessages:*, ec2messages:*) support no resource-level restriction; the role belongs to the bastion of ${Stack.of(this).stackName} only.`,
    );
  }
}
