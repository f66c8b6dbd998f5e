//! The internal Application Load Balancer in front of a compute group: a listener on the node
//! port, health checks on `GET /health`, access logs to the system's log bucket, the group's
//! name in the private hosted zone, and an alarm when a node is unhealthy.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import { endpointName, loadBalancerLogPrefix, nodePort } from '../system-exports.ts';
import type { SystemImports } from '../system-imports.ts';
import type { NodeGroup } from './node-group.ts';

export interface InternalLoadBalancerProps {
  readonly imports: SystemImports;
  readonly nodes: NodeGroup;
  readonly groupName: string;
}

export class InternalLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly endpointName: string;

  constructor(scope: Construct, id: string, props: InternalLoadBalancerProps) {
    super(scope, id);
    const { imports, groupName } = props;
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: imports.vpc,
      description: `factum ${imports.system} ${groupName} load balancer: admits clients on the node port`,
      allowAllOutbound: false,
    });
    securityGroup.addIngressRule(imports.clientSecurityGroup, ec2.Port.tcp(nodePort), 'from clients of the system');
    securityGroup.addIngressRule(imports.nodeSecurityGroup, ec2.Port.tcp(nodePort), 'from nodes (query groups forward transactions)');
    securityGroup.addEgressRule(imports.nodeSecurityGroup, ec2.Port.tcp(nodePort), 'to the nodes');
    props.nodes.allowFrom(securityGroup, `from the ${groupName} load balancer`);
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: imports.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      internetFacing: false,
      securityGroup,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(imports.accessLogsBucket, `${loadBalancerLogPrefix}/${groupName}`);
    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Nodes', {
      vpc: imports.vpc,
      port: nodePort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [props.nodes.autoScalingGroup],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: { path: '/health', interval: Duration.seconds(15), healthyThresholdCount: 2, unhealthyThresholdCount: 3 },
    });
    this.loadBalancer.addListener('Listener', {
      port: nodePort,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultTargetGroups: [this.targetGroup],
    });
    this.endpointName = endpointName(imports.system, groupName);
    new route53.ARecord(this, 'Endpoint', {
      zone: imports.hostedZone,
      recordName: this.endpointName,
      target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(this.loadBalancer)),
    });
  }

  /** Alarms when any target is unhealthy for three minutes. */
  addHealthAlarm(imports: SystemImports, groupName: string): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, 'UnhealthyNodes', {
      alarmDescription: `factum ${imports.system}: a ${groupName} node fails its health check`,
      metric: this.targetGroup.metrics.unhealthyHostCount({ period: Duration.minutes(1), statistic: 'Maximum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(imports.alarmTopic));
    alarm.addOkAction(new actions.SnsAction(imports.alarmTopic));
    return alarm;
  }
}
