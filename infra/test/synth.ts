// Test helpers: synthesize one system (with cdk-nag and the template validator, as `cdk synth`
// does) and read its templates. Each synth costs seconds: test files share one per topology.

import { Template } from 'aws-cdk-lib/assertions';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from '../config.ts';
import { createFactumApp, type FactumApp } from '../factum-app.ts';

export const bastionCidr = '203.0.113.7/32';

export interface SynthesizedSystem extends FactumApp {
  readonly directory: string;
  template(stackName: string): Template;
  /** Every stack's template as JSON, by stack name. */
  readonly json: Readonly<Record<string, TemplateJson>>;
  /** Violations of any severity in the validation report (cdk-nag, validator, annotations). */
  readonly violations: readonly unknown[];
}

export interface TemplateJson {
  readonly Resources: Record<string, { Type: string; Properties?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string; DependsOn?: unknown }>;
  readonly Outputs?: Record<string, { Value: unknown; Export?: { Name: string } }>;
}

export function synthesizeSystem(context: Context): SynthesizedSystem {
  const directory = mkdtempSync(join(tmpdir(), 'factum-cdk-'));
  const built = createFactumApp({ context: { region: 'us-east-1', bastionCidr, ...context }, outdir: directory, environment: {} });
  const assembly = built.app.synth();
  const json: Record<string, TemplateJson> = {};
  for (const stack of assembly.stacks) json[stack.stackName] = stack.template as TemplateJson;
  const reportFile = join(directory, 'validation-report.json');
  const report = existsSync(reportFile) ? (JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: { violations: unknown[] }[] }) : { pluginReports: [] };
  const stacks = [built.storage, built.compute, ...built.queryGroups];
  return {
    ...built,
    directory,
    json,
    violations: report.pluginReports.flatMap((plugin) => plugin.violations),
    template(stackName: string): Template {
      const stack = stacks.find((candidate) => candidate.stackName === stackName);
      if (stack === undefined) throw new Error(`no stack ${stackName}`);
      return Template.fromStack(stack);
    },
  };
}

export function resourcesOfType(template: TemplateJson, type: string): { id: string; Properties: any; DeletionPolicy?: string }[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === type)
    .map(([id, resource]) => ({ id, Properties: resource.Properties ?? {}, ...(resource.DeletionPolicy === undefined ? {} : { DeletionPolicy: resource.DeletionPolicy }) }));
}

/**
 * Renders a CloudFormation value as text, intrinsics as placeholders:
 * `{Fn::ImportValue: x}` → `<import:x>`, `{Ref: x}` → `<ref:x>`, `{Fn::GetAtt: [x, y]}` → `<x.y>`.
 */
export function renderValue(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.map(renderValue).join(',');
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, any>;
    if ('Fn::Join' in object) return (object['Fn::Join'][1] as unknown[]).map(renderValue).join(object['Fn::Join'][0] as string);
    if ('Fn::Base64' in object) return renderValue(object['Fn::Base64']);
    if ('Fn::ImportValue' in object) return `<import:${renderValue(object['Fn::ImportValue'])}>`;
    if ('Ref' in object) return `<ref:${object.Ref}>`;
    if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Sub' in object) return renderValue(object['Fn::Sub']);
    if ('Fn::Select' in object) return `<select:${renderValue(object['Fn::Select'][1])}[${object['Fn::Select'][0]}]>`;
    return JSON.stringify(object);
  }
  return String(value);
}

/** The user data of every launch template in a template, rendered as text. */
export function userDataOf(template: TemplateJson): string[] {
  return resourcesOfType(template, 'AWS::EC2::LaunchTemplate').map((launchTemplate) => renderValue(launchTemplate.Properties.LaunchTemplateData.UserData));
}

/** Every IAM statement of the policies and managed policies in a template. */
export function statementsOf(template: TemplateJson): { policy: string; Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown }[] {
  const policies = [...resourcesOfType(template, 'AWS::IAM::Policy'), ...resourcesOfType(template, 'AWS::IAM::ManagedPolicy')];
  return policies.flatMap((policy) => (policy.Properties.PolicyDocument.Statement as any[]).map((statement) => ({ policy: policy.id, ...statement })));
}

/** Every IPv4 CIDR any security group admits, inline or as a separate ingress resource. */
export function ingressCidrs(template: TemplateJson): { cidr: string; fromPort: number; toPort: number }[] {
  const inline = resourcesOfType(template, 'AWS::EC2::SecurityGroup').flatMap((group) => (group.Properties.SecurityGroupIngress ?? []) as any[]);
  const separate = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress').map((rule) => rule.Properties);
  return [...inline, ...separate]
    .filter((rule) => rule.CidrIp !== undefined || rule.CidrIpv6 !== undefined)
    .map((rule) => ({ cidr: renderValue(rule.CidrIp ?? rule.CidrIpv6), fromPort: rule.FromPort, toPort: rule.ToPort }));
}
