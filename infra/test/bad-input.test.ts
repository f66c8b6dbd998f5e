import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FactumError } from '../../nodes/util/errors.ts';
import type { Context } from '../config.ts';
import { createFactumApp } from '../factum-app.ts';

const repository = fileURLToPath(new URL('../..', import.meta.url));
const directories: string[] = [];
function temporaryDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'factum-cdk-'));
  directories.push(directory);
  return directory;
}
afterAll(() => {
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const good = { system: 'demo', topology: 'solo', bastionCidr: '203.0.113.7/32', region: 'us-east-1' };

function failure(context: Context): FactumError {
  try {
    createFactumApp({ context, outdir: temporaryDirectory(), environment: {} });
  } catch (error) {
    if (error instanceof FactumError) return error;
    throw error;
  }
  throw new Error('createFactumApp accepted the context');
}

describe('bad input at synth', () => {
  it.each<[string, Context, string, string]>([
    ['an unknown topology', { ...good, topology: 'multi' }, 'infra/unknown-topology', 'pass -c topology=solo or -c topology=production'],
    ['an invalid system name', { ...good, system: 'My_System' }, 'infra/invalid-system-name', 'e.g. -c system=demo'],
    ['a query group on a solo system', { ...good, queryGroups: 'analytics' }, 'infra/query-group-on-solo', 'pass -c topology=production'],
    ['no CIDR for the bastion', { ...good, bastionCidr: undefined }, 'infra/missing-context', 'pass -c bastionCidr='],
  ])('fails on %s with one message saying what to pass', (_name, context, code, advice) => {
    const error = failure(context);
    expect(error.code).toBe(code);
    expect(error.message).toContain(advice);
    expect(error.message.split('\n')).toHaveLength(1);
  });

  it('prints one line and exits 1 from the CDK app entry point', () => {
    const outdir = temporaryDirectory();
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(repository, 'infra/app.ts')], {
      cwd: repository,
      encoding: 'utf8',
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ system: 'demo', topology: 'solo' }) },
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^factum: No CIDR for the bastion: pass -c bastionCidr=.*\[infra\/missing-context\]$/)]);
    expect(readdirSync(outdir).filter((file) => file.endsWith('.template.json'))).toEqual([]);
  });

  it('fails synth on an unacknowledged cdk-nag finding', () => {
    const { app, compute } = createFactumApp({ context: good, outdir: temporaryDirectory(), environment: {} });
    const open = new ec2.SecurityGroup(compute, 'OpenToTheWorld', { vpc: compute.imports.vpc, description: 'a mistake' });
    open.addIngressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(8182));
    expect(() => app.synth()).toThrow(/AwsSolutions-EC23/);
  });
});
