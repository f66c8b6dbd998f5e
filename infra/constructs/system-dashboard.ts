//! The system's CloudWatch dashboard and its system-wide alarms. Widgets use SEARCH expressions
//! over the system's name, so a query group added later appears without changing this stack.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Construct } from 'constructs';
import { cacheLevels, indexingLagAlarmBytes, indexingLagAlarmMinutes, metricNames, metricsNamespace } from '../metrics.ts';
import type { SystemImports } from '../system-imports.ts';
import type { NodeGroup } from './node-group.ts';

export interface SystemDashboardProps {
  readonly imports: SystemImports;
  readonly primary: NodeGroup;
  readonly primaryNodes: number;
}

const period = Duration.minutes(1);

export class SystemDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[];
  private readonly system: string;

  constructor(scope: Construct, id: string, props: SystemDashboardProps) {
    super(scope, id);
    const system = props.imports.system;
    this.system = system;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `factum-${system}` });
    this.dashboard.addWidgets(
      graph('Node CPU (%)', search(`{AWS/EC2,AutoScalingGroupName} MetricName="CPUUtilization" factum-${system}-`, 'Average')),
      graph('Node memory RSS (bytes)', search(factumSearch(system, 'System,Group', metricNames.memoryRssBytes), 'Maximum')),
      graph('Requests', search(factumSearch(system, 'System,Group', metricNames.requests), 'Sum')),
    );
    this.dashboard.addWidgets(
      graph('Request latency p99 (ms)', search(factumSearch(system, 'System,Group', metricNames.requestLatency), 'p99')),
      graph('Transactions', [this.metric(metricNames.transactions, 'Sum'), this.metric(metricNames.transactionLatency, 'p99').with({ label: 'latency p99 (ms)' })]),
      graph('Indexing lag (bytes of novelty)', [this.metric(metricNames.indexingLagBytes, 'Maximum')]),
    );
    this.dashboard.addWidgets(
      graph('Cache hit rate (%)', cacheLevels.map((level) => this.hitRate(level))),
      graph('Errors by category', search(factumSearch(system, 'System,Category', metricNames.errors), 'Sum')),
      graph('Busy refusals', search(factumSearch(system, 'System,Group', metricNames.busyRefusals), 'Sum')),
    );
    this.dashboard.addWidgets(graph('Novelty lag behind the transactor p99 (ms)', search(factumSearch(system, 'System,Group', metricNames.noveltyLag), 'p99')));
    this.alarms = [this.nodeHealthAlarm(props), this.indexingLagAlarm()];
    for (const alarm of this.alarms) {
      alarm.addAlarmAction(new actions.SnsAction(props.imports.alarmTopic));
      alarm.addOkAction(new actions.SnsAction(props.imports.alarmTopic));
    }
  }

  private metric(name: string, statistic: string, extra: Record<string, string> = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: metricsNamespace, metricName: name, statistic, period, dimensionsMap: { System: this.system, ...extra } });
  }

  private hitRate(level: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      label: level,
      expression: `100 * hits_${level} / (hits_${level} + misses_${level})`,
      usingMetrics: {
        [`hits_${level}`]: this.metric(metricNames.cacheHits, 'Sum', { Level: level }),
        [`misses_${level}`]: this.metric(metricNames.cacheMisses, 'Sum', { Level: level }),
      },
      period,
    });
  }

  /** The primary group has fewer nodes in service than it should. */
  private nodeHealthAlarm(props: SystemDashboardProps): cloudwatch.Alarm {
    const inService = new cloudwatch.Metric({
      namespace: 'AWS/AutoScaling',
      metricName: 'GroupInServiceInstances',
      dimensionsMap: { AutoScalingGroupName: props.primary.autoScalingGroupName },
      statistic: 'Minimum',
      period,
    });
    return new cloudwatch.Alarm(this, 'PrimaryNodesInService', {
      alarmDescription: `factum ${this.system}: fewer than ${props.primaryNodes} primary nodes in service`,
      metric: inService,
      threshold: props.primaryNodes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 5,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }

  private indexingLagAlarm(): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, 'IndexingLag', {
      alarmDescription: `factum ${this.system}: more than ${indexingLagAlarmBytes / 1024 / 1024} MiB of novelty not indexed for ${indexingLagAlarmMinutes} minutes`,
      metric: this.metric(metricNames.indexingLagBytes, 'Maximum').with({ period: Duration.minutes(5) }),
      threshold: indexingLagAlarmBytes,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: indexingLagAlarmMinutes / 5,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

function factumSearch(system: string, dimensions: string, metricName: string): string {
  return `{${metricsNamespace},${dimensions}} MetricName="${metricName}" System="${system}"`;
}

function search(query: string, statistic: string): cloudwatch.MathExpression[] {
  return [new cloudwatch.MathExpression({ expression: `SEARCH('${query}', '${statistic}', ${period.toSeconds()})`, usingMetrics: {}, period })];
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: 8, height: 6 });
}
