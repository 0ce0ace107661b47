import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import { acknowledgeNagFindings } from "./nag-suppressions.js";
import { LaunchgateStack } from "./stacks/launchgate-stack.js";

/**
 * Adds the launchgate stack and the cdk-nag AwsSolutions checks to `app`. Shared by infra/app.ts and
 * the tests, so the tests synthesize exactly what `cdk synth` does.
 */
export function buildApp(app: App, config: LaunchgateConfig): LaunchgateStack {
  const stack = new LaunchgateStack(app, config.stackName, {
    config,
    env: { region: config.region, account: config.account },
    description: "launchgate: instances go InService only once the load balancer reports them healthy",
  });
  acknowledgeNagFindings(stack.gate, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return stack;
}
