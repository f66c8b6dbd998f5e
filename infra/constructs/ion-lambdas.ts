//! The Lambda ions of one ion application on one compute group: a function per Lambda of its
//! ion-config.json, each running the generic proxy (ions/lambda-proxy.ts), which forwards the
//! event to the group's endpoint as `ionInvoke` and returns the ion's answer.
//!
//!   caller ──▶ <system>-<app>-<lambda> (proxy, in the system's private subnets)
//!                 │ fetches its access key from the bucket once per container (role + KMS)
//!                 └──▶ http://<group>.<system>.factum.internal:8182  ionInvoke { name, input }
//!
//! Every function shares one role, allowed exactly: fetch the one kind of access key it is given
//! (ClientAccessPolicy: list and read that key folder, decrypt envelopes bound to that system,
//! permission and database), write its own log groups, and manage its network interfaces. It runs
//! with the system's client security group, which every group's load balancer (and the solo node)
//! admits on the node port, and the KMS endpoint on 443. Its environment names the endpoint, the
//! system, the ion and where the key is: never a key.

import { AssetHashType, CfnOutput, DockerImage, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import type { IonLambdaConfig } from '../../nodes/ions/revision.ts';
import { ionFunctionName } from '../ion-lambdas-config.ts';
import { acknowledge } from '../nag.ts';
import { bucketPrefixes, endpointName, nodePort } from '../system-exports.ts';
import type { SystemImports } from '../system-imports.ts';
import { ClientAccessPolicy, grantSummary, type AccessGrant } from './client-access-policy.ts';
import { bundleLambdaProxy, lambdaProxyHandler } from './lambda-proxy-bundle.ts';

export interface IonLambdasProps {
  readonly imports: SystemImports;
  /** The compute group that runs the application: `primary` or a query group's name. */
  readonly groupName: string;
  readonly appName: string;
  /** Lambda name → its entry in ion-config.json (handler, description, timeout, concurrency). */
  readonly lambdas: Readonly<Record<string, IonLambdaConfig>>;
  /** The access key the functions fetch: any key of the system may invoke an ion. */
  readonly access: AccessGrant;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default 256 */
  readonly memorySizeMb?: number;
}

/** A Lambda ion's timeout when its ion-config gives none (as nodes/ions/revision.ts documents). */
export const defaultIonTimeoutSeconds = 30;

/**
 * The newest Node.js runtime of the pinned aws-cdk-lib (cdk-nag's AwsSolutions-L1 asks for it);
 * the proxy is built for node20 and runs on any later one.
 */
export const ionLambdaRuntime = lambda.Runtime.NODEJS_24_X;

const ionsDirectory = fileURLToPath(new URL('../../ions', import.meta.url));

/**
 * @example
 * new IonLambdas(this, 'IonLambdas', { imports, groupName: 'primary', appName: 'shop', lambdas: { hello: { handler: 'hello' } }, access: { permission: 'read-only', database: 'shop' } });
 */
export class IonLambdas extends Construct {
  /** By Lambda name. */
  readonly functions: Readonly<Record<string, lambda.Function>>;
  readonly role: iam.Role;
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: IonLambdasProps) {
    super(scope, id);
    const { imports, appName } = props;
    this.endpoint = `http://${endpointName(imports.system, props.groupName)}:${nodePort}`;
    const { role, networkPolicy } = this.createRole(props);
    this.role = role;
    const code = proxyCode();
    const key = kms.Key.fromKeyArn(this, 'SystemKey', imports.keyArn);
    const functions: Record<string, lambda.Function> = {};
    for (const [name, config] of Object.entries(props.lambdas)) {
      // Named by the Lambda, not its position: adding or removing another never replaces this one
      // (a replacement of a function with a fixed name would fail: the name is taken).
      const scope = new Construct(this, name);
      const functionName = ionFunctionName(imports.system, appName, name);
      // Under the system's log prefix: the system key's policy lets CloudWatch Logs use it there.
      const logGroup = new logs.LogGroup(scope, 'Logs', {
        logGroupName: `/factum/${imports.system}/ions/${functionName}`,
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        encryptionKey: key,
        // The compute stacks are replaceable at will: a retained group of this fixed name would
        // stop the next deploy of the stack from creating it again.
        removalPolicy: RemovalPolicy.DESTROY,
      });
      logGroup.grantWrite(this.role);
      const timeoutSeconds = config.timeoutSeconds ?? defaultIonTimeoutSeconds;
      functions[name] = new lambda.Function(scope, 'Function', {
        functionName,
        description: config.description ?? `factum ${imports.system}: Lambda ion ${appName}/${name} on compute group ${props.groupName}`,
        runtime: ionLambdaRuntime,
        architecture: lambda.Architecture.ARM_64,
        handler: lambdaProxyHandler,
        code,
        memorySize: props.memorySizeMb ?? 256,
        timeout: Duration.seconds(timeoutSeconds),
        ...(config.concurrency === undefined ? {} : { reservedConcurrentExecutions: config.concurrency }),
        role: this.role,
        vpc: imports.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        securityGroups: [imports.clientSecurityGroup],
        logGroup,
        environment: this.environment(props, name, timeoutSeconds),
      });
      // Lambda checks at creation that its role may create network interfaces in the VPC.
      functions[name].node.addDependency(networkPolicy);
      new CfnOutput(scope, 'FunctionName', { value: functionName, description: `Lambda ion ${appName}/${name}` });
    }
    this.functions = functions;
  }

  /** What the proxy reads (ions/lambda-proxy.ts): where to go, which ion, where the key is. */
  private environment(props: IonLambdasProps, name: string, timeoutSeconds: number): Record<string, string> {
    const { imports, access } = props;
    return {
      FACTUM_ENDPOINT: this.endpoint,
      FACTUM_SYSTEM: imports.system,
      FACTUM_ION_APP: props.appName,
      FACTUM_ION_LAMBDA: name,
      FACTUM_BUCKET: imports.bucketName,
      FACTUM_ACCESS_PREFIX: bucketPrefixes.access,
      FACTUM_PERMISSION: access.permission,
      ...(access.database === undefined ? {} : { FACTUM_DATABASE: access.database }),
      // The proxy waits for the node as long as the function may run.
      FACTUM_TIMEOUT_MS: String(timeoutSeconds * 1000),
    };
  }

  private createRole(props: IonLambdasProps): { role: iam.Role; networkPolicy: iam.Policy } {
    const { imports } = props;
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `factum ${imports.system}: Lambda ions of ${props.appName} (${grantSummary([props.access])} key)`,
    });
    const keyAccess = new ClientAccessPolicy(this, 'KeyAccess', {
      system: imports.system,
      bucketArn: imports.bucketArn,
      keyArn: imports.keyArn,
      grants: [props.access],
      description: `factum ${imports.system}: the access key the Lambda ions of ${props.appName} invoke with (${grantSummary([props.access])})`,
    });
    role.addManagedPolicy(keyAccess.policy);
    // What AWSLambdaVPCAccessExecutionRole grants, minus its logs-on-every-group part.
    const network = new iam.Policy(this, 'NetworkInterfaces', {
      statements: [
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
        }),
      ],
    });
    role.attachInlinePolicy(network);
    acknowledge(
      network,
      'AwsSolutions-IAM5[Resource::*]',
      "Lambda's VPC networking: these EC2 actions name no resource before the interfaces exist (AWS's own AWSLambdaVPCAccessExecutionRole grants them on *); they open no data.",
    );
    return { role, networkPolicy: network };
  }
}

/** The proxy's bundle as a Lambda asset (local esbuild, never Docker); one asset for every function. */
function proxyCode(): lambda.Code {
  return lambda.Code.fromAsset(ionsDirectory, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling below always handles the build.
      image: DockerImage.fromRegistry('factum-local-bundling-only'),
      local: {
        tryBundle(outputDirectory: string): boolean {
          bundleLambdaProxy(outputDirectory);
          return true;
        },
      },
    },
  });
}
