//! The compute stack of a system's primary group, in one of two topologies:
//!
//!   solo        one t3.small-class node in an Auto Scaling group of one; its endpoint name is a
//!               Route53 record that follows the node (SoloEndpoint), no load balancer
//!   production  two or more i3.large-class nodes across zones behind an internal load balancer
//!               with health checks; the endpoint name is an alias of the load balancer
//!
//! Both have the bastion, the system dashboard and alarms. Deleting this stack leaves the
//! storage stack (and so every database) untouched.

import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { SystemConfig } from './config.ts';
import { Bastion } from './constructs/bastion.ts';
import { IonLambdas } from './constructs/ion-lambdas.ts';
import { InternalLoadBalancer } from './constructs/internal-load-balancer.ts';
import { NodeGroup } from './constructs/node-group.ts';
import { SoloEndpoint } from './constructs/solo-endpoint.ts';
import { SystemDashboard } from './constructs/system-dashboard.ts';
import { endpointName, nodePort } from './system-exports.ts';
import { SystemImports } from './system-imports.ts';
import type { IonLambdasConfig } from './ion-lambdas-config.ts';

export interface ComputeStackProps extends StackProps {
  readonly config: SystemConfig;
  /** Lambda ions run by the primary group. @default - none */
  readonly ionLambdas?: IonLambdasConfig;
}

export const primaryGroupName = 'primary';

export class ComputeStack extends Stack {
  readonly imports: SystemImports;
  readonly primary: NodeGroup;
  readonly bastion: Bastion;
  readonly endpointName: string;

  constructor(scope: Construct, id: string, props: ComputeStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.imports = new SystemImports(this, 'Storage', config);
    const solo = config.topology === 'solo';
    this.primary = new NodeGroup(this, 'Primary', {
      imports: this.imports,
      region: config.region,
      role: 'primary',
      groupName: primaryGroupName,
      instanceType: config.instanceType,
      minNodes: config.nodeCount,
      // One spare slot lets a rolling upgrade start a new node before stopping an old one.
      maxNodes: solo ? 1 : config.nodeCount + 1,
      loadBalanced: !solo,
    });
    this.endpointName = endpointName(config.system, primaryGroupName);
    if (solo) {
      this.primary.allowFrom(this.imports.clientSecurityGroup, 'from clients of the system');
      new SoloEndpoint(this, 'SoloEndpoint', { imports: this.imports, nodes: this.primary, recordName: this.endpointName });
    } else {
      const loadBalancer = new InternalLoadBalancer(this, 'LoadBalancer', { imports: this.imports, nodes: this.primary, groupName: primaryGroupName });
      loadBalancer.addHealthAlarm(this.imports, primaryGroupName);
    }
    this.bastion = new Bastion(this, 'Bastion', { imports: this.imports, sshCidr: config.bastionCidr });
    new SystemDashboard(this, 'Observability', { imports: this.imports, primary: this.primary, primaryNodes: config.nodeCount });
    if (props.ionLambdas !== undefined) {
      const { appName, lambdas, access } = props.ionLambdas;
      new IonLambdas(this, 'IonLambdas', { imports: this.imports, groupName: primaryGroupName, appName, lambdas, access });
    }
    this.addOutputs(config);
  }

  private addOutputs(config: SystemConfig): void {
    const output = (id: string, value: string, description: string): CfnOutput => new CfnOutput(this, id, { value, description });
    output('EndpointUrl', `http://${this.endpointName}:${nodePort}`, 'endpoint of the primary group, inside the VPC');
    output('SystemName', config.system, 'system name');
    output('Topology', config.topology, 'topology');
    output('Region', config.region, 'region');
    output('TableName', this.imports.tableName, 'DynamoDB table');
    output('BucketName', this.imports.bucketName, 'S3 bucket');
    output('KeyArn', this.imports.keyArn, 'KMS key');
    output('ClientSecurityGroupId', this.imports.clientSecurityGroup.securityGroupId, 'security group for Lambda functions and other clients');
    output('ClientPolicyArn', this.imports.clientPolicyArn, 'managed policy a client role attaches to fetch the keys of every database');
    output('AdminPolicyArn', this.imports.adminPolicyArn, 'managed policy an administrator role attaches to fetch the admin keys');
    output('PrivateSubnetIds', this.imports.vpc.isolatedSubnets.map((subnet) => subnet.subnetId).join(','), 'subnets for Lambda functions');
    output('BastionGroupName', this.bastion.autoScalingGroupName, 'Auto Scaling group of the bastion (find its instance id here)');
    output('LogGroupName', this.imports.logGroupName, 'log group of the nodes');
  }
}
