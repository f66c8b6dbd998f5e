//! cdk-nag's AwsSolutions pack on the whole app, and the one way this app acknowledges a finding:
//! on the construct that causes it, with a reason that says why it is right here.

import { Validations, type App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** Runs the AwsSolutions rules at synth; an unacknowledged finding fails synth. */
export function applyAwsSolutionsChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** Acknowledges one finding (`AwsSolutions-IAM5[Resource::*]`) on `scope` and its children. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}
