// A policy an operator makes in their own stack for one application: the read-only keys of one
// database, and nothing else, with zero cdk-nag findings.
import { App, Stack } from 'aws-cdk-lib';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyAwsSolutionsChecks } from '../nag.ts';
import { renderValue, resourcesOfType, statementsOf, type TemplateJson } from '../test/synth.ts';
import { accessFolder, ClientAccessPolicy } from './client-access-policy.ts';

describe('ClientAccessPolicy', () => {
  it('grants one database read-only: list and read its folder, open only its envelopes', () => {
    const directory = mkdtempSync(join(tmpdir(), 'factum-cdk-'));
    try {
      const app = new App({ outdir: directory });
      const stack = new Stack(app, 'ShopReports', { env: { region: 'eu-west-1' } });
      ClientAccessPolicy.fromSystemExports(stack, 'ShopReader', { system: 'prod', grants: [{ permission: 'read-only', database: 'shop' }] });
      applyAwsSolutionsChecks(app);
      const assembly = app.synth();
      const report = join(directory, 'validation-report.json');
      const violations = existsSync(report) ? (JSON.parse(readFileSync(report, 'utf8')) as { pluginReports: { violations: unknown[] }[] }).pluginReports.flatMap((plugin) => plugin.violations) : [];
      expect(violations).toEqual([]);

      const template = assembly.getStackByName('ShopReports').template as TemplateJson;
      expect(resourcesOfType(template, 'AWS::IAM::ManagedPolicy')).toHaveLength(1);
      const statements = statementsOf(template).map((statement) => ({ action: statement.Action, resource: renderValue(statement.Resource), condition: statement.Condition }));
      expect(statements).toEqual([
        { action: 's3:ListBucket', resource: '<import:factum-prod-BucketArn>', condition: { StringLike: { 's3:prefix': ['access/dbs/shop/read-only/*'] } } },
        { action: 's3:GetObject', resource: '<import:factum-prod-BucketArn>/access/dbs/shop/read-only/*', condition: undefined },
        { action: 'kms:Decrypt', resource: '<import:factum-prod-KeyArn>', condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } } },
        {
          action: 'kms:Decrypt',
          resource: '<import:factum-prod-KeyArn>',
          condition: {
            StringEquals: {
              'kms:EncryptionContext:system': 'prod',
              'kms:EncryptionContext:purpose': 'access-key',
              'kms:EncryptionContext:permission': 'read-only',
              'kms:EncryptionContext:database': 'shop',
            },
          },
        },
      ]);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('names the folders of the key layout, and refuses grants that name none', () => {
    expect(accessFolder({ permission: 'admin' })).toBe('access/admin/');
    expect(accessFolder({ permission: 'read-write', database: 'shop' })).toBe('access/dbs/shop/read-write/');
    expect(accessFolder({ permission: 'read-only' })).toBe('access/dbs/*/read-only/');
    expect(() => accessFolder({ permission: 'admin', database: 'shop' })).toThrow(/admin grant names no database/);
    expect(() => accessFolder({ permission: 'read-only', database: 'a/b' })).toThrow(/not a database name/);
  });
});
