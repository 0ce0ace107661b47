import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, type Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { buildApp } from "../../infra/build-app.js";
import type { LaunchgateStack } from "../../infra/stacks/launchgate-stack.js";
import { parseConfig } from "../../shared/config/parse-config.js";

export interface Synthesized {
  readonly stack: LaunchgateStack;
  /** Not usable when cdk-nag stopped synthesis: check nagViolations first in such tests. */
  readonly template: Template;
  /** cdk-nag violations that were not acknowledged, as "rule at construct-path". */
  readonly nagViolations: string[];
}

/** Builds the app as `cdk synth` does (with cdk-nag) from raw config; `mutate` can break it on purpose. */
export function synthesize(rawConfig: unknown = {}, mutate?: (stack: LaunchgateStack) => void): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), "launchgate-cdk-"));
  const app = new App({ outdir });
  const stack = buildApp(app, parseConfig(rawConfig));
  mutate?.(stack);
  const { template, nagViolations } = templateAfterNag(stack, outdir);
  return { stack, template: template as Template, nagViolations };
}

/**
 * Synthesizes `stack` (its app writes to `outdir`) and reads the cdk-nag report: the template, unless
 * cdk-nag stopped synthesis, and the violations nobody acknowledged, as "rule at construct-path".
 */
export function templateAfterNag(
  stack: Stack,
  outdir: string,
): { template: Template | undefined; nagViolations: string[] } {
  let template: Template | undefined;
  try {
    template = Template.fromStack(stack);
  } catch (error) {
    // cdk-nag violations stop synthesis with ValidationFailed after writing the report read below.
    if ((error as Error).name !== "ValidationFailed") throw error;
  }
  const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8")) as {
    pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
  };
  const nagViolations = report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
  );
  if (!template && nagViolations.length === 0) throw new Error("synthesis failed without cdk-nag violations");
  return { template, nagViolations };
}

/** Every IAM policy statement in the template, flattened. */
export function policyStatements(
  template: Template,
): { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return Object.values(template.findResources("AWS::IAM::Policy")).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement,
  );
}

export const asList = (value: string | string[]) => (Array.isArray(value) ? value : [value]);
