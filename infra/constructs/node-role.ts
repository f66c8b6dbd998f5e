//! The IAM role of a compute group's nodes, least privilege: this system's table, the bucket's
//! prefixes, its key, its log group, its EFS access point, and the one node bundle object.
//! A query group reads only (but for its own ion status and deployment records); the primary group (transactor, indexer) also writes, and creates
//! access keys under `access/` (the first admin key at first start, a database's read-write and
//! read-only keys when the database is created, deleted with it), sealed with the key under their
//! encryption context. Every node lists and opens access keys: it checks the signature of every request.

import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import { bucketPrefixes, exportName } from '../system-exports.ts';
import type { SystemImports } from '../system-imports.ts';

export type NodeRole = 'primary' | 'query-group';

export interface NodeRoleProps {
  readonly imports: SystemImports;
  readonly role: NodeRole;
  readonly groupName: string;
  readonly bundleBucketName: string;
  readonly bundleObjectKey: string;
}

const tableActions: Readonly<Record<NodeRole, string[]>> = {
  primary: [
    'dynamodb:GetItem',
    'dynamodb:BatchGetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:DescribeTable',
  ],
  'query-group': ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:DescribeTable'],
};

export class NodeIamRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: NodeRoleProps) {
    super(scope, id);
    const { imports } = props;
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `factum ${imports.system} ${props.groupName} nodes`,
    });
    const statements = [
      new iam.PolicyStatement({ sid: 'Table', actions: tableActions[props.role], resources: [imports.tableArn] }),
      ...ionStatusStatements(imports.tableArn, props.role, props.groupName, Stack.of(this).region, imports.keyArn),
      ...bucketStatements(imports.bucketArn, props.role),
      ...keyStatements(imports.keyArn, props.role, imports.system, Stack.of(this).region),
      new iam.PolicyStatement({
        sid: 'Logs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [imports.logGroupArn],
      }),
      new iam.PolicyStatement({
        sid: 'SegmentCache',
        actions: ['elasticfilesystem:ClientMount', 'elasticfilesystem:ClientWrite'],
        resources: [imports.fileSystemArn],
        conditions: { StringEquals: { 'elasticfilesystem:AccessPointArn': imports.accessPointArn } },
      }),
      new iam.PolicyStatement({
        sid: 'NodeBundle',
        actions: ['s3:GetObject'],
        resources: [`arn:${Stack.of(this).partition}:s3:::${props.bundleBucketName}/${props.bundleObjectKey}`],
      }),
    ];
    const policy = new iam.Policy(this, 'Policy', { statements, roles: [this.role] });
    this.acknowledgeWildcards(policy, imports);
  }

  /** cdk-nag names an imported value by its export name inside a finding id. */
  private acknowledgeWildcards(policy: iam.Policy, imports: SystemImports): void {
    const bucket = exportName(imports.system, 'BucketArn');
    for (const prefix of Object.values(bucketPrefixes)) {
      acknowledge(
        policy,
        `AwsSolutions-IAM5[Resource::${bucket}/${prefix}*]`,
        `Objects under ${prefix} have content-derived or per-database names unknown at deploy time; the grant is limited to that prefix of this system's bucket.`,
      );
    }
  }
}

/**
 * A query group reads only, but for two records: its own group's ion status and deployment
 * (nodes/ions/deployer.ts), where each node says which revision it runs and the last one to move
 * marks the deployment deployed (or rolls it back). The table's key encrypts what it writes there.
 */
function ionStatusStatements(tableArn: string, role: NodeRole, groupName: string, region: string, keyArn: string): iam.PolicyStatement[] {
  if (role === 'primary') return [];
  return [
    new iam.PolicyStatement({
      sid: 'IonStatusRecord',
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
      resources: [tableArn],
      conditions: { 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [`record:ions/status/${groupName}`, `record:ions/deployment/${groupName}`] } },
    }),
    new iam.PolicyStatement({
      sid: 'IonStatusKey',
      actions: ['kms:GenerateDataKey', 'kms:Encrypt'],
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
    }),
  ];
}

function bucketStatements(bucketArn: string, role: NodeRole): iam.PolicyStatement[] {
  const objects = (prefix: string): string => `${bucketArn}/${prefix}*`;
  const writer = role === 'primary';
  return [
    new iam.PolicyStatement({
      sid: 'Segments',
      actions: writer ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'],
      resources: [objects(bucketPrefixes.segments)],
    }),
    new iam.PolicyStatement({
      sid: 'LogSpill',
      actions: writer ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'],
      resources: [objects(bucketPrefixes.logSpill)],
    }),
    new iam.PolicyStatement({ sid: 'Revisions', actions: ['s3:GetObject'], resources: [objects(bucketPrefixes.revisions)] }),
    new iam.PolicyStatement({
      sid: 'AccessKeys',
      // The primary group also deletes a database's keys with the database (nodes/server/access-keys).
      actions: writer ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'],
      resources: [objects(bucketPrefixes.access)],
    }),
    new iam.PolicyStatement({
      sid: 'ListPrefixes',
      actions: ['s3:ListBucket'],
      resources: [bucketArn],
      conditions: { StringLike: { 's3:prefix': Object.values(bucketPrefixes).map((prefix) => `${prefix}*`) } },
    }),
  ];
}

/**
 * The system key serves two purposes here. S3 (SSE-KMS objects) and DynamoDB (the table's key) use
 * it on the node's behalf; and the node opens access keys' envelopes itself — the primary group
 * also seals new ones (the first admin key at first start, a database's keys when it is created) —
 * with the context client/remote/access-key.ts binds: `{ system, purpose: 'access-key', … }`.
 */
function keyStatements(keyArn: string, role: NodeRole, system: string, region: string): iam.PolicyStatement[] {
  const writer = role === 'primary';
  return [
    new iam.PolicyStatement({
      sid: 'KeyThroughStorage',
      actions: writer ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:ViaService': [`s3.${region}.amazonaws.com`, `dynamodb.${region}.amazonaws.com`] } },
    }),
    new iam.PolicyStatement({
      sid: 'AccessKeyEnvelopes',
      actions: writer ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'],
      resources: [keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:system': system, 'kms:EncryptionContext:purpose': 'access-key' } },
    }),
  ];
}
