//! Builds the CDK app of one system from its configuration: the storage stack, the compute stack
//! of its topology, one stack per query group (the Lambda ions, if any, in the stack of the group
//! that runs them), and the checks every synth runs (cdk-nag's
//! AwsSolutions pack; the bundled template validator with its rules as errors, which the pinned
//! feature flags in feature-flags.json turn on).

import { App, Tags } from 'aws-cdk-lib';
import featureFlags from './feature-flags.json' with { type: 'json' };
import { ComputeStack, primaryGroupName } from './compute-stack.ts';
import { contextKeys, readConfig, type Context, type SystemConfig } from './config.ts';
import { readIonLambdasConfig, type IonLambdasConfig } from './ion-lambdas-config.ts';
import { applyAwsSolutionsChecks } from './nag.ts';
import { QueryGroupStack } from './query-group-stack.ts';
import { StorageStack } from './storage-stack.ts';

export interface FactumAppProps {
  /**
   * Context values (`system`, `topology`, ... see config.ts); the CLI's `-c` values win.
   * @default - only what the CLI passes
   */
  readonly context?: Context;
  /** Where the cloud assembly goes. @default - the CLI's choice, or a temporary directory */
  readonly outdir?: string;
  /** Environment variables consulted for defaults (CDK_DEFAULT_REGION). @default process.env */
  readonly environment?: Readonly<Record<string, string | undefined>>;
}

export interface FactumApp {
  readonly app: App;
  readonly config: SystemConfig;
  readonly storage: StorageStack;
  readonly compute: ComputeStack;
  readonly queryGroups: readonly QueryGroupStack[];
  /** The Lambda ions created (`-c ionConfig=...`), or null. */
  readonly ionLambdas: IonLambdasConfig | null;
}

export interface StackNames {
  readonly storage: string;
  readonly compute: string;
  queryGroup(name: string): string;
}

/** `factum-<system>-storage`, `factum-<system>-compute`, `factum-<system>-query-<group>`. */
export function stackNames(system: string): StackNames {
  const prefix = `factum-${system}`;
  return { storage: `${prefix}-storage`, compute: `${prefix}-compute`, queryGroup: (name) => `${prefix}-query-${name}` };
}

/**
 * Builds the whole app. Throws a FactumError (before creating any stack) when the context is bad.
 * @example createFactumApp({ context: { system: 'demo', topology: 'solo', bastionCidr: 'none' } })
 */
export function createFactumApp(props: FactumAppProps = {}): FactumApp {
  const app = new App({ context: { ...featureFlags, ...props.context }, ...(props.outdir === undefined ? {} : { outdir: props.outdir }) });
  const context = Object.fromEntries(contextKeys.map((key) => [key, app.node.tryGetContext(key) as unknown]));
  const config = readConfig(context, props.environment ?? process.env);
  const ionLambdas = readIonLambdasConfig(context, config);
  // The group that runs the application gets its Lambdas.
  const ionLambdasOf = (group: string): { ionLambdas?: IonLambdasConfig } => (ionLambdas?.group === group ? { ionLambdas } : {});
  const env = { region: config.region };
  const names = stackNames(config.system);
  const storage = new StorageStack(app, names.storage, {
    env,
    config,
    stackName: names.storage,
    description: `factum ${config.system}: storage, network and keys (retained; outlives compute)`,
  });
  const compute = new ComputeStack(app, names.compute, {
    env,
    config,
    stackName: names.compute,
    description: `factum ${config.system}: ${config.topology} primary compute group, bastion, dashboard`,
    ...ionLambdasOf(primaryGroupName),
  });
  compute.addStackDependency(storage, 'imports the storage exports');
  const queryGroups = config.queryGroups.map((group) => {
    const name = names.queryGroup(group.name);
    const stack = new QueryGroupStack(app, name, { env, config, group, stackName: name, description: `factum ${config.system}: query group ${group.name}`, ...ionLambdasOf(group.name) });
    stack.addStackDependency(storage, 'imports the storage exports');
    return stack;
  });
  Tags.of(app).add('factum:system', config.system);
  applyAwsSolutionsChecks(app);
  return { app, config, storage, compute, queryGroups, ionLambdas };
}
