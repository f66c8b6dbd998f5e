//! Who may fetch which access keys: IAM decides (Datomic Cloud's model). Access keys are S3
//! objects under the system's access prefix, each a KMS envelope bound to an encryption context
//! naming its system, permission and database (client/remote/access-key.ts):
//!
//!   access/admin/<keyId>                        context { system, purpose: access-key, keyId, permission: admin }
//!   access/dbs/<database>/read-write/<keyId>    context { …, permission: read-write, database }
//!   access/dbs/<database>/read-only/<keyId>     context { …, permission: read-only, database }
//!
//! A grant of one permission (on one database, or on every database) is three statements: list
//! that folder, read the objects in it (and let S3 decrypt them: the bucket is SSE-KMS), and
//! decrypt envelopes whose context names that system, permission and database. An application
//! given `read-only` of `shop` can fetch no other key, even with a blob copied elsewhere.
//!
//! The storage stack makes two policies with it (ClientPolicy: every database's keys;
//! AdminPolicy: admin keys); `ClientAccessPolicy.fromSystemExports` makes a narrower one in any
//! stack of the same account and region, e.g. for one Lambda function.

import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';
import { bucketPrefixes, importValue } from '../system-exports.ts';

export type AccessPermission = 'admin' | 'read-write' | 'read-only';

export interface AccessGrant {
  readonly permission: AccessPermission;
  /**
   * The database whose keys may be fetched (read-write and read-only only).
   * @default - every database of the system
   */
  readonly database?: string;
}

export interface ClientAccessPolicyProps {
  readonly system: string;
  readonly bucketArn: string;
  readonly keyArn: string;
  readonly grants: readonly AccessGrant[];
  /** @default - `factum <system>: access keys (<grants>)` */
  readonly description?: string;
}

const databasePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The folder of a grant's keys inside the bucket: `access/admin/`, `access/dbs/shop/read-only/`, `access/dbs/*\/read-only/`. */
export function accessFolder(grant: AccessGrant): string {
  if (grant.permission === 'admin') {
    if (grant.database !== undefined) throw new Error(`factum: an admin grant names no database, got ${JSON.stringify(grant.database)}`);
    return `${bucketPrefixes.access}admin/`;
  }
  if (grant.database !== undefined && !databasePattern.test(grant.database)) {
    throw new Error(`factum: database ${JSON.stringify(grant.database)} is not a database name (1 to 64 letters, digits, '.', '_' or '-')`);
  }
  return `${bucketPrefixes.access}dbs/${grant.database ?? '*'}/${grant.permission}/`;
}

/**
 * A managed policy that lets its holder fetch the access keys of `grants`.
 *
 * @example
 * const shopReader = ClientAccessPolicy.fromSystemExports(this, 'ShopReader', { system: 'prod', grants: [{ permission: 'read-only', database: 'shop' }] });
 * myFunction.role!.addManagedPolicy(shopReader.policy);
 */
export class ClientAccessPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  /** Uses the storage stack's exports (`factum-<system>-BucketArn`, `-KeyArn`): for stacks outside the system's app. */
  static fromSystemExports(scope: Construct, id: string, props: Omit<ClientAccessPolicyProps, 'bucketArn' | 'keyArn'>): ClientAccessPolicy {
    return new ClientAccessPolicy(scope, id, { ...props, bucketArn: importValue(props.system, 'BucketArn'), keyArn: importValue(props.system, 'KeyArn') });
  }

  constructor(scope: Construct, id: string, props: ClientAccessPolicyProps) {
    super(scope, id);
    if (props.grants.length === 0) throw new Error('factum: a client access policy needs at least one grant');
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      description: props.description ?? `factum ${props.system}: fetch access keys (${grantSummary(props.grants)})`,
      statements: accessKeyStatements(Stack.of(this).region, props),
    });
    acknowledgeAccessKeyWildcards(this.policy, props);
  }
}

/** `admin, read-only of shop, read-write of every database` */
export function grantSummary(grants: readonly AccessGrant[]): string {
  return grants.map((grant) => (grant.permission === 'admin' ? 'admin' : `${grant.permission} of ${grant.database ?? 'every database'}`)).join(', ');
}

/** cdk-nag's IAM5 findings of accessKeyStatements, acknowledged on `policy` with the reason. */
export function acknowledgeAccessKeyWildcards(policy: iam.ManagedPolicy, props: Pick<ClientAccessPolicyProps, 'bucketArn' | 'grants'>): void {
  const bucket = nagName(Stack.of(policy), props.bucketArn);
  for (const grant of props.grants) {
    acknowledge(
      policy,
      `AwsSolutions-IAM5[Resource::${bucket}/${accessFolder(grant)}*]`,
      `Access keys are named by random key ids unknown at deploy time; the grant is limited to the keys of ${grantSummary([grant])} in this system's bucket, and KMS opens only envelopes whose context names the same system, permission and database.`,
    );
  }
}

/** The statements of a client access policy (see the header). */
export function accessKeyStatements(region: string, props: Omit<ClientAccessPolicyProps, 'description'>): iam.PolicyStatement[] {
  const folders = props.grants.map(accessFolder);
  const statements = [
    new iam.PolicyStatement({
      sid: 'ListAccessKeys',
      actions: ['s3:ListBucket'],
      resources: [props.bucketArn],
      conditions: { StringLike: { 's3:prefix': folders.map((folder) => `${folder}*`) } },
    }),
    new iam.PolicyStatement({ sid: 'ReadAccessKeys', actions: ['s3:GetObject'], resources: folders.map((folder) => `${props.bucketArn}/${folder}*`) }),
    // The objects are SSE-KMS: S3 asks KMS on the caller's behalf.
    new iam.PolicyStatement({
      sid: 'ReadEncryptedObjects',
      actions: ['kms:Decrypt'],
      resources: [props.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
    }),
  ];
  props.grants.forEach((grant, index) => {
    const context: Record<string, string> = {
      'kms:EncryptionContext:system': props.system,
      'kms:EncryptionContext:purpose': 'access-key',
      'kms:EncryptionContext:permission': grant.permission,
      ...(grant.database === undefined ? {} : { 'kms:EncryptionContext:database': grant.database }),
    };
    statements.push(new iam.PolicyStatement({ sid: `OpenAccessKeys${index}`, actions: ['kms:Decrypt'], resources: [props.keyArn], conditions: { StringEquals: context } }));
  });
  return statements;
}

/** How cdk-nag names a resource in a finding id: an export by its name, an attribute as `<Id.Arn>`. */
function nagName(stack: Stack, value: string): string {
  if (!Token.isUnresolved(value)) return value;
  const resolved = stack.resolve(value) as Record<string, any>;
  if (typeof resolved['Fn::ImportValue'] === 'string') return resolved['Fn::ImportValue'];
  if (Array.isArray(resolved['Fn::GetAtt'])) return `<${(resolved['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof resolved.Ref === 'string') return `<${resolved.Ref}>`;
  return JSON.stringify(resolved);
}
