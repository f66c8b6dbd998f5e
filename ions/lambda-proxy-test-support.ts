// Test support for the Lambda ion proxy's tests (ions/lambda-proxy.test.ts, and the integration
// suite's test/integration/lambda-proxy.test.ts): an ion application with two Lambdas, pushed and
// deployed onto a node's group as `factum ions push` and `factum ions deploy` do.
import { createHash } from 'node:crypto';
import type { Transport } from '../client/remote/transport.ts';
import { packRevision } from '../nodes/ions/archive.ts';
import type { IonConfig, IonGroupStatus, RevisionMetadata } from '../nodes/ions/revision.ts';

/** `greet` answers from its JSON input; `broken` throws. */
export const greeterConfig: IonConfig = { appName: 'greeter', allow: [], lambdas: { greet: { handler: 'greet' }, broken: { handler: 'broken' } } };

/** The application as one self-contained ES module (what push bundles). */
export const greeterBundle = `
export async function greet(input) {
  const event = JSON.parse(input);
  return 'Hello, ' + event.name + '! (' + typeof input + ' of ' + input.length + ' characters)';
}
export async function broken() { throw new Error('the warehouse is closed'); }
`;

/** What `greet` answers to `event`. */
export function greeting(event: { readonly name: string }): string {
  return `Hello, ${event.name}! (string of ${JSON.stringify(event).length} characters)`;
}

/**
 * Pushes the greeter as revision `rev` and deploys it onto `group`, through `admin` (a transport
 * with an admin key); resolves once the group's deployment is `deployed`. The caller's test
 * timeout bounds the wait.
 */
export async function deployGreeter(admin: Transport, rev: string, group = 'primary'): Promise<void> {
  const archive = packRevision({ bundle: greeterBundle, config: greeterConfig });
  const metadata: RevisionMetadata = {
    app: greeterConfig.appName,
    rev,
    config: greeterConfig,
    archiveSha256: createHash('sha256').update(archive).digest('hex'),
    archiveBytes: archive.length,
    lockHash: null,
    pushedAt: new Date().toISOString(),
  };
  await admin.call('ionPush', { metadata, archive }, { idempotent: true });
  await admin.call('ionDeploy', { group, app: greeterConfig.appName, rev }, { idempotent: true });
  for (;;) {
    const status = (await admin.call('ionStatus', { group }, { idempotent: true })).value as IonGroupStatus;
    if (status.deployment?.state === 'deployed') return;
    if (status.deployment?.state === 'rolled-back') throw new Error(`the deployment of ${rev} was rolled back: ${status.deployment.reason}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
