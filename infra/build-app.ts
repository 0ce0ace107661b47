import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import type { FunctionCode } from "./constructs/function-code.js";
import { acknowledgeNagFindings } from "./nag-suppressions.js";
import { LaunchgateStack } from "./stacks/launchgate-stack.js";

/**
 * Adds the launchgate stack and the cdk-nag AwsSolutions checks to `app`. Shared by infra/app.ts, the
 * tests and the simulated world, so they all synthesize exactly what `cdk synth` does (the world
 * passes stand-in `code` for the bundles: it runs each function's source).
 */
export function buildApp(app: App, config: LaunchgateConfig, code?: FunctionCode): LaunchgateStack {
  const stack = new LaunchgateStack(app, config.stackName, {
    config,
    code,
    env: { region: config.region, account: config.account },
    description: "launchgate: instances go InService only once the load balancer reports them healthy",
  });
  acknowledgeNagFindings(stack.gate, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
