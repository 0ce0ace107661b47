import { App, Stack } from "aws-cdk-lib";
import { describe, expect, it } from "vitest";
import { LaunchGate } from "../../infra/constructs/launch-gate.js";
import { ConfigError } from "../../shared/config/parse-config.js";

describe("a second LaunchGate in one stack", () => {
  it("is refused at synth with a reason, not CloudFormation's duplicate-output error", () => {
    const stack = new Stack(new App(), "Web", { env: { region: "eu-west-2" } });
    new LaunchGate(stack, "Gate", { config: { groups: [{ name: "web-asg", targetGroups: ["web-tg"] }] } });
    let refusal: unknown;
    try {
      new LaunchGate(stack, "Admin", {
        config: { groups: [{ name: "admin-asg", targetGroups: ["admin-tg"] }] },
      });
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toContain(
      "one LaunchGate per stack: Web/Gate is already in stack Web; gate more groups with one LaunchGate (config.groups), or put this one in a stack of its own",
    );
  });
});
