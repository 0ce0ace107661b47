import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeTargetGroupsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { describe, expect, it } from "vitest";
import { DISCOVERY_REUSE_MS, discoverTargetGroups } from "../../../shared/gate/target-groups.js";
import { groupTargetGroups } from "../../support/aws-stubs.js";
import { gateHarness, RUNTIME_CONFIG } from "../../support/gate-harness.js";

const GROUP = RUNTIME_CONFIG.groups[0] as (typeof RUNTIME_CONFIG.groups)[number];

describe("discoverTargetGroups", () => {
  it("reuses what it found for ten minutes: a burst's registrations ask Auto Scaling and ELB once", async () => {
    const h = gateHarness();
    groupTargetGroups(h);
    const first = await discoverTargetGroups(h.deps, GROUP);
    h.advanceSeconds(DISCOVERY_REUSE_MS / 1000 - 1);
    expect(await discoverTargetGroups(h.deps, GROUP)).toEqual(first);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetGroupsCommand, 1);

    h.advanceSeconds(2);
    await discoverTargetGroups(h.deps, GROUP);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 2);
  });

  it("never reuses a refusal, nor another wiring's findings", async () => {
    const h = gateHarness();
    h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    expect((await discoverTargetGroups(h.deps, GROUP)).ok).toBe(false);
    groupTargetGroups(h);
    expect((await discoverTargetGroups(h.deps, GROUP)).ok).toBe(true);

    const other = gateHarness();
    groupTargetGroups(other);
    await discoverTargetGroups(other.deps, GROUP);
    expect(other.autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingGroupsCommand, 1);
  });
});
