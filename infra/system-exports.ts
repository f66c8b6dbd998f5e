//! The contract between a system's stacks: the storage stack exports every value the compute and
//! query-group stacks need under a fixed name (`factum-<system>-<Key>`), and they import by that
//! name. No stack refers to another's constructs directly, so the storage template never changes
//! when compute or a query group is added, replaced or deleted, and each can be deleted alone.
//!
//!   storage stack ──exports──▶ compute stack (solo | production)
//!                 └─exports──▶ query-group stack × N    (never refer to each other)

import { CfnOutput, Fn } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/** Every value the storage stack exports, by key. */
export type ExportKey =
  | 'VpcId'
  | 'VpcCidr'
  | `AvailabilityZone${number}`
  | `PrivateSubnet${number}`
  | `PublicSubnet${number}`
  | `PrivateRouteTable${number}`
  | `PublicRouteTable${number}`
  | 'TableName'
  | 'TableArn'
  | 'BucketName'
  | 'BucketArn'
  | 'AccessLogsBucketName'
  | 'KeyArn'
  | 'LogGroupName'
  | 'LogGroupArn'
  | 'FileSystemId'
  | 'FileSystemArn'
  | 'AccessPointId'
  | 'AccessPointArn'
  | 'NodeSecurityGroupId'
  | 'ClientSecurityGroupId'
  | 'HostedZoneId'
  | 'AlarmTopicArn'
  | 'ClientPolicyArn'
  | 'AdminPolicyArn';

/** Where each kind of object lives in the system's bucket; IAM statements are scoped to these. */
export const bucketPrefixes = {
  /** index segments, content-addressed and immutable */
  segments: 'segments/',
  /** ion revisions pushed by the ion tooling */
  revisions: 'revisions/',
  /** access keys, wrapped with the system's KMS key */
  access: 'access/',
  /** log entries too large for a DynamoDB item (nodes/storage/aws/table-layout.ts) */
  logSpill: 'log-spill/',
} as const;

/** The port every node and load balancer listens on (Datomic Cloud's client port). */
export const nodePort = 8182;

/** POSIX owner of the segment cache on EFS; the node's `factum` user has this uid and gid. */
export const nodeUserId = 1990;

/** Where the EFS access point roots every node's view of the file system. */
export const efsCachePath = '/factum-cache';

/** Prefix of load balancer access logs in the access-log bucket (its policy admits it). */
export const loadBalancerLogPrefix = 'load-balancers';

export function exportName(system: string, key: ExportKey): string {
  return `factum-${system}-${key}`;
}

/** The private hosted zone of a system; endpoint names live under it. */
export function zoneName(system: string): string {
  return `${system}.factum.internal`;
}

/** The DNS name clients use for a compute group: `primary.demo.factum.internal`. */
export function endpointName(system: string, group: string): string {
  return `${group}.${zoneName(system)}`;
}

/** Exports a value under the system's contract (in the storage stack). */
export function exportValue(scope: Construct, system: string, key: ExportKey, value: string, description: string): void {
  new CfnOutput(scope, key, { value, description, exportName: exportName(system, key) });
}

/** Imports a value the storage stack exported (in compute and query-group stacks). */
export function importValue(system: string, key: ExportKey): string {
  return Fn.importValue(exportName(system, key));
}
