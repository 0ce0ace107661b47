import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { createHandler } from "../../functions/reconcile/handler.js";
import { groupDescription, hookAcceptsCompletion, lifecycleState } from "../support/aws-stubs.js";
import { type GateHarness, gateHarness, INSTANCE_ID } from "../support/gate-harness.js";

let h: GateHarness;
beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription([{ id: INSTANCE_ID, state: "Pending:Wait" }])] });
});

describe("reconcile handler", () => {
  it("stops starting work when the Lambda context says its time is nearly up", async () => {
    const handler = createHandler(() => h.deps);
    const result = await handler({}, { getRemainingTimeInMillis: () => 30_000 });
    expect(result.entries.map((entry) => entry.action)).toEqual(["deferred"]);
  });

  it("runs without a time limit when invoked without a context", async () => {
    const result = await createHandler(() => h.deps)({});
    expect(result).toMatchObject({
      reconciled: 1,
      entries: [{ instanceId: INSTANCE_ID, action: "sighted" }],
    });
  });
});
