import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import type { FunctionCode } from "./constructs/function-code.js";
import { acknowledgeNagFindings } from "./nag-suppressions.js";
import {
  addReferenceEnvironment,
  groupsWithHookInside,
  withReferenceImages,
  withReferenceRedis,
} from "./reference/index.js";
import { LaunchgateStack } from "./stacks/launchgate-stack.js";

/**
 * Adds the launchgate stack (with the reference environment when config asks for it) and the cdk-nag
 * AwsSolutions checks to `app`. Shared by infra/app.ts, the
 * tests and the simulated world, so they all synthesize exactly what `cdk synth` does (the world
 * passes stand-in `code` for the bundles: it runs each function's source).
 */
export function buildApp(app: App, rawConfig: LaunchgateConfig, code?: FunctionCode): LaunchgateStack {
  // With `reference`, the stack also builds the environment itself, and its group's app reaches the
  // Redis it creates and pulls its images through the image cache it creates.
  const config = withReferenceImages(withReferenceRedis(rawConfig));
  const stack = new LaunchgateStack(app, config.stackName, {
    config,
    code,
    hooksInsideGroups: [...groupsWithHookInside(config)],
    env: { region: config.region, account: config.account },
    description: "launchgate: instances go InService only once the load balancer reports them healthy",
  });
  const reference = addReferenceEnvironment(stack, config);
  // The gate's rules and functions exist before the group launches its first instance.
  reference?.autoScalingGroup.node.addDependency(stack.gate);
  acknowledgeNagFindings(stack.gate, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
