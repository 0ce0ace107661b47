import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Duration, Stack } from "aws-cdk-lib";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { buildApp } from "../../infra/build-app.js";
import {
  DRAIN_COMMAND_OVERHEAD_SECONDS,
  SHORT_DEREGISTRATION_DELAY_WARNING,
} from "../../infra/constructs/drain-limits.js";
import { ROOT } from "../../infra/constructs/function-code.js";
import { LaunchGate } from "../../infra/index.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import { drainHookHeartbeatSeconds } from "../../shared/config/runtime-config.js";
import { simulatedCode } from "../../sim/deploy/simulated-code.js";

/**
 * A drain must fit in what runs it: the bootstrap document's execution timeout (refused at synth), the
 * terminate hook's heartbeat, and the deregistration delay of the target groups it leaves (a warning).
 */

/** Synthesizes the standalone app as `cdk synth` does; returns the error synth stopped with, if any. */
function synthError(raw: unknown): Error | undefined {
  const app = new App();
  buildApp(app, parseConfig(raw), simulatedCode());
  try {
    app.synth();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

const draining = (drain: number, bootstrap?: number) => ({
  groups: [
    {
      name: "web-asg",
      targetGroups: ["web-tg"],
      drain: { timeoutSeconds: drain },
      ...(bootstrap === undefined ? {} : { bootstrapTimeoutSeconds: bootstrap }),
    },
  ],
});

describe("drain limit vs the document's execution timeout", () => {
  it("refuses a drain the execution timeout would cut, naming the group and both numbers", () => {
    // The default bootstrapTimeoutSeconds is 1200.
    const error = synthError(draining(1200));
    expect(error?.message).toContain(
      "groups[0] (web-asg): drain.timeoutSeconds is 1200 s, but the drain command runs under the bootstrap document's execution timeout, bootstrapTimeoutSeconds = 1200 s, and needs 40 s of it beyond the limit (the drain would be cut at 1160 s): raise groups[0].bootstrapTimeoutSeconds to at least 1240 or lower groups[0].drain.timeoutSeconds to at most 1160",
    );
  });

  it("accepts a drain exactly the overhead short of the timeout, refuses one second more", () => {
    expect(synthError(draining(600 - DRAIN_COMMAND_OVERHEAD_SECONDS, 600))).toBeUndefined();
    expect(synthError(draining(601 - DRAIN_COMMAND_OVERHEAD_SECONDS, 600))?.message).toMatch(
      /groups\[0\] \(web-asg\): drain\.timeoutSeconds is 561 s, .*bootstrapTimeoutSeconds = 600 s/,
    );
  });

  it("the overhead covers what bootstrap.sh keeps back from the timeout, and more", () => {
    const script = readFileSync(join(ROOT, "bootstrap", "bootstrap.sh"), "utf8");
    const margin = Number(
      /^DEADLINE_MARGIN_SECONDS=\$\{LAUNCHGATE_DEADLINE_MARGIN_SECONDS:-(\d+)\}$/m.exec(script)?.[1],
    );
    const stop = Number(/^DRAIN_STOP_SECONDS=(\d+)$/m.exec(script)?.[1]);
    expect(margin).toBeGreaterThan(0);
    expect(stop).toBeGreaterThan(0);
    expect(DRAIN_COMMAND_OVERHEAD_SECONDS).toBeGreaterThan(margin + stop);
  });

  it("the terminate hook outlasts the drain command for every limit the schema allows", () => {
    for (let limit = 30; limit <= 3600; limit += 1) {
      const heartbeat = drainHookHeartbeatSeconds(limit);
      // The hook must not time out (and let termination proceed) while the drain may still run…
      expect(heartbeat).toBeGreaterThanOrEqual(limit + DRAIN_COMMAND_OVERHEAD_SECONDS);
      // …and must be a heartbeat timeout Auto Scaling accepts (30–7200 s).
      expect(heartbeat).toBeLessThanOrEqual(7200);
    }
  });
});

/** A library user's stack: their own target group, with `delay` (unset: ELB's default) and a drain. */
function userStack(drain: number, delay?: number, byName = false) {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new Stack(app, "Consumer", { env: { region: "eu-west-1" } });
  const vpc = new ec2.Vpc(stack, "Vpc", { maxAzs: 2, natGateways: 0 });
  const targetGroup = new elbv2.ApplicationTargetGroup(stack, "WebTargets", {
    vpc,
    port: 80,
    targetType: elbv2.TargetType.INSTANCE,
    ...(delay === undefined ? {} : { deregistrationDelay: Duration.seconds(delay) }),
  });
  new LaunchGate(stack, "LaunchGate", {
    config: {
      groups: [
        {
          name: "web-asg",
          targetGroups: [byName ? "web-tg" : targetGroup],
          drain: { timeoutSeconds: drain },
        },
      ],
    },
    code: () => lambda.Code.fromInline("export const handler = async () => {};"),
  });
  return Annotations.fromStack(stack);
}

/** The warning (it ends with its id, by which an app can acknowledge it) with `text` in it. */
const shortDelayWarning = (text: string) =>
  Match.stringLikeRegexp(`${text}.*\\[ack: ${SHORT_DEREGISTRATION_DELAY_WARNING}\\]`);

describe("drain limit vs a user's target group's deregistration delay", () => {
  it("warns when the app's target group deregisters sooner than the drain's limit", () => {
    userStack(600, 120).hasWarning(
      "/Consumer/LaunchGate",
      shortDelayWarning(
        "groups\\[0\\] \\(web-asg\\): target group Consumer/WebTargets deregisters in 120 s, shorter than drain.timeoutSeconds \\(600 s\\)",
      ),
    );
  });

  it("counts ELB's default delay (300 s) when the target group sets none", () => {
    userStack(600).hasWarning("/Consumer/LaunchGate", shortDelayWarning("deregisters in 300 s"));
  });

  it("does not warn when the delay covers the limit", () => {
    userStack(600, 600).hasNoWarning("*", shortDelayWarning(""));
    userStack(240).hasNoWarning("*", shortDelayWarning(""));
  });

  it("cannot check a target group named only by name (docs/deploy.md says how)", () => {
    userStack(600, 120, true).hasNoWarning("*", shortDelayWarning(""));
  });
});
