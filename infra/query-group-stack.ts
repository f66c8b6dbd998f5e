//! A query group: its own Auto Scaling group (instance type, min/max, target tracking on CPU or
//! on requests per node), its own internal load balancer and name
//! (`<group>.<system>.factum.internal`), attached to an existing production system. It imports
//! only the storage stack's exports, so adding or removing it never changes another stack.

import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { QueryGroupConfig, SystemConfig } from './config.ts';
import { InternalLoadBalancer } from './constructs/internal-load-balancer.ts';
import { IonLambdas } from './constructs/ion-lambdas.ts';
import { NodeGroup } from './constructs/node-group.ts';
import { nodePort } from './system-exports.ts';
import { SystemImports } from './system-imports.ts';
import type { IonLambdasConfig } from './ion-lambdas-config.ts';

export interface QueryGroupStackProps extends StackProps {
  readonly config: SystemConfig;
  readonly group: QueryGroupConfig;
  /** Lambda ions run by this group. @default - none */
  readonly ionLambdas?: IonLambdasConfig;
}

/** Target of CPU tracking (%), and of request tracking (requests per node per minute). */
export const cpuTargetPercent = 60;
export const requestsPerNodePerMinute = 6000;

export class QueryGroupStack extends Stack {
  readonly nodes: NodeGroup;
  readonly loadBalancer: InternalLoadBalancer;

  constructor(scope: Construct, id: string, props: QueryGroupStackProps) {
    super(scope, id, props);
    const { config, group } = props;
    const imports = new SystemImports(this, 'Storage', config);
    this.nodes = new NodeGroup(this, 'Nodes', {
      imports,
      region: config.region,
      role: 'query-group',
      groupName: group.name,
      instanceType: group.instanceType,
      minNodes: group.minNodes,
      maxNodes: group.maxNodes,
      loadBalanced: true,
    });
    this.loadBalancer = new InternalLoadBalancer(this, 'LoadBalancer', { imports, nodes: this.nodes, groupName: group.name });
    this.loadBalancer.addHealthAlarm(imports, group.name);
    if (group.scalingMetric === 'cpu') {
      this.nodes.autoScalingGroup.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: cpuTargetPercent, cooldown: Duration.minutes(5) });
    } else {
      this.nodes.autoScalingGroup.scaleOnRequestCount('Requests', { targetRequestsPerMinute: requestsPerNodePerMinute });
    }
    new CfnOutput(this, 'Endpoint', { value: `http://${this.loadBalancer.endpointName}:${nodePort}`, description: `endpoint of query group ${group.name}` });
    if (props.ionLambdas !== undefined) {
      const { appName, lambdas, access } = props.ionLambdas;
      new IonLambdas(this, 'IonLambdas', { imports, groupName: group.name, appName, lambdas, access });
    }
    new CfnOutput(this, 'GroupName', { value: group.name, description: 'query group name' });
  }
}
