import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { marshall } from "@aws-sdk/util-dynamodb";
import { describe, expect, it } from "vitest";
import { gatherStatus, renderStatus } from "../../cli/commands/status.js";
import { CNT_TARGET_GROUP, groupDescription } from "../support/aws-stubs.js";
import { cliHarness, NOW, runCli } from "./cli-harness.js";

const SERVING = "i-0aaaaaaaaaaaaaaa1";
const STUCK = "i-0ccccccccccccccc3";

describe("launchgate status", () => {
  it("shows each instance's lifecycle, target health, gate state, reason and last command", async () => {
    const { ctx, mocks } = cliHarness();
    mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        groupDescription(
          [
            { id: STUCK, state: "Pending:Wait", zone: "eu-west-2c" },
            { id: SERVING, state: "InService" },
          ],
          {
            DesiredCapacity: 2,
            AvailabilityZones: ["eu-west-2a", "eu-west-2c"],
            TargetGroupARNs: [CNT_TARGET_GROUP.TargetGroupArn ?? ""],
          },
        ),
      ],
    });
    mocks.elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [CNT_TARGET_GROUP] });
    mocks.elbv2.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: SERVING, Port: 8000 }, TargetHealth: { State: "healthy" } },
        { Target: { Id: STUCK, Port: 8000 }, TargetHealth: { State: "unused", Reason: "Target.NotInUse" } },
      ],
    });
    const gateRecord = (instanceId: string, phase: string, reason: string | undefined, at: number) =>
      marshall(
        { instanceId, phase, reason, history: [{ at, phase, note: reason ?? "" }] },
        { removeUndefinedValues: true },
      );
    mocks.dynamodb.on(GetItemCommand, { Key: { instanceId: { S: SERVING } } }).resolves({
      Item: gateRecord(
        SERVING,
        "continued",
        "healthy in cnt-backend-tg 150 s after registration",
        NOW - 3 * 3600_000,
      ),
    });
    mocks.dynamodb.on(GetItemCommand, { Key: { instanceId: { S: STUCK } } }).resolves({
      Item: gateRecord(STUCK, "awaiting-health", undefined, NOW - 45_000),
    });
    mocks.ssm.on(ListCommandInvocationsCommand, { InstanceId: SERVING }).resolves({
      CommandInvocations: [
        {
          CommandId: "8a1c2b3d-0000",
          Status: "Success",
          RequestedDateTime: new Date(NOW - 3 * 3600_000 - 600_000),
        },
      ],
    });
    mocks.ssm.on(ListCommandInvocationsCommand, { InstanceId: STUCK }).resolves({
      CommandInvocations: [
        { CommandId: "f00dcafe-0000", Status: "Success", RequestedDateTime: new Date(NOW - 240_000) },
      ],
    });

    const groups = await gatherStatus(ctx, ctx.config.groups);

    expect(renderStatus(groups, NOW)).toEqual([
      "cnt-backend-asg (desired 2, min 1, max 3)",
      "  INSTANCE             AZ          LIFECYCLE     cnt-backend-tg            GATE                      LAST COMMAND                REASON",
      "  i-0aaaaaaaaaaaaaaa1  eu-west-2a  InService     healthy                   continued 3 h ago         8a1c2b3d Success 3 h ago    healthy in cnt-backend-tg 150 s after registration",
      "  i-0ccccccccccccccc3  eu-west-2c  Pending:Wait  unused (Target.NotInUse)  awaiting-health 45 s ago  f00dcafe Success 4 min ago",
      "",
      "no operation in flight",
      "",
    ]);
  });

  it("says so for a configured group that does not exist in AWS", async () => {
    const { ctx, mocks } = cliHarness();
    mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    expect(renderStatus(await gatherStatus(ctx, ctx.config.groups), NOW)).toEqual([
      "cnt-backend-asg (not found in AWS)",
      "  no instances",
      "",
      "no operation in flight",
      "",
    ]);
  });

  it("--json prints one JSON document, and nothing else", async () => {
    const harness = cliHarness();
    harness.mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [groupDescription([], { DesiredCapacity: 0, TargetGroupARNs: [] })],
    });
    const { code, stdout, stderr } = await runCli(["status", "cnt-backend-asg", "--json"], harness);
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0] ?? "")).toEqual([
      {
        name: "cnt-backend-asg",
        desired: 0,
        min: 1,
        max: 3,
        targetGroups: [],
        instances: [],
        operations: [],
      },
    ]);
  });

  it("an AWS error goes to stderr, exit 1, with nothing on stdout even with --json", async () => {
    const harness = cliHarness();
    harness.mocks.autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "Throttling" }));
    const { code, stdout, stderr } = await runCli(["status", "--json"], harness);
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      "launchgate: AWS throttled the request even after retries (Throttling): wait a minute and try again",
    ]);
  });
});
