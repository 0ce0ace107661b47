import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { buildApp } from "../../infra/build-app.js";
import { ROOT } from "../../infra/constructs/function-code.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import { simulatedCode } from "./simulated-code.js";

/** SIMULATION — what `cdk synth` writes for one config: the stack's template and where its assets are. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CloudFormationTemplate;
  readonly assemblyDir: string;
}

export interface CloudFormationTemplate {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Outputs?: Readonly<Record<string, { readonly Value: unknown }>>;
}

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

const cache = new Map<string, SynthesizedStack>();

/**
 * Synthesizes the app as `npm run synth` does — the same buildApp, cdk.json's context (feature flags
 * change the template), cdk-nag — with stand-ins for the bundles. Memoized per config: a chaos run
 * synthesizes each distinct config once.
 */
export function synthesizeForSimulation(config: LaunchgateConfig): SynthesizedStack {
  const key = JSON.stringify(config);
  const cached = cache.get(key);
  if (cached) return cached;
  const cdkJson = JSON.parse(readFileSync(join(ROOT, "cdk.json"), "utf8")) as { context?: object };
  const assemblyDir = mkdtempSync(join(tmpdir(), "launchgate-sim-cdk-"));
  const app = new App({
    outdir: assemblyDir,
    context: { ...cdkJson.context, "aws:cdk:enable-asset-metadata": true },
  });
  const stack = buildApp(app, config, simulatedCode());
  const assembly = app.synth();
  const synthesized = {
    stackName: stack.stackName,
    template: assembly.getStackByName(stack.stackName).template as CloudFormationTemplate,
    assemblyDir,
  };
  cache.set(key, synthesized);
  return synthesized;
}
