//! Builds the CDK app of one system from its configuration: the storage stack, the compute stack
//! of its topology, one stack per query group, and the checks every synth runs (cdk-nag's
//! AwsSolutions pack; the bundled template validator with its rules as errors, which the pinned
//! feature flags in feature-flags.json turn on).

import { App, Tags } from 'aws-cdk-lib';
import featureFlags from './feature-flags.json' with { type: 'json' };
import { ComputeStack } from './compute-stack.ts';
import type { SystemConfig } from './config.ts';
import { applyAwsSolutionsChecks } from './nag.ts';
import { QueryGroupStack } from './query-group-stack.ts';
import { StorageStack } from './storage-stack.ts';

export interface FactumAppProps {
  readonly config: SystemConfig;
  /** Where the cloud assembly goes. @default - the CLI's choice, or a temporary directory */
  readonly outdir?: string;
}

export interface FactumApp {
  readonly app: App;
  readonly storage: StorageStack;
  readonly compute: ComputeStack;
  readonly queryGroups: readonly QueryGroupStack[];
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

export function createFactumApp(props: FactumAppProps): FactumApp {
  const { config } = props;
  const app = new App({ context: featureFlags, ...(props.outdir === undefined ? {} : { outdir: props.outdir }) });
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
  });
  compute.addStackDependency(storage, 'imports the storage exports');
  const queryGroups = config.queryGroups.map((group) => {
    const name = names.queryGroup(group.name);
    const stack = new QueryGroupStack(app, name, { env, config, group, stackName: name, description: `factum ${config.system}: query group ${group.name}` });
    stack.addStackDependency(storage, 'imports the storage exports');
    return stack;
  });
  Tags.of(app).add('factum:system', config.system);
  applyAwsSolutionsChecks(app);
  return { app, storage, compute, queryGroups };
}
