//! The CDK app's entry point (cdk.json runs it). Deploys one system:
//!
//!   npx cdk deploy --all -c system=demo -c topology=solo -c bastionCidr=203.0.113.7/32
//!
//! Every context key is described in config.ts and docs/deploy.md. A bad value stops synth with
//! one line saying what to pass, and no stack trace.

import { isFactumError } from '../nodes/util/errors.ts';
import { createFactumApp } from './factum-app.ts';

try {
  createFactumApp().app.synth();
} catch (error) {
  if (!isFactumError(error)) throw error;
  process.stderr.write(`factum: ${error.message} [${error.code}]\n`);
  process.exit(1);
}
