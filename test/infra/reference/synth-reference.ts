import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { addReferenceEnvironment, type ReferenceEnvironment } from "../../../infra/reference/index.js";
import { parseConfig } from "../../../shared/config/parse-config.js";
import { templateAfterNag } from "../synth.js";

export interface SynthesizedReference {
  readonly stack: Stack;
  readonly env: ReferenceEnvironment | undefined;
  /** Not usable when cdk-nag stopped synthesis: check nagViolations first. */
  readonly template: Template;
  /** cdk-nag violations that were not acknowledged, as "rule at construct-path". */
  readonly nagViolations: string[];
  /** Context lookups synthesis asked for (each would need AWS credentials at `cdk synth`). */
  readonly missingContext: string[];
  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: IConstruct): string;
}

/** A stack of its own holding only the reference environment, synthesized with cdk-nag as the app is. */
export function synthesizeReference(rawConfig: unknown = { reference: {} }): SynthesizedReference {
  const outdir = mkdtempSync(join(tmpdir(), "launchgate-reference-"));
  const app = new App({ outdir });
  const config = parseConfig(rawConfig);
  const stack = new Stack(app, config.stackName, { env: { region: config.region, account: config.account } });
  const env = addReferenceEnvironment(stack, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  const { template, nagViolations } = templateAfterNag(stack, outdir);
  // The assembly Template.fromStack synthesized (cached by the app).
  const missingContext = template ? (app.synth().manifest.missing ?? []).map((m) => m.key) : [];
  const logicalId = (construct: IConstruct) => {
    const child = construct.node.defaultChild ?? construct;
    return stack.getLogicalId(child as CfnElement);
  };
  return { stack, env, template: template as Template, nagViolations, missingContext, logicalId };
}

type Json = Record<string, unknown>;

/** A resource's properties by logical id. */
export function propertiesOf(template: Template, logicalId: string): Json {
  const resource = template.toJSON().Resources?.[logicalId] as { Properties?: Json } | undefined;
  if (!resource) throw new Error(`no resource ${logicalId}`);
  return resource.Properties ?? {};
}

/** The Availability Zone expressions of subnets given as `{ Ref: <subnet> }`, sorted. */
export function zonesOfSubnets(template: Template, subnetRefs: unknown): string[] {
  if (!Array.isArray(subnetRefs)) throw new Error(`not a list of subnet refs: ${JSON.stringify(subnetRefs)}`);
  return subnetRefs
    .map((ref) => {
      const id = (ref as { Ref?: string }).Ref;
      if (!id) throw new Error(`not a subnet Ref: ${JSON.stringify(ref)}`);
      return JSON.stringify(propertiesOf(template, id).AvailabilityZone);
    })
    .sort();
}

export interface Rule {
  readonly protocol: unknown;
  readonly from: unknown;
  readonly to: unknown;
  /** The peer: `sg:<logical id>` or a CIDR. */
  readonly peer: string;
}

/** Every ingress (or egress) rule of a security group: inline in the group and standalone resources. */
export function rulesOf(template: Template, groupId: string, direction: "ingress" | "egress"): Rule[] {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const inlineKey = direction === "ingress" ? "SecurityGroupIngress" : "SecurityGroupEgress";
  const standaloneType =
    direction === "ingress" ? "AWS::EC2::SecurityGroupIngress" : "AWS::EC2::SecurityGroupEgress";
  const peerKey = direction === "ingress" ? "SourceSecurityGroupId" : "DestinationSecurityGroupId";
  const toRule = (raw: Json): Rule => {
    const peerGroup = raw[peerKey] as { "Fn::GetAtt"?: [string, string] } | undefined;
    return {
      protocol: raw.IpProtocol,
      from: raw.FromPort,
      to: raw.ToPort,
      peer: peerGroup?.["Fn::GetAtt"]
        ? `sg:${peerGroup["Fn::GetAtt"][0]}`
        : String(raw.CidrIp ?? raw.CidrIpv6),
    };
  };
  const inline = ((propertiesOf(template, groupId)[inlineKey] as Json[] | undefined) ?? []).map(toRule);
  const standalone = Object.values(resources)
    .filter((r) => r.Type === standaloneType)
    .filter(
      (r) => JSON.stringify(r.Properties.GroupId) === JSON.stringify({ "Fn::GetAtt": [groupId, "GroupId"] }),
    )
    .map((r) => toRule(r.Properties));
  return [...inline, ...standalone];
}

/**
 * A value with every `Fn::Join` of strings and `Ref`s to pseudo parameters written out as one string,
 * `${AWS::Partition}` style, so that expected ARNs read as ARNs.
 */
export function readable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readable);
  if (typeof value !== "object" || value === null) return value;
  const object = value as Json;
  const join = object["Fn::Join"] as [string, unknown[]] | undefined;
  if (join && Object.keys(object).length === 1) {
    const parts = join[1].map((part) => {
      const ref = (part as { Ref?: string }).Ref;
      if (typeof part === "string") return part;
      if (ref?.startsWith("AWS::")) return `\${${ref}}`;
      return JSON.stringify(part);
    });
    return parts.join(join[0]);
  }
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, readable(item)]));
}

/** The environment of a synthesis that must have one. */
export function envOf(synthesized: SynthesizedReference): ReferenceEnvironment {
  if (!synthesized.env) throw new Error("no reference environment was built");
  return synthesized.env;
}
